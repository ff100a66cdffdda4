"""Frozen views of postmortems, their added timeline events and action items."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

SECTIONS = ("impact", "summary", "root_cause", "resolution", "prevention")  # editable text


@dataclass(frozen=True)
class AddedEvent:
    """A Slack message a person added to the timeline, at the time it was posted."""

    id: int
    at: datetime
    author: str
    text: str
    permalink: str | None
    added_by: str


@dataclass(frozen=True)
class ActionItemView:
    id: int
    postmortem_id: int
    text: str
    owner: str
    due: date
    state: str  # open, done
    reminded: str  # "", due, overdue

    def overdue(self, today: date) -> bool:
        return self.state == "open" and self.due < today


@dataclass(frozen=True)
class PostmortemView:
    id: int
    subject: str  # rollout:12, rollback:345, date:2026-01-28
    kind: str
    title: str
    severity: str
    status: str  # draft, final
    document: dict[str, Any]  # the draft as opsbot built it (commands.postmortem.model)
    sections: dict[str, str]  # what people wrote, by section name, over the draft's text
    incident_start: datetime
    incident_end: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    slack_channel: str | None
    slack_ts: str | None
    version: int
    events: tuple[AddedEvent, ...] = ()
    items: tuple[ActionItemView, ...] = ()
