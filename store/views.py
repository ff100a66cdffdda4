"""What the store returns: frozen views of its rows, importable without SQLAlchemy (the ack path).

Callers never hold an ORM row: a view cannot be changed behind the store's back, and the faces
(bot/, cli/) render these without importing the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from store.states import RolloutState


@dataclass(frozen=True)
class Approval:
    """A promotion: who approved which step, when."""

    user: str
    step: int
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"user": self.user, "step": self.step, "at": self.at.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Approval:
        return cls(str(data["user"]), int(data["step"]), datetime.fromisoformat(str(data["at"])))


@dataclass(frozen=True)
class RolloutView:
    """One rollout as the store last recorded it; `version` is what a conditional update names."""

    id: int
    service: str
    commit_sha: str
    stable_revision: str  # what served when it began: the rollback target
    canary_revision: str | None
    state: RolloutState
    step: int  # index into the profile's canary steps
    failures: int  # consecutive failing analyses
    requested_by: str
    approvals: tuple[Approval, ...]
    reason: str | None  # why it ended, when it ended badly
    slack_channel: str | None
    slack_ts: str | None
    created_at: datetime
    updated_at: datetime
    step_started_at: datetime | None  # when the current step began (approval expiry)
    data_baseline: str | None  # the data check's status when it began
    ending: RolloutState | None  # the state a ROLLING_BACK rollout ends in
    version: int  # bumped by every transition
    passed_step: int | None = None  # the step at which the last analysis passed (promotable)
    operation: str | None = None  # Cloud Run's operation creating the canary, while it runs


@dataclass(frozen=True)
class AuditView:
    """One audit entry: who did what, with which arguments, and how it ended."""

    id: int
    at: datetime
    actor: str
    action: str
    service: str | None
    rollout_id: int | None
    arguments: dict[str, Any]
    result: str
