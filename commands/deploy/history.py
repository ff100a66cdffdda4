"""What the store remembers against a revision or a commit: canaries that failed or were rolled
back, and revisions traffic was rolled back away from by hand.

The rule: a revision (or a commit) that a canary of it failed with, or that a rollback took
traffic away from, is marked wherever someone may choose it again (the rollback picker, the
drift fix line, the checklist), with when and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from infra.wording import said, short_sha
from store.states import RolloutState

if TYPE_CHECKING:
    from store.rollouts import Store

ROLLOUTS_READ = 500  # the newest rollouts of every service: months of a platform's deploys
HAND_ROLLBACKS_SINCE = timedelta(days=90)
BAD_ENDINGS = (RolloutState.ROLLED_BACK, RolloutState.FAILED)


@dataclass(frozen=True)
class Setback:
    """One time a revision or commit was found bad, when and why."""

    revision: str | None  # the canary's revision, or the one a hand rollback moved away from
    commit: str | None  # the canary's commit (full SHA); None for a hand rollback
    at: datetime
    reason: str
    rollout_id: int | None = None  # None: a rollback by hand, outside any rollout
    failed: bool = True  # False: rolled back by a person, not by a failing analysis

    @property
    def what(self) -> str:
        """What happened, said of the revision or commit: "failed its canary (rollout #4)"."""
        if self.rollout_id is None:
            return "had its traffic rolled back by hand"
        how = "failed its canary" if self.failed else "had its canary rolled back"
        return f"{how} (rollout #{self.rollout_id})"

    def text(self, with_commit: bool = False) -> str:
        """The whole warning in plain words (Slack escapes it, a terminal prints it)."""
        commit = f"{short_sha(self.commit)} " if with_commit and self.commit else ""
        return f"{commit}{self.what} on {self.at:%Y-%m-%d %H:%M} UTC: {self.reason}"


def _of_rollouts(store: Store, service: str) -> list[Setback]:
    found = []
    for rollout in store.recent(ROLLOUTS_READ):
        if rollout.service != service or rollout.state not in BAD_ENDINGS:
            continue
        reason = rollout.reason or said(rollout.state)
        by_hand = reason.startswith("rolled back by") or rollout.reason == "rolled back by hand"
        found.append(
            Setback(
                revision=rollout.canary_revision,
                commit=rollout.commit_sha,
                at=rollout.updated_at,
                reason=reason,
                rollout_id=rollout.id,
                failed=not by_hand,
            )
        )
    return found


def _of_hand_rollbacks(store: Store, service: str) -> list[Setback]:
    found = []
    since = store.clock() - HAND_ROLLBACKS_SINCE
    for entry in store.audit_log(since=since):
        if entry.action != "rollback" or entry.service != service:
            continue
        to = entry.arguments.get("to")
        replaced = entry.arguments.get("from") or {}
        for revision, percent in replaced.items():
            if revision != to and percent:
                reason = f"<@{entry.actor}> moved 100% of traffic to {to}"
                found.append(Setback(revision, None, entry.at, reason))
    return found


def setbacks(store: Store, service: str) -> list[Setback]:
    """Every setback of the service the store remembers, newest first."""
    found = _of_rollouts(store, service) + _of_hand_rollbacks(store, service)
    return sorted(found, key=lambda s: s.at, reverse=True)


def revision_setbacks(store: Store, service: str) -> dict[str, Setback]:
    """The newest setback of each of the service's revisions that had one."""
    marked: dict[str, Setback] = {}
    for setback in setbacks(store, service):
        if setback.revision is not None:
            marked.setdefault(setback.revision, setback)
    return marked


def commit_setback(store: Store, service: str, sha: str) -> Setback | None:
    """The newest canary of this commit (full SHA) of the service that failed or was rolled back."""
    return next(
        (s for s in _of_rollouts(store, service) if s.commit == sha),
        None,
    )
