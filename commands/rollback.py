"""The rollback operation: pick a previous revision, move all traffic to it, verify, audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from adapters.cloudrun import CloudRun
from adapters.cloudrun_model import TrafficShare
from adapters.git import CommitInfo, GitRepo
from commands.deploy.abort import abort_rollout
from commands.deploy.history import Setback, revision_setbacks
from commands.errors import RequestError
from commands.requests import select_services
from config import Profile
from store.states import RolloutState

if TYPE_CHECKING:
    from store.rollouts import Store


@dataclass(frozen=True)
class Candidate:
    """A revision one could roll back to."""

    revision: str
    created: datetime
    commit: str | None  # its commit-sha label
    change: CommitInfo | None  # the newest commit in it touching the service's sources
    percent: int  # of traffic now
    ready: bool
    setback: Setback | None = None  # it failed a canary, or traffic was rolled back from it

    @property
    def subject(self) -> str | None:
        """The subject of the service's own newest change in it (never another service's)."""
        return self.change.subject if self.change else None


@dataclass(frozen=True)
class Choices:
    """The revisions to pick from, and every revision serving as they were read."""

    found: list[Candidate]
    serving: list[str]  # largest share first; some may be older than the newest revisions


def candidates(
    profile: Profile,
    cloud_run: CloudRun,
    repo: GitRepo,
    service: str,
    store: Store | None = None,
    limit: int = 5,
) -> list[Candidate]:
    """The service's newest revisions: commit, its last change to the service, traffic, and any
    setback the store remembers (a failed canary, a rollback away from it)."""
    return choices(profile, cloud_run, repo, service, store, limit).found


def choices(
    profile: Profile,
    cloud_run: CloudRun,
    repo: GitRepo,
    service: str,
    store: Store | None = None,
    limit: int = 5,
) -> Choices:
    """`candidates`, with what the service serves (read once, for both)."""
    paths = list(select_services(profile, [service])[0].source_paths)
    shares = cloud_run.get_service(service).serving
    serving = {t.revision: t.percent for t in shares}
    marked = revision_setbacks(store, service) if store is not None else {}
    found = []
    for revision in cloud_run.list_revisions(service, limit=limit):
        label = revision.commit_label
        commit = repo.resolve(label) if label else None
        found.append(
            Candidate(
                revision.name,
                revision.created,
                label,
                repo.newest_touching(paths, tip=commit.sha) if commit else None,
                serving.get(revision.name, 0),
                revision.ready,
                marked.get(revision.name),
            )
        )
    return Choices(found, [t.revision for t in shares])


@dataclass(frozen=True)
class Drawn:
    """What a Roll back button saw serving when it was drawn: `serving`, every revision (then
    exactly these must serve still), or `seen`, some of them (then each must serve still)."""

    serving: frozenset[str] | None = None
    seen: frozenset[str] = frozenset()

    def changed(self, now: set[str]) -> bool:
        """Whether what serves `now` is not what the button saw."""
        if self.serving is not None and now != self.serving:
            return True
        return not self.seen <= now

    def text(self) -> str:
        """What the button saw, in words."""
        shown = self.serving if self.serving is not None else self.seen
        return ", ".join(sorted(shown)) or "nothing serving"


def _refuse_stale(
    store: Store, cloud_run: CloudRun, service: str, revision: str, actor: str, drawn: Drawn
) -> None:
    """RequestError (audited) when what the service serves changed since the button was drawn."""
    shares = cloud_run.get_service(service).serving
    if not drawn.changed({t.revision for t in shares}):
        return
    now = ", ".join(f"{t.revision} ({t.percent}%)" for t in shares) or "nothing"
    store.record(
        actor,
        "rollback.refused",
        service=service,
        arguments={"to": revision, "drawn": drawn.text(), "now": now},
        result="stale button: what serves changed since it was drawn",
    )
    raise RequestError(
        f"nothing moved: {service} now serves {now}, not what this Roll back was drawn for "
        f"({drawn.text()} serving); look again with `/rollback {service}`"
    )


@dataclass(frozen=True)
class RollbackResult:
    service: str
    revision: str
    aborted_rollout: int | None  # the rollout this rollback ended, if one was active
    audit_id: int | None = None  # the audit entry of a rollback outside any rollout


def roll_back(
    profile: Profile,
    cloud_run: CloudRun,
    store: Store,
    service: str,
    revision: str,
    actor: str,
    *,
    once_key: str | None = None,
    drawn: Drawn | None = None,
) -> RollbackResult | None:
    """100% of traffic to `revision`, verified; during a rollout, that rollout is aborted instead.

    `once_key` names the request (e.g. the confirmation message clicked): a repeat of it, by a
    double click or another replica, does nothing and returns None. A confirmation that failed
    (Cloud Run refused, or `drawn` no longer holds) is not spent: clicking it again tries again.
    `drawn`: what the clicked button saw serving; when that changed, nothing moves.
    """
    select_services(profile, [service])
    if not profile.slack.holds(actor, "deployer"):
        store.record(
            actor,
            "rollback.refused",
            service=service,
            arguments={"to": revision},
            result="no deployer role",
        )
        raise RequestError("rolling back needs the deployer role")
    if once_key is not None and not store.first_time(once_key):
        return None
    try:
        if drawn is not None:
            _refuse_stale(store, cloud_run, service, revision, actor, drawn)
        return _move_traffic(cloud_run, store, service, revision, actor)
    except Exception:
        if once_key is not None:  # it did not happen: the same confirmation may try again
            store.forget(once_key)
        raise


def _move_traffic(
    cloud_run: CloudRun, store: Store, service: str, revision: str, actor: str
) -> RollbackResult:
    active = store.lock_holder(service)
    if active is not None:
        rollout = store.get(active)
        assert rollout is not None
        if revision != rollout.stable_revision:
            raise RequestError(
                f"rollout #{active} is in progress; rolling back ends it on its stable revision "
                f"{rollout.stable_revision} (ask for that one)"
            )
        abort_rollout(cloud_run, store, active, actor, "rolled back by hand")
        ended = store.get(active)  # by this call, or by whoever was already rolling it back
        if ended is None or ended.state is not RolloutState.ROLLED_BACK:
            raise RequestError(
                f"rollout #{active} is rolling back, but its traffic is not on {revision} yet "
                "(Cloud Run refused the change); opsbot keeps trying: see the rollout's message"
            )
        return RollbackResult(service, revision, active)
    target = cloud_run.get_revision(service, revision)
    if not target.ready:
        raise RequestError(
            f"revision {revision} is not ready ({target.ready_message}); pick another"
        )
    serving = {t.revision: t.percent for t in cloud_run.get_service(service).serving}
    cloud_run.route(service, [TrafficShare(revision, 100)])
    entry = store.record(
        actor,
        "rollback",
        service=service,
        arguments={"to": revision, "from": serving},
        result="ok: 100% verified",
    )
    return RollbackResult(service, revision, None, entry)
