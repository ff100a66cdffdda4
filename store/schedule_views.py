"""Scheduled runs as the store hands them out: importable without SQLAlchemy (the ack path)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Outcome(enum.StrEnum):
    """How a scheduled run ended (the store keeps the value), or why it did not run."""

    RUNNING = "running"  # claimed, not ended yet (or its claimer died: retaken after the lease)
    FULL = "full"  # posted in full
    HEARTBEAT = "heartbeat"  # unchanged: one line, the day's first
    QUIET = "quiet"  # unchanged, and today's line is already out: nothing posted
    FAILED = "failed"  # may be claimed again
    TAKEN = "taken"  # another claimer has the slot: nothing ran (never stored)
    OFF = "off"  # disabled in the profile, or no slot: nothing ran (never stored)


OUTCOMES_DONE = (Outcome.FULL, Outcome.HEARTBEAT, Outcome.QUIET)  # a run that ended as it should
OUTCOMES_POSTED = (Outcome.FULL, Outcome.HEARTBEAT)


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
    outcome: Outcome  # running, full, heartbeat, quiet, failed
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
