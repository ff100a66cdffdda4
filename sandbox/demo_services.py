"""The sandbox's Cloud Run services, labelled from the demo repo to reproduce the seeds' drift.

- nba-phase4-precompute-processors runs the code of 2026-01-26 (an 8-char label): hundreds of
  commits behind and missing the Vegas-line fix of 2026-02-02.
- prediction-worker carries a 7-char label of its newest relevant commit: current.
- nba-scrapers' serving revision has no commit label: judged by time.
- nba-grading-service was left split 90/10 by an unfinished canary.
- prediction-coordinator and the phase 2 and phase 3 processors are current (full SHA labels).

And the deploys that caused the demo season's incidents (docs/sandbox.md, "Likely causes"),
each revision 100% of its service's traffic from its creation (PLANTED):

- nba-phase3-analytics-processors: a commit that crashed four of its five processors, deployed
  2025-12-10 and replaced by a fix the next day; a commit whose player_game_summary reported
  success having written nothing, deployed 2026-01-13 and rolled back on 2026-01-14 (the commit
  it ran before, deployed again); the fix of that, deployed 2026-01-15, which broke its two team
  processors, replaced on 2026-01-16.
- nba-phase2-raw-processors: a play-by-play loader that dropped games, deployed 2026-01-20 and
  replaced on 2026-01-22.
- prediction-worker: a commit that predicted for 30% of the slate, deployed 2026-01-07; its
  "fix", which wrote nothing, deployed 2026-01-08; rolled back on 2026-01-09.
- nba-grading-service: a change that graded only part of catboost_v8's predictions, deployed
  2026-01-10 after that morning's grading and replaced on 2026-01-17 after that morning's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
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
class Deploy:
    """A planted deploy at `at` (UTC) of main's newest change to the service before it, or, with
    `again`, of the commit of the service's planted deploy number `again` (a rollback)."""

    at: datetime
    again: int | None = None


def _utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# service → its planted deploys, oldest first, and whether it keeps the revision every service
# has of main on 2026-01-14 (replaced here by what the incidents' deploys left running)
PLANTED: dict[str, tuple[tuple[Deploy, ...], bool]] = {
    "nba-phase3-analytics-processors": (
        (
            Deploy(_utc(2025, 12, 10, 17)),  # 12:00 ET: four processors crash that night
            Deploy(_utc(2025, 12, 11, 19)),  # 14:00 ET, after the morning's alarm: the fix
            Deploy(_utc(2026, 1, 6, 18)),
            Deploy(_utc(2026, 1, 13, 15)),  # 10:00 ET: player_game_summary writes nothing
            Deploy(_utc(2026, 1, 14, 18, 30), again=2),  # 13:30 ET: rolled back
            Deploy(_utc(2026, 1, 15, 16)),  # 11:00 ET: the fix, breaking the team processors
            Deploy(_utc(2026, 1, 16, 19)),  # 14:00 ET: fixed
        ),
        False,
    ),
    "nba-phase2-raw-processors": (
        (
            Deploy(_utc(2026, 1, 20, 20)),  # 15:00 ET: the loader drops games from that night
            Deploy(_utc(2026, 1, 22, 18)),  # 13:00 ET: fixed
        ),
        True,
    ),
    "nba-grading-service": (
        (
            Deploy(_utc(2026, 1, 10, 10)),  # after 09:00 UTC grading: grades catboost_v8 in part
            Deploy(_utc(2026, 1, 17, 10)),  # after that morning's grading: fixed, none regraded
        ),
        False,
    ),
    "prediction-worker": (
        (
            Deploy(_utc(2026, 1, 5, 18)),
            Deploy(_utc(2026, 1, 7, 20)),  # 15:00 ET, after that day's run: 30% of the slate
            Deploy(_utc(2026, 1, 8, 21)),  # 16:00 ET: its fix, which writes nothing
            Deploy(_utc(2026, 1, 9, 18), again=0),  # 13:00 ET, after the alarm: rolled back
        ),
        True,
    ),
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

    def newest_touching(self, paths: tuple[str, ...], before: datetime | None = None) -> _Deployed:
        """main's newest commit touching `paths` (committed before `before`, if given)."""
        bound = [f"--before={before.isoformat()}"] if before else []
        return self._commit(*bound, "main", "--", *paths)


def revision_name(service: str, number: int) -> str:
    suffix = hashlib.sha1(f"{service}:{number}".encode()).hexdigest()[:3]
    return f"{service}-{number:05d}-{suffix}"


def revision_of(
    service: str,
    number: int,
    deployed: _Deployed | None,
    created: datetime,
    *,
    label_length: int = 40,
) -> SeedRevision:
    if deployed is None:  # an unlabelled revision: its image names no commit either
        image = Template(IMAGE).substitute(service=service, commit=f"r{number}")
        return SeedRevision(name=revision_name(service, number), image=image, created=created)
    build = build_of(IMAGE, service, deployed.sha)  # as opsbot's own deploys build it
    return SeedRevision(
        name=revision_name(service, number),
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
        if service in PLANTED:
            revisions = _with_planted(history, service, paths, base, revisions)
        if service == "nba-grading-service":  # the canary, left at 10%
            traffic = [(revisions[-2].name, 90), (revisions[-1].name, 10)]
        else:
            traffic = [(revisions[-1].name, 100)]
        tags = {revisions[-1].name: "canary"} if service == "nba-grading-service" else {}
        serving = next(r for r in revisions if r.name == traffic[0][0])
        state.add_service(
            PARENT, service, revisions, traffic, labels=dict(serving.labels), tags=tags
        )
        if service in PLANTED and service != "nba-grading-service":
            # its traffic history, as Cloud Audit Logs would show it (the grading service's
            # stays its last split, as every seeded service's: its drafts' timelines are long)
            state.splits[f"{PARENT}/services/{service}"] = [
                *((r.created, {r.name: 100}) for r in revisions[:-1]),
                (revisions[-1].created, dict(traffic)),
            ]


def _with_planted(
    history: _History,
    service: str,
    paths: tuple[str, ...],
    base: int,
    seeded: list[SeedRevision],
) -> list[SeedRevision]:
    """The service's seeded revisions with its planted deploys among them, numbered in the
    order they were created, back from its newest (whose name, and its neighbours' when
    nothing is planted between them, stays the seeds')."""
    deploys, keep_previous = PLANTED[service]
    commits: list[_Deployed] = []
    for deploy in deploys:
        if deploy.again is not None:
            commits.append(commits[deploy.again])
        else:
            commits.append(history.newest_touching(paths, before=deploy.at - DEPLOY_DELAY))
    kept = seeded if keep_previous else seeded[1:]
    timeline: list[tuple[datetime, _Deployed | SeedRevision]] = sorted(
        [
            *((d.at, c) for d, c in zip(deploys, commits, strict=True)),
            *((r.created, r) for r in kept),
        ],
        key=lambda item: item[0],
    )
    first = base + len(seeded) - len(timeline)  # the newest keeps its number
    found = []
    for number, (at, what) in enumerate(timeline, start=first):
        if isinstance(what, SeedRevision):
            found.append(replace(what, name=revision_name(service, number)))
        else:
            found.append(revision_of(service, number, what, at))
    return found
