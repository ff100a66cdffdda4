"""Benchmark (not a test): a 60-date grading backfill at max_in_flight 4 against one at a time.

Both runs go through the same emulators (Pub/Sub, the grading simulator with `--grade-s`
seconds per date, BigQuery) and the same engine, alternated over `--rounds`; prints min / median /
max wall time of each and their ratio, then submits the same request `--duplicates` times at
once (threads) and prints how many backfills exist (must be 1).

    python -m bench.regrade [--dates 60] [--grade-s 0.2] [--rounds 3] [--duplicates 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

from adapters.bigquery import BigQueryWarehouse
from adapters.pubsub import PubSub
from commands.regrade.completions import take_completions
from commands.regrade.engine import RegradeTools, pump, submit
from commands.regrade.plan import DatePlan, RegradePlan
from config import Profile
from opsbot.profile import load_profile
from sandbox.faults import FaultPlan, RegradeFaults
from sandbox.platform import Sandbox
from store.backfill_views import DateState
from store.backfills import Backfills
from store.database import Database
from store.location import sqlite_url

FIRST = date(2025, 12, 1)
REQUESTER = "U0DANAONCL"


def plan_of(days: list[date]) -> RegradePlan:
    """Every date regraded (the bench measures the engine, not the planning query)."""
    return RegradePlan(
        days[0], days[-1], tuple(DatePlan(d, 1, 1, (), "regrade") for d in days), 0, True
    )


def run_backfill(profile: Profile, tools: RegradeTools, days: list[date], salt: str) -> float:
    started = time.perf_counter()
    backfill, _ = submit(profile, tools, plan_of(days), REQUESTER, key=salt)
    while not backfill.ended:
        take_completions(profile, tools)
        backfill = pump(profile, tools, backfill.id)
        time.sleep(0.01)
    assert backfill.count(DateState.DONE) == len(days), backfill
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dates", type=int, default=60)
    parser.add_argument("--grade-s", type=float, default=0.2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duplicates", type=int, default=50)
    args = parser.parse_args()
    days = [FIRST + timedelta(days=n) for n in range(args.dates)]
    faults = FaultPlan(
        cloud_run={"operation_s": 0},
        regrade=RegradeFaults(slow_dates=[d.isoformat() for d in days], slow_s=args.grade_s),
    )
    shipped = load_profile(Path(__file__).resolve().parents[1] / "opsbot.toml")
    profiles = {
        n: shipped.model_copy(
            update={
                "regrade": shipped.regrade.model_copy(update={"max_in_flight": n, "max_dates": 400})
            }
        )
        for n in (4, 1)
    }
    walls: dict[int, list[float]] = {4: [], 1: []}
    with Sandbox(faults=faults) as running, tempfile.TemporaryDirectory() as state:
        database = Database.open(sqlite_url(Path(state) / "bench.db"))
        tools = RegradeTools(
            Backfills(database, running.clock),
            PubSub.connect(project="nba-props-platform", timeout_s=10, endpoint=running.pubsub_url),
            BigQueryWarehouse.from_profile(shipped, endpoint=running.bigquery_url),
            running.clock,
        )
        for round_ in range(args.rounds):
            for flight in (4, 1) if round_ % 2 == 0 else (1, 4):
                walls[flight].append(
                    run_backfill(profiles[flight], tools, days, f"bench-{round_}-{flight}")
                )
        before = len(tools.backfills.recent(1000))
        same = plan_of(days[:5])
        with ThreadPoolExecutor(max_workers=10) as pool:
            list(
                pool.map(
                    lambda _: submit(profiles[4], tools, same, REQUESTER, key="dup"),
                    range(args.duplicates),
                )
            )
        made = len(tools.backfills.recent(1000)) - before
        database.close()
    for flight, label in ((4, "max_in_flight 4"), (1, "one at a time")):
        t = sorted(walls[flight])
        print(
            f"{label:>16}: {args.dates} dates, wall min {t[0]:.2f} s, median "
            f"{statistics.median(t):.2f} s, max {t[-1]:.2f} s"
        )
    ratio = statistics.median(walls[1]) / statistics.median(walls[4])
    print(
        f"speed-up of 4 in flight over one at a time: {ratio:.2f}x (grading {args.grade_s:g} s a date)"
    )
    print(f"{args.duplicates} identical submissions at once: {made} backfill(s)")
    raise SystemExit(0 if made == 1 else 1)


if __name__ == "__main__":
    main()
