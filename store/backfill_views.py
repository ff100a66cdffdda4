"""Backfills as the store hands them out: importable without SQLAlchemy (the ack path)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class DateState(enum.StrEnum):
    """Where one date of a backfill is: queued → publishing → published → done | failed |
    timed out, or canceled before it was published.

    `publishing` is the intent, recorded before the trigger is sent; `published` is recorded
    once Pub/Sub has it (with its message id). A date left `publishing` by a process that died
    is published again by whoever drives the backfill next.
    """

    QUEUED = "queued"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    DONE = "done"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELED = "canceled"

    @property
    def ended(self) -> bool:
        return self in ENDED


OUT = frozenset({DateState.PUBLISHING, DateState.PUBLISHED})
"""Sent, or being sent: what counts against `[regrade] max_in_flight`."""
IN_FLIGHT = frozenset({DateState.QUEUED, *OUT})
ENDED = frozenset({DateState.DONE, DateState.FAILED, DateState.TIMED_OUT, DateState.CANCELED})
DATE_MOVES: dict[DateState, frozenset[DateState]] = {
    DateState.QUEUED: frozenset({DateState.PUBLISHING, DateState.CANCELED}),
    DateState.PUBLISHING: frozenset(
        {
            DateState.PUBLISHING,  # claimed again to publish again: its publisher died
            DateState.PUBLISHED,  # Pub/Sub has it
            DateState.FAILED,  # Pub/Sub refused it
            DateState.DONE,  # its completion came before the confirmation was recorded
        }
    ),
    DateState.PUBLISHED: frozenset({DateState.DONE, DateState.FAILED, DateState.TIMED_OUT}),
    **{ended: frozenset() for ended in ENDED},
}
"""The moves a date may make: the store refuses any other (IllegalMove)."""


class BackfillState(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"  # every date ended
    CANCELED = "canceled"  # some dates were canceled before they were published


@dataclass(frozen=True)
class Place:
    """Where a backfill's message belongs: the channel it was asked from (in a thread or not)."""

    channel: str
    thread: str | None = None


class DatesInFlight(Exception):
    """Some dates are already queued or published by another backfill."""

    def __init__(self, dates: dict[str, int]) -> None:
        self.dates = dates  # date → backfill id
        listed = ", ".join(f"{d} (#{b})" for d, b in sorted(dates.items()))
        super().__init__(f"already in flight in another backfill: {listed}")


@dataclass(frozen=True)
class BackfillDateView:
    id: int
    game_date: str
    state: DateState
    correlation_id: str
    published_at: datetime | None
    completed_at: datetime | None
    graded_count: int | None
    mae: float | None
    detail: str
    message_id: str | None = None  # Pub/Sub's, once it confirmed the trigger


@dataclass(frozen=True)
class BackfillView:
    id: int
    requested_by: str
    reason: str
    include_graded: bool
    state: BackfillState
    estimate_bytes: int
    slack_channel: str | None
    slack_ts: str | None
    created_at: datetime
    updated_at: datetime
    dates: tuple[BackfillDateView, ...]
    place: Place | None = None  # None: started from a terminal, no message to keep

    def count(self, *states: DateState) -> int:
        return sum(1 for d in self.dates if d.state in states)

    @property
    def ended(self) -> bool:
        return self.state is not BackfillState.RUNNING
