"""Scheduled runs as the store hands them out: importable without SQLAlchemy (the ack path)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# A run's holder renews its claim every HEARTBEAT of its silence window while it works; a claim
# not renewed for SILENCE_S (or the profile's claim_lease_s, if shorter) is a dead holder's, and
# is taken over. A holder gives its claim up after claim_lease_s however often it renewed (hung).
SILENCE_S = 30.0
HEARTBEATS_PER_SILENCE = 3
DIGEST_EVENT = "opsbot_digest"  # message metadata: which run (job, slot, manual) and which part


class Outcome(enum.StrEnum):
    """How a scheduled run ended (the store keeps the value), or why it did not run."""

    RUNNING = "running"  # claimed, not ended yet (or its holder died: taken over after silence)
    FULL = "full"  # posted in full
    HEARTBEAT = "heartbeat"  # unchanged: one line, the day's first
    QUIET = "quiet"  # unchanged, and today's line is already out: nothing posted
    FAILED = "failed"  # may be claimed again
    TAKEN = (
        "taken"  # another claimer has the slot (running it, or done): nothing ran (never stored)
    )
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
    claimed_at: datetime  # the claim, or its holder's latest renewal while it runs
    finished_at: datetime | None
    outcome: Outcome  # running, full, heartbeat, quiet, failed
    summary: str
    fingerprint: dict[str, Any] | None
    detail: dict[str, Any] = field(default_factory=dict)  # while running: {"posting": ...}
    missed: tuple[datetime, ...] = ()
    posted: tuple[tuple[str, str], ...] = ()  # (channel, ts), recorded as each post is made
    parts: dict[str, tuple[str, str]] = field(default_factory=dict)  # part → (channel, ts)
    took_over: str | None = None  # the holder this claim was taken from (it died or failed)

    @property
    def done(self) -> bool:
        return self.outcome in OUTCOMES_DONE

    @property
    def began_posting(self) -> bool:
        """Its holder recorded that it was about to post (or posted): Slack may have its posts."""
        return bool(self.detail.get("posting")) or bool(self.posted)

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


def silence_s(lease_s: float) -> float:
    """How long a holder may go without renewing its claim before it is taken for dead."""
    return min(SILENCE_S, lease_s)
