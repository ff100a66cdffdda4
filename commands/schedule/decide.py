"""Whether a run posts: in full on a change, else one heartbeat line a day, else nothing.

Findings are compared in a normalised form (a digest's fingerprint), never as text: a report
that only aged by two hours has not changed. Silence never lasts past a day, so a broken
scheduler cannot hide behind "nothing changed".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from infra.wording import noun, verb


class Post(enum.StrEnum):
    FULL = "full"
    HEARTBEAT = "heartbeat"
    QUIET = "quiet"  # unchanged, and today's line is already out


@dataclass(frozen=True)
class Before:
    """What the job posted last: the fingerprint of its last full post, and when it posted."""

    fingerprint: dict[str, Any] | None
    full_at: datetime | None  # the last full post
    posted_at: datetime | None  # the last post of either kind


def decide(
    fingerprint: dict[str, Any] | None,
    before: Before,
    now: datetime,
    timezone: str,
    *,
    full: bool = False,
    missed: bool = False,
) -> Post:
    """`full`: post in full whatever changed (a person asked). `missed`: runs were missed, so a
    line goes out even if one went out today. A job with no fingerprint always posts in full."""
    if full or fingerprint is None or before.full_at is None:
        return Post.FULL
    if fingerprint != before.fingerprint:
        return Post.FULL
    if missed:
        return Post.HEARTBEAT
    zone = ZoneInfo(timezone)
    if (
        before.posted_at is None
        or before.posted_at.astimezone(zone).date() < now.astimezone(zone).date()
    ):
        return Post.HEARTBEAT
    return Post.QUIET


def local_stamp(moment: datetime | None, timezone: str) -> str:
    """'Thu 2026-02-05 10:00 PST' in `timezone`; '—' for none (every face shows times so)."""
    if moment is None:
        return "—"
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%a %Y-%m-%d %H:%M} {local.tzname()}"


def since_text(moment: datetime, now: datetime, timezone: str) -> str:
    """'08:00' today, 'Mon 08:00' within the week, else '2026-02-01 08:00' (local time)."""
    zone = ZoneInfo(timezone)
    local, today = moment.astimezone(zone), now.astimezone(zone)
    if local.date() == today.date():
        return f"{local:%H:%M}"
    if (today.date() - local.date()).days < 7:
        return f"{local:%a %H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"


def missed_text(missed: list[datetime], now: datetime, timezone: str, limit: int = 6) -> str:
    """'catching up: the 10:00 and 12:00 runs were missed'."""
    shown = [since_text(m, now, timezone) for m in missed[-limit:]]
    more = len(missed) - len(shown)
    if more:
        shown.insert(0, f"{more} earlier")
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" and {shown[-1]}"
    runs = f"{noun(len(missed), 'run')} {verb(len(missed), 'was', 'were')}"
    return f"catching up: the {listed} {runs} missed"
