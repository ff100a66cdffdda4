"""When a failing check's bad data was made: the moments a cause must have begun between.

The rule: a cause began between the start of the first failing game day (less `[causes]
lead_hours`: the day before is when that day's code was last changed) and the moment that
day's data was due (`[causes] due_hour` ET on the day the check judges it, never after now).
Something that began after the data was due did not make it; something long before it would
have failed the days before too. When a window of several days fails from its first day, the
failure may have begun before it (the check cannot see): no deploy inside it is said to have
begun it (`opened`); a revision that served while its first failing day was made and was
replaced as the failures ended (by the day after the last one's data was due) is said instead.

What is known of when the failure began is said as it is known (`Seen`): the first failing date
only when the check's window shows passing days before it; else "failing since at least" the
window's first day, or "failing on" the one day a check judges (it says nothing of the days
before). Times are compared with game days in the platform's game timezone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from checks.result import CheckResult
from config import Profile


class Seen(enum.Enum):
    """What the check shows of when its failure began."""

    FIRST = "first"  # its window's days before the first failing one passed
    SINCE = "since"  # it fails from its window's first day: it may have begun before
    JUDGED = "judged"  # it judges one day: the days before are not judged here


@dataclass(frozen=True)
class Span:
    first_day: date  # the first failing game day the check saw
    start: datetime
    end: datetime
    opened: bool = True  # False: it may have begun before the window (nothing placed in it)
    made_from: datetime | None = None  # the first failing day's data was made from then to `end`
    ended_by: datetime | None = None  # the day after the last failing day's data was due
    seen: Seen = Seen.FIRST
    zone: tzinfo = UTC  # the game days' timezone

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment <= self.end

    def failing(self) -> str:
        """When the failure began, as far as the check shows it."""
        if self.seen is Seen.FIRST:
            return f"first failing game day {self.first_day}"
        if self.seen is Seen.SINCE:
            return f"failing since at least {self.first_day}, the first day of its window"
        return f"failing on game day {self.first_day}, the one day it judges"

    def game_day(self, moment: datetime) -> str:
        """`moment` in the game timezone and the game day it fell on (`05:00 EST, game day D`),
        and, when that is before the first failing one, that it was."""
        local = moment.astimezone(self.zone)
        said = f"{local:%H:%M %Z}, game day {local.date()}"
        return said + (f", before {self.first_day}" if local.date() < self.first_day else "")


def _behind(result: CheckResult) -> list[date]:
    """The dates its breakdown says went wrong: behind its bar, or voided above its baseline."""
    return [
        date.fromisoformat(day)
        for part in result.breakdown or []
        if part.get("status") != "OK"
        for day in [*(part.get("dates_behind") or []), *(part.get("dates_voided") or [])]
    ]


def first_failing_day(result: CheckResult) -> date | None:
    """The check's first failing game day: the earliest date its breakdown says is behind (or
    voided), else the day it judges, the end of its window (which may start earlier: a
    baseline's history). None: the check has no window."""
    behind = _behind(result)
    if behind:
        return min(behind)
    return result.window.end if result.window else None


def span_of(result: CheckResult, as_of: date, profile: Profile, now: datetime) -> Span | None:
    """The span a cause of `result` (judged as of `as_of`) must have begun in; None without a
    window (nothing says which data was bad)."""
    first = first_failing_day(result)
    if first is None or result.window is None:
        return None
    zone = ZoneInfo(profile.platform.game_timezone)
    judged_after = as_of - result.window.end  # 1: yesterday's games are judged today
    due_day = first + judged_after
    start = datetime.combine(first, time(0), zone) - timedelta(hours=profile.causes.lead_hours)
    due_hour = profile.causes.due_hour
    due = datetime.combine(due_day, time(due_hour), zone)
    window = result.window
    before_window = window.start < window.end and first == window.start
    if not _behind(result) or window.start == window.end:
        seen = Seen.JUDGED
    else:
        seen = Seen.SINCE if before_window else Seen.FIRST
    last = max(_behind(result), default=first)
    ended_by = datetime.combine(last + judged_after + timedelta(days=1), time(due_hour), zone)
    return Span(
        first,
        start,
        min(due, now),
        opened=not before_window,
        made_from=datetime.combine(due_day, time(0), zone),
        ended_by=min(ended_by, now),
        seen=seen,
        zone=zone,
    )
