"""Stress (not a test): many /health reports at once on one sandbox; none may have an ERROR.

Runs N reports (default 1,000) over every day of the season, `--parallel` at a time in one
process against one BigQuery emulator, so the checks of different reports translate and execute
their SQL in many threads at once (the race that made ~1 report in 12 show a check at ERROR).
Prints the errors (must be 0), and per-report wall time min / median / max for the parallel run
beside a serial run of the same reports, alternated in rounds, with their throughput ratio.

    python -m bench.health_stress [--reports 1000] [--parallel 12] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

from adapters.bigquery import BigQueryWarehouse
from checks.result import Status
from commands.health import run_health
from config import Profile
from opsbot.profile import load_profile
from sandbox.demo_season import SANDBOX_NOW
from sandbox.platform import Sandbox

SEASON_START, TODAY = date(2025, 10, 21), date(2026, 2, 5)
WAREHOUSE_CHECKS = [
    "vegas_line_coverage",
    "grading_completeness",
    "phase3_completion",
    "recent_predictions",
    "bdb_coverage",
]


def days(count: int) -> list[date]:
    span = (TODAY - SEASON_START).days + 1
    return [SEASON_START + timedelta(days=n % span) for n in range(count)]


async def reports(
    profile: Profile, warehouse: BigQueryWarehouse, dates: list[date], parallel: int
) -> tuple[list[float], list[str]]:
    """Per-report seconds and every ERROR seen, `parallel` reports in flight at a time."""
    gate = asyncio.Semaphore(parallel)
    timings: list[float] = []
    errors: list[str] = []

    async def one(day: date) -> None:
        async with gate:
            started = time.perf_counter()
            report = await run_health(profile, warehouse, now=SANDBOX_NOW, as_of=day)
            timings.append(time.perf_counter() - started)
            errors.extend(
                f"{day} {r.name}: {r.detail}" for r in report.results if r.status is Status.ERROR
            )

    await asyncio.gather(*(one(day) for day in dates))
    return timings, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    shipped = load_profile(Path(__file__).resolve().parents[1] / "opsbot.toml")
    profile = shipped.model_copy(
        update={"health": shipped.health.model_copy(update={"checks": WAREHOUSE_CHECKS})}
    )
    per_round = max(1, args.reports // args.rounds)
    with Sandbox() as running:
        warehouse = BigQueryWarehouse.from_profile(profile, endpoint=running.bigquery_url)
        walls: dict[int, list[float]] = {args.parallel: [], 1: []}
        per_report: dict[int, list[float]] = {args.parallel: [], 1: []}
        errors: list[str] = []
        done = 0
        for round_ in range(args.rounds):
            extra = args.reports - per_round * args.rounds if round_ == args.rounds - 1 else 0
            dates = days(per_round + extra + round_)[round_:]  # each round starts a day later
            order = [args.parallel, 1] if round_ % 2 == 0 else [1, args.parallel]
            for parallel in order:
                work = dates  # the serial peer runs the very same reports
                started = time.perf_counter()
                timings, seen = asyncio.run(reports(profile, warehouse, work, parallel))
                walls[parallel].append(len(work) / (time.perf_counter() - started))
                per_report[parallel].extend(timings)
                errors.extend(seen)
                done += len(work) if parallel > 1 else 0
    print(f"reports in parallel ({args.parallel} at a time): {done}; ERROR results: {len(errors)}")
    for line in errors[:20]:
        print(f"  {line}")
    for parallel, label in ((args.parallel, "parallel"), (1, "serial")):
        t = sorted(per_report[parallel])
        print(
            f"{label:>8}: per report min {t[0]:.3f} s, median {statistics.median(t):.3f} s, "
            f"max {t[-1]:.3f} s; throughput median {statistics.median(walls[parallel]):.1f}/s"
        )
    ratio = statistics.median(walls[args.parallel]) / statistics.median(walls[1])
    print(f"throughput ratio parallel/serial: {ratio:.2f} (same reports, same process)")
    raise SystemExit(1 if errors else 0)


if __name__ == "__main__":
    main()
