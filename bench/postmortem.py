"""Benchmark (not a test): drafting a data incident's postmortem against the bare day-by-day checks.

opsbot's draft of a game day runs the failing checks day by day around it (the search), then reads
Cloud Run, git and Cloud Logging for candidate causes and traffic changes. The peer runs the same
checks for the same days, one after the other as the draft does, and nothing else: the ratio is
what the draft adds to the checks it cannot avoid. Rounds alternate; each prints min / median /
max of its repeats, and the ratio of medians per round.

    python -m bench.postmortem [--date 2026-01-28] [--repeats 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from commands.health import run_health
from commands.postmortem.data import data_draft
from commands.postmortem.tools import PostmortemTools
from opsbot.platform import sandbox_platforms
from opsbot.postmortem import postmortem_tools
from opsbot.profile import load_profile
from sandbox.platform import Sandbox
from store.database import Database
from store.location import sqlite_url
from store.rollouts import Store

ROOT = Path(__file__).resolve().parents[1]


def _timed(work: Callable[[], object], repeats: int) -> list[float]:
    took = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        took.append(time.perf_counter() - started)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 1, 28))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    profile = load_profile(ROOT / "opsbot.toml")
    with Sandbox() as sandbox, tempfile.TemporaryDirectory() as scratch:
        database = Database.open(sqlite_url(Path(scratch) / "opsbot.db"))
        platforms = sandbox_platforms(profile, sandbox)
        tools: PostmortemTools = postmortem_tools(
            platforms().deploy_tools(Store(database, sandbox.clock)), platforms
        )
        draft = data_draft(tools, args.date)  # warm: the seed, git's packs, the clients
        assert draft is not None, f"{args.date}: every check was fine; pick an incident's day"
        days = [d.day for d in draft.days]
        checks = draft.checks

        def peer() -> None:
            for day in days:
                asyncio.run(
                    run_health(
                        profile, tools.warehouse(), now=tools.clock(), as_of=day, checks=checks
                    )
                )

        print(f"{args.date}: {len(days)} game days checked ({', '.join(checks)}); {draft.title}")
        ratios = []
        for round_no in range(1, args.rounds + 1):
            ours = _timed(lambda: data_draft(tools, args.date), args.repeats)
            bare = _timed(peer, args.repeats)
            ratio = statistics.median(ours) / statistics.median(bare)
            ratios.append(ratio)
            print(
                f"round {round_no}: draft {min(ours):.2f} / {statistics.median(ours):.2f} / "
                f"{max(ours):.2f} s, bare checks {min(bare):.2f} / {statistics.median(bare):.2f} / "
                f"{max(bare):.2f} s (min / median / max), ratio of medians {ratio:.2f}"
            )
        print(
            f"ratio min {min(ratios):.2f}, median {statistics.median(ratios):.2f}, "
            f"max {max(ratios):.2f}"
        )
        database.close()


if __name__ == "__main__":
    main()
