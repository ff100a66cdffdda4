"""Benchmark (not a test): is /health as fast as its slowest check, and how fast does the sandbox start?

With a fixed latency injected into every query, runs each check alone, then the whole report,
and prints wall(report) / max(wall(single check)): the target is <= 1.25 (the original script ran
its checks one after another, ~5x). Also prints the sandbox's cold start (seeding the demo season)
and warm start (from the on-disk cache), each measured in this one run.

    python -m bench.health_parallel [--latency 0.3] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import date

from adapters.bigquery import BigQueryWarehouse
from checks.base import CheckContext
from checks.registry import build_checks, enabled_checks
from checks.runner import run_checks
from config import Profile
from opsbot.platform import sandbox_drift_sources
from opsbot.profile import load_profile
from sandbox.platform import Sandbox

AS_OF = date(2026, 2, 5)


def measure_starts() -> tuple[float, float]:
    """(cold, warm) start seconds, with a fresh cache directory so cold really is cold."""
    previous = os.environ.get("OPSBOT_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="opsbot-bench-") as cache:
        os.environ["OPSBOT_CACHE_DIR"] = cache
        try:
            timings = []
            for _ in range(2):
                started = time.perf_counter()
                with Sandbox():
                    timings.append(time.perf_counter() - started)
        finally:
            if previous is None:
                os.environ.pop("OPSBOT_CACHE_DIR", None)
            else:
                os.environ["OPSBOT_CACHE_DIR"] = previous
    return timings[0], timings[1]


def wall(profile: Profile, sandbox: Sandbox, names: list[str]) -> float:
    warehouse = BigQueryWarehouse.from_profile(profile, endpoint=sandbox.bigquery_url)
    ctx = CheckContext(
        as_of=AS_OF,
        now=sandbox.now,
        profile=profile,
        warehouse=warehouse,
        drift_sources=lambda: sandbox_drift_sources(profile, sandbox),
    )
    started = time.perf_counter()
    report = asyncio.run(run_checks(build_checks(profile, names), ctx, timeout_s=60))
    elapsed = time.perf_counter() - started
    errors = [r.detail for r in report.results if r.status.value == "ERROR"]
    if errors:
        raise SystemExit(f"benchmark invalid, a check failed: {errors}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds injected per query")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each measurement (best is kept)"
    )
    args = parser.parse_args()

    cold, warm = measure_starts()
    profile = load_profile()
    names = enabled_checks(profile)
    with Sandbox() as sandbox:
        assert sandbox.bigquery is not None
        wall(profile, sandbox, names)  # warm the client's connection pool
        sandbox.bigquery.set_latency(args.latency)
        singles = {n: min(wall(profile, sandbox, [n]) for _ in range(args.repeat)) for n in names}
        report = min(wall(profile, sandbox, names) for _ in range(args.repeat))
    slowest_name, slowest = max(singles.items(), key=lambda item: item[1])
    sequential = sum(singles.values())
    print(f"injected latency per query: {args.latency * 1000:.0f} ms; best of {args.repeat}")
    for name, seconds in singles.items():
        print(f"  {name:<22} alone: {seconds:.3f}s")
    print(f"slowest single check: {slowest_name} {slowest:.3f}s")
    print(f"whole report ({len(names)} checks): {report:.3f}s")
    print(f"ratio report / slowest check: {report / slowest:.2f}  (target <= 1.25)")
    print(
        f"ratio sequential sum / report: {sequential / report:.2f}x  (what running them one by one would cost)"
    )
    print(
        f"sandbox cold start (seeding the season): {cold:.2f}s; warm start (from cache): {warm:.2f}s"
        f"; warm/cold {warm / cold:.2f}"
    )


if __name__ == "__main__":
    main()
