"""Benchmark (not a test): what finding the likely causes adds to a /health report.

The peer is the same report without causes (`run_health(..., causes=False)`): the same checks,
clients and days. Each round builds the report of every incident day below, once without
causes and once with (the order alternating between rounds), and prints the ratio with/without
of the round's total; then min / median / max of the ratios, at each latency injected into
every BigQuery query (0: the checks are pure client CPU, the causes' share is largest; 300 ms:
a warehouse's usual answer). Target: <= 1.2. The emulators run in a process of their own, as in
bench/health_parallel.py; the reports share one Cloud Run client and one checkout, as a serving
bot's worker does.

    python -m bench.health_causes [--rounds 5] [--latency 0 --latency 0.3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import date

from bench.health_parallel import Emulated
from checks.result import HealthReport, Status
from commands.health import run_health
from config import Profile
from infra.once import Once
from opsbot.profile import load_profile

# Days where checks fail (docs/sandbox.md's incidents): where causes are looked for.
DAYS = [
    date(2026, 2, 5),  # ensembles ungraded; drift (deployment_drift applies today only)
    date(2026, 1, 28),  # Vegas-line coverage: the undeployed fix
    date(2026, 1, 27),
    date(2026, 1, 22),  # no play-by-play; catboost_v8 partly graded
    date(2026, 1, 16),  # phase 3: 3 of 5
    date(2026, 1, 14),  # phase 3: a bad deploy
    date(2026, 1, 9),  # catboost_v9 wrote nothing
    date(2025, 12, 11),  # phase 3: 1 of 5
]


def reports(profile: Profile, sandbox: Emulated, causes: bool) -> tuple[float, int]:
    """Seconds to build every day's report, and how many causes they named."""

    async def all_days() -> list[HealthReport]:
        return [
            await run_health(
                profile,
                sandbox.warehouse,
                now=sandbox.now,
                as_of=day,
                # opened once per report, as a request's Platform opens them (commands/platform.py)
                drift_sources=Once(sandbox.drift_sources),
                causes=causes,
            )
            for day in DAYS
        ]

    started = time.perf_counter()
    built = asyncio.run(all_days())
    took = time.perf_counter() - started
    errors = [r.detail for report in built for r in report.results if r.status is Status.ERROR]
    if errors:
        raise SystemExit(f"benchmark invalid, a check failed: {errors}")
    return took, sum(len(r.causes) for report in built for r in report.results)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternated rounds")
    parser.add_argument(
        "--latency", type=float, action="append", help="seconds per query (default 0 and 0.3)"
    )
    options = parser.parse_args()
    latencies = options.latency or [0.0, 0.3]
    profile = load_profile()
    sandbox = Emulated(profile)
    ratios: dict[float, list[float]] = {latency: [] for latency in latencies}
    try:
        reports(profile, sandbox, True)  # warm: connection pools, the commit index
        for number in range(1, options.rounds + 1):
            for latency in latencies:
                sandbox.set_latency(latency)
                order = [False, True] if number % 2 else [True, False]
                took = {causes: reports(profile, sandbox, causes) for causes in order}
                (plain, _), (found, named) = took[False], took[True]
                ratios[latency].append(found / plain)
                print(
                    f"round {number}, latency {latency * 1000:.0f} ms: {len(DAYS)} reports "
                    f"without causes {plain:.3f}s, with {found:.3f}s ({named} causes), "
                    f"ratio {found / plain:.2f}"
                )
    finally:
        sandbox.stop()
    print("report with causes / without, per round (target <= 1.2):")
    for latency, found_ratios in ratios.items():
        print(
            f"  latency {latency * 1000:.0f} ms: min / median / max {min(found_ratios):.2f} / "
            f"{statistics.median(found_ratios):.2f} / {max(found_ratios):.2f}"
        )


if __name__ == "__main__":
    main()
