"""Benchmark (not a test): a full drift report over a 50,000-commit monorepo and 20 services.

Compares the wall time of the whole report (Cloud Run reads through the real run_v2 client on
the emulator, label resolution, commits behind with their age and the newest few, findings)
with the bare git CLI doing only `git rev-list --count <deployed>..main -- <paths>` for the same
20 services one after another. Targets: report under 1 s warm, ratio <= 1.5.

    python -m bench.drift_scale [--commits 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.cloudrun import CloudRun
from adapters.git import GitRepo
from checks.drift_engine import drift_report
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


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    repo_path, built = cached_history(cache_dir(), "bench-monorepo", spec(args.commits))
    print(
        f"repo: {args.commits} commits at {repo_path} ({'built' if built else 'cached'} in {time.perf_counter() - started:.1f}s)"
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
        sources = DriftSources(
            CloudRun.connect(
                project="nba-props-platform", region="us-west2", timeout_s=30, endpoint=emulator.url
            ),
            GitRepo.open(repo_path, branch="main"),
        )
        report = drift_report(profile, sources, profile.services, NOW)  # warm: clients, page cache
        behind = [s.commits_behind for s in report.services]
        full = best_of(args.repeat, lambda: drift_report(profile, sources, profile.services, NOW))

        def git_cli() -> None:
            for n, sha in enumerate(deployed):
                subprocess.run(
                    ["git", "rev-list", "--count", f"{sha}..main", "--", *source_paths(n)],
                    cwd=repo_path,
                    capture_output=True,
                    check=True,
                )

        git_cli()
        bare = best_of(args.repeat, git_cli)
    finally:
        emulator.stop()
    print(
        f"services: {SERVICES}; commits behind per service: {min(behind)}..{max(behind)}; report severity {report.severity.value}"
    )
    print(
        f"full drift report (warm, best of {args.repeat}):      {full * 1000:7.1f} ms   (target < 1000 ms)"
    )
    print(f"git rev-list --count x {SERVICES} (best of {args.repeat}):   {bare * 1000:7.1f} ms")
    print(f"ratio report / git CLI: {full / bare:.2f}   (target <= 1.5)")


if __name__ == "__main__":
    main()
