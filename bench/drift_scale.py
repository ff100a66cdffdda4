"""Benchmark (not a test): a full drift report over a 50,000-commit monorepo and 20 services.

Compares the wall time of the whole report (Cloud Run reads through the real run_v2 client on
the emulator, label resolution, commits behind with their age and the newest few, findings)
with the bare git CLI doing only `git rev-list --count <deployed>..main -- <paths>` for the same
20 services, run with the same parallelism as the report (its MAX_WORKERS threads, one git
process each). The report does more than the peer (ages and the newest commits too), so a ratio
above 1 is expected; below it would mean the comparison was unfair. Rounds alternate: report,
then peer; each round prints both and their ratio, then min / median / max over the rounds.
`cold` is the first report of a fresh repository object and client (no warm-up of its own).

    python -m bench.drift_scale [--commits 50000] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.cloudrun import CloudRun
from adapters.git import GitRepo
from checks.drift_engine import MAX_WORKERS, drift_report
from checks.drift_model import DriftSources
from config import Profile
from sandbox.cloudrun_emulator import CloudRunEmulator
from sandbox.cloudrun_state import CloudRunState, SeedRevision
from sandbox.demo_tables import cache_dir
from sandbox.git_history import Area, HistorySpec, cached_history

SERVICES = 20
NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)
PARENT = "projects/nba-props-platform/locations/us-west2"


def spec(commits: int) -> HistorySpec:
    areas = tuple(Area(f"services/svc-{n:02d}", 4, f"svc{n:02d}") for n in range(SERVICES))
    return HistorySpec(
        areas=(*areas, Area("shared", 6, "shared"), Area("docs", 4, "docs")),
        start=NOW - timedelta(days=730),
        end=NOW - timedelta(hours=1),
        commits=commits,
        seed=50_000,
    )


def source_paths(n: int) -> list[str]:
    return [f"services/svc-{n:02d}", "shared"]


def deployed_commits(repo: Path) -> list[str]:
    """Service n runs main as it was n * 2 % of the history ago (0 to ~1,000 commits behind)."""
    shas = subprocess.run(
        ["git", "rev-list", "--first-parent", "main"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [shas[min(len(shas) - 1, n * len(shas) // 50)] for n in range(SERVICES)]


def seed_cloud_run(deployed: list[str]) -> CloudRunState:
    state = CloudRunState(lambda: NOW)
    for n, sha in enumerate(deployed):
        service = f"svc-{n:02d}"
        label = sha[:8] if n % 2 else sha
        revision = SeedRevision(
            f"{service}-00001-abc",
            f"img/{service}:{sha[:8]}",
            NOW - timedelta(days=n),
            {"commit-sha": label},
        )
        state.add_service(PARENT, service, [revision], [(revision.name, 100)])
    return state


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def spread(values: list[float]) -> str:
    return " / ".join(
        f"{v * 1000:.1f}" for v in (min(values), statistics.median(values), max(values))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="One JSON object on stdout.")
    args = parser.parse_args()

    say = (lambda *_: None) if args.json else print
    started = time.perf_counter()
    repo_path, built = cached_history(cache_dir(), "bench-monorepo", spec(args.commits))
    say(
        f"repo: {args.commits} commits at {repo_path} ({'built' if built else 'cached'} in "
        f"{time.perf_counter() - started:.1f}s)"
    )
    deployed = deployed_commits(repo_path)
    emulator = CloudRunEmulator(seed_cloud_run(deployed))
    emulator.start()
    try:
        profile = Profile.model_validate(
            {
                "platform": {"project": "nba-props-platform", "region": "us-west2"},
                "services": [
                    {"name": f"svc-{n:02d}", "source_paths": source_paths(n)}
                    for n in range(SERVICES)
                ],
            }
        )

        def sources() -> DriftSources:
            return DriftSources(
                CloudRun.connect(
                    project="nba-props-platform",
                    region="us-west2",
                    timeout_s=30,
                    endpoint=emulator.url,
                ),
                GitRepo.open(repo_path, branch="main"),
            )

        cold_sources = sources()
        cold = timed(lambda: drift_report(profile, cold_sources, profile.services, NOW))
        warm_sources = sources()
        report = drift_report(profile, warm_sources, profile.services, NOW)  # warm its clients
        behind = [s.commits_behind for s in report.services]

        def count(n: int) -> None:
            subprocess.run(
                ["git", "rev-list", "--count", f"{deployed[n]}..main", "--", *source_paths(n)],
                cwd=repo_path,
                capture_output=True,
                check=True,
            )

        def git_parallel() -> None:
            with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, SERVICES)) as pool:
                list(pool.map(count, range(SERVICES)))

        git_parallel()  # the page cache, as the report's warm-up had it
        warm: list[float] = []
        peer: list[float] = []
        for round_no in range(1, args.rounds + 1):
            warm.append(timed(lambda: drift_report(profile, warm_sources, profile.services, NOW)))
            peer.append(timed(git_parallel))
            say(
                f"round {round_no}: report {warm[-1] * 1000:.1f} ms, git rev-list --count x "
                f"{SERVICES} on {MAX_WORKERS} threads {peer[-1] * 1000:.1f} ms, "
                f"ratio {warm[-1] / peer[-1]:.2f}"
            )
    finally:
        emulator.stop()
    ratios = [w / p for w, p in zip(warm, peer, strict=True)]
    if args.json:
        print(
            json.dumps(
                {
                    "commits": args.commits,
                    "services": SERVICES,
                    "workers": MAX_WORKERS,
                    "cold_ms": round(cold * 1000, 1),
                    "warm_ms": round(statistics.median(warm) * 1000, 1),
                    "warm_ms_min_median_max": [
                        round(v * 1000, 1) for v in (min(warm), statistics.median(warm), max(warm))
                    ],
                    "git_parallel_ms": round(statistics.median(peer) * 1000, 1),
                    "ratios": [round(r, 2) for r in ratios],
                }
            )
        )
        return
    say(
        f"services: {SERVICES}; commits behind per service: {min(behind)}..{max(behind)}; "
        f"report severity {report.severity.value}"
    )
    say(f"cold report (a fresh repo object and client): {cold * 1000:.1f} ms")
    say(f"warm report, min / median / max ms:      {spread(warm)}")
    say(f"git on {MAX_WORKERS} threads, min / median / max ms: {spread(peer)}")
    say(
        f"ratio per round min / median / max: {min(ratios):.2f} / "
        f"{statistics.median(ratios):.2f} / {max(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
