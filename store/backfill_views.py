"""Backfills as the store hands them out: importable without SQLAlchemy (the ack path)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
    state: str
    correlation_id: str
    published_at: datetime | None
    completed_at: datetime | None
    graded_count: int | None
    mae: float | None
    detail: str


@dataclass(frozen=True)
class BackfillView:
    id: int
    requested_by: str
    reason: str
    include_graded: bool
    state: str
    estimate_bytes: int
    slack_channel: str | None
    slack_ts: str | None
    created_at: datetime
    updated_at: datetime
    dates: tuple[BackfillDateView, ...]

    def count(self, *states: str) -> int:
        return sum(1 for d in self.dates if d.state in states)

    @property
    def ended(self) -> bool:
        return self.state != "running"
