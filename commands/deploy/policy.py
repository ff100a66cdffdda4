"""Deploy rules that need no platform: freeze windows and who may approve a promotion."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from config import DeployConfig, FreezeWindow

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _inside(window: FreezeWindow, moment: datetime) -> bool:
    local = moment.astimezone(ZoneInfo(window.timezone))
    start, end = time.fromisoformat(window.start), time.fromisoformat(window.end)
    now, today = local.time(), DAYS[local.weekday()]
    yesterday = DAYS[(local.weekday() - 1) % 7]
    if start <= end:
        return today in window.days and start <= now < end
    # wraps past midnight: the evening belongs to today's window, the small hours to yesterday's
    return (today in window.days and now >= start) or (yesterday in window.days and now < end)


def active_freeze(policy: DeployConfig, moment: datetime) -> FreezeWindow | None:
    """The freeze window in force at `moment`, if any."""
    return next((w for w in policy.freeze if _inside(w, moment)), None)


def promotion_refusal(
    policy: DeployConfig, *, requester: str, approver: str, approvers: list[str]
) -> str | None:
    """Why `approver` may not promote, or None when they may."""
    if approver not in approvers:
        return "promotion needs the approver role"
    if policy.two_person_rule and approver == requester:
        return "the two-person rule is on: someone other than the requester must approve"
    return None
