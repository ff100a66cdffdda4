"""Benchmark (not a test): is /health as fast as its slowest check, and how fast does the sandbox start?

At each latency injected into every query (by default none, then 300 ms), runs each check
alone, then the whole report, and prints wall(report) / max(wall(single check)) per round: the
target is <= 1.25 (the original script ran its checks one after another, ~5x). Latency 0 shows
what running the checks together costs in CPU; 300 ms shows the overlap of waits, which a large
latency flatters, so both are printed. Rounds alternate the latencies; each prints min / median /
max of the ratio. Also prints the sandbox's cold start (seeding the demo season) and warm start
(from the on-disk cache), each measured in this one run.

The emulators run in a process of their own (BigQuery's DuckDB work is Google's CPU, not the
bot's); the checks, their clients and one shared Cloud Run client run here, as in the worker.

    python -m bench.health_parallel [--latency 0 --latency 0.3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import tempfile
import time
from datetime import date, datetime
from multiprocessing.connection import Connection

from adapters.bigquery import BigQueryWarehouse
from checks.base import CheckContext
from checks.registry import build_checks, enabled_checks
from checks.runner import run_checks
from config import Profile
from opsbot.platform import sandbox_cloud_run, sandbox_drift_sources
from opsbot.profile import load_profile
from sandbox.attach import AttachedSandbox, SandboxAddress
from sandbox.faults import FaultPlan
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


def serve_sandbox(conn: Connection) -> None:
    """The emulators' process: a sandbox, its latency set on request, until the pipe closes."""
    with Sandbox() as sandbox:
        assert sandbox.bigquery is not None
        conn.send(sandbox.address("sqlite://"))
        while True:
            try:
                latency = conn.recv()
            except EOFError:
                return
            sandbox.bigquery.set_latency(latency)
            conn.send(latency)


class Emulated:
    """The sandbox in its own process, and what the checks need to reach it."""

    def __init__(self, profile: Profile) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, theirs = context.Pipe()
        self._process = context.Process(target=serve_sandbox, args=(theirs,), daemon=True)
        self._process.start()
        address: SandboxAddress = self._conn.recv()
        running = AttachedSandbox(
            address, datetime.fromisoformat(address.now_at_start), FaultPlan()
        )
        self.now = running.now
        self.warehouse = BigQueryWarehouse.from_profile(profile, endpoint=running.bigquery_url)
        cloud_run = sandbox_cloud_run(profile, running)  # one client, as a serving bot has
        self.drift_sources = lambda: sandbox_drift_sources(profile, running, cloud_run)

    def set_latency(self, seconds: float) -> None:
        self._conn.send(seconds)
        self._conn.recv()

    def stop(self) -> None:
        self._conn.close()
        self._process.join(10)


def wall(profile: Profile, sandbox: Emulated, names: list[str]) -> float:
    ctx = CheckContext(
        as_of=AS_OF,
        now=sandbox.now,
        profile=profile,
        warehouse=sandbox.warehouse,
        drift_sources=sandbox.drift_sources,
    )
    started = time.perf_counter()
    report = asyncio.run(run_checks(build_checks(profile, names), ctx, timeout_s=60))
    elapsed = time.perf_counter() - started
    errors = [r.detail for r in report.results if r.status.value == "ERROR"]
    if errors:
        raise SystemExit(f"benchmark invalid, a check failed: {errors}")
    return elapsed


def ratio_at(profile: Profile, sandbox: Emulated, names: list[str], latency: float) -> float:
    """wall(report) / wall(slowest check alone), with `latency` added to every query."""
    sandbox.set_latency(latency)
    singles = {n: wall(profile, sandbox, [n]) for n in names}
    report = wall(profile, sandbox, names)
    slowest_name, slowest = max(singles.items(), key=lambda item: item[1])
    print(
        f"  latency {latency * 1000:.0f} ms: slowest check {slowest_name} {slowest:.3f}s, "
        f"report {report:.3f}s, ratio {report / slowest:.2f}, one by one would be "
        f"{sum(singles.values()):.3f}s"
    )
    return report / slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--latency",
        type=float,
        action="append",
        help="seconds injected per query; repeat for several (default: 0 and 0.3)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds")
    args = parser.parse_args()
    latencies = args.latency or [0.0, 0.3]

    cold, warm = measure_starts()
    profile = load_profile()
    names = enabled_checks(profile)
    ratios: dict[float, list[float]] = {latency: [] for latency in latencies}
    sandbox = Emulated(profile)
    try:
        wall(profile, sandbox, names)  # warm the clients' connection pools and the commit index
        for round_no in range(1, args.rounds + 1):
            print(f"round {round_no}:")
            for latency in latencies:
                ratios[latency].append(ratio_at(profile, sandbox, names, latency))
    finally:
        sandbox.stop()
    print(f"whole report ({len(names)} checks) / slowest check alone, target <= 1.25:")
    for latency, found in ratios.items():
        print(
            f"  latency {latency * 1000:.0f} ms: min / median / max "
            f"{min(found):.2f} / {statistics.median(found):.2f} / {max(found):.2f}"
        )
    print(
        f"sandbox cold start (seeding the season): {cold:.2f}s; warm start (from cache): {warm:.2f}s"
        f"; warm/cold {warm / cold:.2f}"
    )


if __name__ == "__main__":
    main()
