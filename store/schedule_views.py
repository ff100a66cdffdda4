"""Scheduled runs as the store hands them out: importable without SQLAlchemy (the ack path)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OUTCOMES_DONE = ("full", "heartbeat", "quiet")  # a run that ended as it should
OUTCOMES_POSTED = ("full", "heartbeat")


@dataclass(frozen=True)
class RunView:
    """One run of a job: the slot it was for, who ran it, and how it ended."""

    id: int
    job: str
    fire_time: datetime
    manual: bool
    trigger: str
    claimed_by: str
    claimed_at: datetime
    finished_at: datetime | None
    outcome: str  # running, full, heartbeat, quiet, failed
    summary: str
    fingerprint: dict[str, Any] | None
    detail: dict[str, Any] = field(default_factory=dict)
    missed: tuple[datetime, ...] = ()
    posted: tuple[tuple[str, str], ...] = ()  # (channel, ts)

    @property
    def done(self) -> bool:
        return self.outcome in OUTCOMES_DONE

    @property
    def result(self) -> str:
        """What `schedule list` shows: the outcome and its line."""
        return f"{self.outcome}: {self.summary}" if self.summary else self.outcome

    def to_json(self) -> dict[str, Any]:
        return {
            "fire_time": self.fire_time.isoformat(),
            "trigger": self.trigger,
            "outcome": self.outcome,
            "summary": self.summary,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "missed": [m.isoformat() for m in self.missed],
        }
