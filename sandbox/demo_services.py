"""The sandbox's Cloud Run services, labelled from the demo repo to reproduce the seeds' drift.

- nba-phase4-precompute-processors runs the code of 2026-01-26 (an 8-char label): hundreds of
  commits behind and missing the Vegas-line fix of 2026-02-02.
- prediction-worker carries a 7-char label of its newest relevant commit: current.
- nba-scrapers' serving revision has no commit label: judged by time.
- nba-grading-service was left split 90/10 by an unfinished canary.
- prediction-coordinator and the phase 2 and phase 3 processors are current (full SHA labels).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from string import Template

import git

from adapters.cloudrun_model import COMMIT_LABEL, build_of
from config import DeployConfig
from sandbox.cloudrun_state import CloudRunState, SeedRevision
from sandbox.demo_repo import PHASE4_DEPLOYED_AT

PROJECT = "nba-props-platform"
REGION = "us-west2"
PARENT = f"projects/{PROJECT}/locations/{REGION}"
IMAGE = DeployConfig().image  # the profile's default: one path for seeds and deploys
SCRAPERS_UNLABELLED_AT = datetime(2026, 2, 5, 9, 0, tzinfo=UTC)
GRADING_STABLE_AT = datetime(2026, 2, 5, 6, 0, tzinfo=UTC)
GRADING_CANARY_AT = datetime(2026, 2, 5, 16, 0, tzinfo=UTC)
DEPLOY_DELAY = timedelta(minutes=20)

SOURCE_PATHS = {  # as in docs/platform.md and the shipped opsbot.toml
    "prediction-worker": ("predictions/worker", "predictions/shared", "shared"),
    "prediction-coordinator": ("predictions/coordinator", "predictions/shared", "shared"),
    "nba-scrapers": ("scrapers", "shared"),
    "nba-phase2-raw-processors": ("data_processors/raw", "shared"),
    "nba-phase3-analytics-processors": ("data_processors/analytics", "shared"),
    "nba-phase4-precompute-processors": ("data_processors/precompute", "shared"),
    "nba-grading-service": ("data_processors/grading/nba", "predictions/shared", "shared"),
}


@dataclass(frozen=True)
class _Deployed:
    sha: str
    committed: datetime


class _History:
    def __init__(self, repo_path: Path) -> None:
        self._git = git.Repo(repo_path).git

    def _commit(self, *args: str) -> _Deployed:
        sha, stamp = self._git.log("-1", "--format=%H %ct", *args).split()
        return _Deployed(sha, datetime.fromtimestamp(int(stamp), UTC))

    def at(self, moment: datetime) -> _Deployed:
        """main as it was at `moment`."""
        return self._commit(f"--before={moment.isoformat()}", "main")

    def newest_touching(self, paths: tuple[str, ...]) -> _Deployed:
        return self._commit("main", "--", *paths)


def revision_of(
    service: str,
    number: int,
    deployed: _Deployed | None,
    created: datetime,
    *,
    label_length: int = 40,
) -> SeedRevision:
    suffix = hashlib.sha1(f"{service}:{number}".encode()).hexdigest()[:3]
    if deployed is None:  # an unlabelled revision: its image names no commit either
        image = Template(IMAGE).substitute(service=service, commit=f"r{number}")
        return SeedRevision(name=f"{service}-{number:05d}-{suffix}", image=image, created=created)
    build = build_of(IMAGE, service, deployed.sha)  # as opsbot's own deploys build it
    return SeedRevision(
        name=f"{service}-{number:05d}-{suffix}",
        image=build.image,
        created=created,
        labels={COMMIT_LABEL: deployed.sha[:label_length]},
        env=build.env,
    )


def seed_services(state: CloudRunState, repo_path: Path, now: datetime) -> None:
    """Every platform service with a short history of revisions and the traffic of the seeds."""
    history = _History(repo_path)

    def deployed_after(commit: _Deployed) -> datetime:
        return min(commit.committed + DEPLOY_DELAY, now - timedelta(minutes=5))

    for number, (service, paths) in enumerate(SOURCE_PATHS.items()):
        base = 40 + 7 * number  # revision numbers differ per service, as in production
        previous_commit = history.at(PHASE4_DEPLOYED_AT - timedelta(days=12))
        previous = revision_of(service, base, previous_commit, deployed_after(previous_commit))
        revisions = [previous]
        if service == "nba-phase4-precompute-processors":
            commit = history.at(PHASE4_DEPLOYED_AT)
            revisions.append(
                revision_of(service, base + 1, commit, PHASE4_DEPLOYED_AT, label_length=8)
            )
        elif service == "prediction-worker":
            commit = history.newest_touching(paths)
            revisions.append(
                revision_of(service, base + 1, commit, deployed_after(commit), label_length=7)
            )
        elif service == "nba-scrapers":
            revisions.append(revision_of(service, base + 1, None, SCRAPERS_UNLABELLED_AT))
        elif service == "nba-grading-service":
            stable = history.at(GRADING_STABLE_AT)
            canary = history.newest_touching(paths)
            revisions.append(revision_of(service, base + 1, stable, GRADING_STABLE_AT))
            revisions.append(revision_of(service, base + 2, canary, GRADING_CANARY_AT))
        else:
            commit = history.newest_touching(paths)
            revisions.append(revision_of(service, base + 1, commit, deployed_after(commit)))
        if service == "nba-grading-service":
            traffic = [(revisions[1].name, 90), (revisions[2].name, 10)]
        else:
            traffic = [(revisions[-1].name, 100)]
        tags = {revisions[2].name: "canary"} if service == "nba-grading-service" else {}
        serving = next(r for r in revisions if r.name == traffic[0][0])
        state.add_service(
            PARENT, service, revisions, traffic, labels=dict(serving.labels), tags=tags
        )
