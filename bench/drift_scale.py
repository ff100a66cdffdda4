"""Benchmark (not a test): a drift report over a 100,000-commit monorepo and 20 services.

The report (Cloud Run reads through the real run_v2 client, label resolution, commits behind
with their age and the newest few, findings) against its peer: the bare git CLI doing only
`git rev-list --count <deployed>..main -- <paths>` for the same 20 services, on the same number
of threads as the report (MAX_WORKERS, one git process each). The Cloud Run emulator runs in a
process of its own, as Cloud Run does not share the bot's CPU.

Three kinds of report, each round in this order, alternating with the peer:
  cold: no commit index yet (its file deleted): the report builds it as it answers;
  warm: the index in this process, as a serving bot has it;
  disk: the index on disk but not in this process (a terminal command's first report).
Each round prints the three, the peer and the ratios; then min / median / max over the rounds.
Targets: cold <= 1.0x the peer; warm <= 100 ms at 100,000 commits.

    python -m bench.drift_scale [--commits 100000] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import statistics
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path

from adapters.cloudrun import CloudRun
from adapters.git import GitRepo
from adapters.git_index import drop_shared
from checks.drift_engine import MAX_WORKERS, drift_report
from checks.drift_model import DriftReport, DriftSources
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


def spread(values: list[float], scale: float = 1000.0, fmt: str = "{:.1f}") -> str:
    picked = (min(values), statistics.median(values), max(values))
    return " / ".join(fmt.format(v * scale) for v in picked)


def serve_cloud_run(deployed: list[str], conn: Connection) -> None:
    """The emulator's process: serves until the parent closes the pipe."""
    emulator = CloudRunEmulator(seed_cloud_run(deployed))
    emulator.start()
    conn.send(emulator.url)
    with contextlib.suppress(EOFError):
        conn.recv()
    emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commits", type=int, default=100_000)
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
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    server = context.Process(target=serve_cloud_run, args=(deployed, theirs), daemon=True)
    server.start()
    url = ours.recv()
    git_dir = repo_path / ".git"
    profile = Profile.model_validate(
        {
            "platform": {"project": "nba-props-platform", "region": "us-west2"},
            "services": [
                {"name": f"svc-{n:02d}", "source_paths": source_paths(n)} for n in range(SERVICES)
            ],
        }
    )
    cloud_run = CloudRun.connect(
        project="nba-props-platform", region="us-west2", timeout_s=30, endpoint=url
    )

    def report() -> DriftReport:
        sources = DriftSources(cloud_run, GitRepo.open(repo_path, branch="main"))
        return drift_report(profile, sources, profile.services, NOW)

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

    def cold() -> None:
        drop_shared(git_dir, delete=True)
        report()

    def disk() -> None:
        drop_shared(git_dir)
        report()

    try:
        git_parallel()  # both start with the page cache warm
        figures = report()  # the client's connections opened
        behind = [s.commits_behind for s in figures.services]
        rounds: dict[str, list[float]] = {"cold": [], "warm": [], "disk": [], "git": []}
        for round_no in range(1, args.rounds + 1):
            rounds["cold"].append(timed(cold))
            rounds["git"].append(timed(git_parallel))
            rounds["warm"].append(timed(report))
            rounds["disk"].append(timed(disk))
            c, w, d, g = (rounds[k][-1] * 1000 for k in ("cold", "warm", "disk", "git"))
            say(
                f"round {round_no}: cold {c:.1f} ms, warm {w:.1f} ms, disk {d:.1f} ms | git "
                f"rev-list --count x {SERVICES} on {MAX_WORKERS} threads {g:.1f} ms | ratios "
                f"cold {c / g:.2f}, warm {w / g:.3f}"
            )
    finally:
        ours.close()
        server.join(10)
    cold_ratios = [c / g for c, g in zip(rounds["cold"], rounds["git"], strict=True)]
    warm_ratios = [w / g for w, g in zip(rounds["warm"], rounds["git"], strict=True)]

    def median_ms(kind: str) -> float:
        return round(statistics.median(rounds[kind]) * 1000, 1)

    if args.json:
        print(
            json.dumps(
                {
                    "commits": args.commits,
                    "services": SERVICES,
                    "workers": MAX_WORKERS,
                    "cold_ms": median_ms("cold"),
                    "warm_ms": median_ms("warm"),
                    "disk_ms": median_ms("disk"),
                    "git_parallel_ms": median_ms("git"),
                    "min_median_max_ms": {
                        kind: [round(v * 1000, 1) for v in (min(r), statistics.median(r), max(r))]
                        for kind, r in rounds.items()
                    },
                    "cold_ratios": [round(r, 2) for r in cold_ratios],
                    "warm_ratios": [round(r, 3) for r in warm_ratios],
                }
            )
        )
        return
    say(
        f"services: {SERVICES}; commits behind per service: {min(behind)}..{max(behind)}; "
        f"report severity {figures.severity.value}"
    )
    for kind, label in (
        ("cold", "cold report (index built as it answers)"),
        ("warm", "warm report (index in this process)"),
        ("disk", "report with the index on disk only"),
        ("git", f"git on {MAX_WORKERS} threads"),
    ):
        say(f"{label:44s} min / median / max ms: {spread(rounds[kind])}")
    say(
        f"ratio cold / git per round min / median / max: {spread(cold_ratios, 1, '{:.2f}')}  (<= 1.0)"
    )
    say(f"ratio warm / git per round min / median / max: {spread(warm_ratios, 1, '{:.3f}')}")


if __name__ == "__main__":
    main()
