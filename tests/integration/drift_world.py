"""A small platform for drift scenarios: a real git repo and Cloud Run behind the real client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.cloudrun import CloudRun
from adapters.git import GitRepo
from checks.drift_model import DriftSources
from config import Profile
from sandbox.cloudrun_emulator import CloudRunEmulator
from sandbox.cloudrun_state import CloudRunState, SeedRevision
from sandbox.git_history import Area, HistorySpec, PinnedCommit, write_history
from tests.gitcli import git_out

NOW = datetime(2026, 2, 5, 18, 0, tzinfo=UTC)
PARENT = "projects/nba-props-platform/locations/us-west2"
AREAS = (
    Area("services/alpha", 1, "alpha"),
    Area("services/beta", 1, "beta"),
    Area("shared", 1, "shared"),
    Area("docs", 1, "docs"),
)


def profile(**drift: float) -> Profile:
    return Profile.model_validate(
        {
            "platform": {"project": "nba-props-platform", "region": "us-west2"},
            "services": [
                {"name": "alpha", "source_paths": ["services/alpha", "shared"]},
                {"name": "beta", "source_paths": ["services/beta", "shared"]},
            ],
            "drift": drift,
        }
    )


@dataclass
class World:
    repo: GitRepo
    sha: dict[str, str]  # subject -> full sha
    state: CloudRunState
    sources: DriftSources

    def deploy(
        self,
        service: str,
        *revisions: tuple[str | None, int],
        created: datetime = NOW - timedelta(days=1),
    ) -> None:
        """The service serving one revision per (commit-sha label or None, percent)."""
        seeds = [
            SeedRevision(
                name=f"{service}-{n:05d}-abc",
                image=f"us-west2-docker.pkg.dev/p/r/{service}:{n}",
                created=created + timedelta(minutes=n),
                labels={"commit-sha": label} if label is not None else {},
            )
            for n, (label, _) in enumerate(revisions, start=1)
        ]
        traffic = [
            (seed.name, percent) for seed, (_, percent) in zip(seeds, revisions, strict=True)
        ]
        self.state.add_service(PARENT, service, seeds, traffic)


@contextmanager
def world(tmp_path: Path, commits: list[tuple[str, str, datetime]]) -> Iterator[World]:
    """A repo whose main holds `commits` (path, subject, time) after a layout commit."""
    spec = HistorySpec(
        areas=AREAS,
        start=min(at for _, _, at in commits) - timedelta(days=1),
        end=NOW,
        commits=0,
        seed=1,
        pinned=tuple(PinnedCommit(at, path, subject) for path, subject, at in commits),
    )
    write_history(tmp_path / "repo", spec)
    log = git_out(tmp_path / "repo", "log", "--format=%H %s", "main")
    sha = {line.split(" ", 1)[1]: line.split(" ", 1)[0] for line in log.splitlines()}
    state = CloudRunState(lambda: NOW)
    emulator = CloudRunEmulator(state)
    emulator.start()
    try:
        cloud_run = CloudRun.connect(
            project="nba-props-platform", region="us-west2", timeout_s=10, endpoint=emulator.url
        )
        repo = GitRepo.open(tmp_path / "repo", branch="main")
        yield World(repo, sha, state, DriftSources(cloud_run, repo))
    finally:
        emulator.stop()
