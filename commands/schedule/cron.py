"""Unix-cron slots in a time zone, by APScheduler 3's CronTrigger.

The profile's cron lines are read as Cloud Scheduler reads them (unix-cron: day of week 0 or 7
is Sunday), so one line means the same slot in both modes. APScheduler 3's `from_crontab` counts
0 as Monday (its documented historical mismatch, fixed only in 4.x), so numeric days of the week
are spelled out as names before they reach it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
HORIZONS = (
    timedelta(hours=2),
    timedelta(days=1),
    timedelta(days=8),
    timedelta(days=32),
    timedelta(days=400),
)
TICK = timedelta(microseconds=1)


def _day(token: str) -> int:
    if token.isdigit():
        number = int(token)
        if not 0 <= number <= 7:
            raise ValueError(f"day of week {token} is out of 0-7")
        return number % 7
    return DAY_NAMES.index(token.lower()[:3])


def _weekdays(field: str) -> str:
    """A unix-cron day-of-week field as APScheduler names (0 and 7 are Sunday)."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            low, high = span.split("-", 1)
            first, last = _day(low), 7 if high == "7" else _day(high)
        else:
            first = last = _day(span)
            if step_text:
                last = 6
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(DAY_NAMES[day] for day in sorted(days))


@functools.lru_cache(maxsize=64)
def trigger(cron: str, timezone: str) -> CronTrigger:
    """The APScheduler trigger of a unix-cron line; ValueError when it is not one.

    APScheduler (and tzlocal with it, ~0.3 s) is imported here, not at start-up: the app acks
    its first command without it."""
    from apscheduler.triggers.cron import CronTrigger

    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(f"{cron!r}: expected 5 fields (minute hour day month day-of-week)")
    try:
        weekdays = _weekdays(fields[4])
    except (ValueError, IndexError):
        raise ValueError(f"{cron!r}: bad day of week {fields[4]!r}") from None
    minute, hour, day, month = fields[:4]
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=weekdays,
        timezone=ZoneInfo(timezone),
    )


def next_slot(cron: str, timezone: str, after: datetime) -> datetime | None:
    """The first slot strictly after `after`."""
    found = trigger(cron, timezone).get_next_fire_time(None, after + TICK)
    return None if found is None else found.astimezone(UTC)


def slots(cron: str, timezone: str, after: datetime, until: datetime) -> Iterator[datetime]:
    """Every slot in (after, until]."""
    at = next_slot(cron, timezone, after)
    while at is not None and at <= until:
        yield at
        at = next_slot(cron, timezone, at)


def latest_slot(cron: str, timezone: str, at: datetime) -> datetime | None:
    """The newest slot at or before `at` (None when none within 400 days)."""
    for horizon in HORIZONS:
        found = None
        for found in slots(cron, timezone, at - horizon, at):  # noqa: B007
            pass
        if found is not None:
            return found
    return None
