"""Postmortem reminders: a draft nearing its due mark, action items due or overdue."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from config import Profile
from store.postmortem_views import ActionItemView, PostmortemView

if TYPE_CHECKING:
    from store.postmortems import Postmortems


@dataclass(frozen=True)
class ItemReminder:
    item: ActionItemView
    which: str  # due, overdue
    postmortem: PostmortemView | None


@dataclass(frozen=True)
class Reminders:
    """What the reminders job says this run; `due_at` per draft is its postmortem's due mark."""

    drafts: list[tuple[PostmortemView, datetime]] = field(default_factory=list)
    items: list[ItemReminder] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.drafts) + len(self.items)

    @property
    def summary(self) -> str:
        return f"{len(self.drafts)} drafts near their due mark, {len(self.items)} action items due"


def due_reminders(profile: Profile, postmortems: Postmortems, now: datetime) -> Reminders:
    """Drafts `remind_before_h` from their due mark (`due_h` after they were started), and open
    action items on their due day (in the team's time zone) or past it."""
    config = profile.postmortem
    due = timedelta(hours=config.due_h)
    drafts = postmortems.due_drafts(due - timedelta(hours=config.remind_before_h))
    today = now.astimezone(ZoneInfo(profile.platform.human_timezone)).date()
    items = [
        ItemReminder(item, which, postmortems.get(item.postmortem_id))
        for item, which in postmortems.due_items(today)
    ]
    return Reminders([(d, d.created_at + due) for d in drafts], items)


def mark_sent(postmortems: Postmortems, reminders: Reminders) -> None:
    """After posting: each reminder recorded, so the next run does not repeat it."""
    for draft, _ in reminders.drafts:
        postmortems.mark_draft_reminded(draft.id)
    for reminder in reminders.items:
        postmortems.mark_item_reminded(reminder.item.id, reminder.which)
