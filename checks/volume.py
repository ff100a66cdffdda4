"""Judging a day's volume: against what the slate implies and against its own recent game days."""

from __future__ import annotations

from datetime import date, timedelta

from checks.result import Status
from config.checks import VolumeBaseline


def baseline_window_start(day: date, game_days: int) -> date:
    """The first calendar day the SQL reads: enough to hold `game_days` game days before `day`
    across the longest break (the All-Star week, Christmas), as vegas_line_coverage reads."""
    return day - timedelta(days=game_days * 2 + 14)


def baseline(value: float | None, days: int | None, config: VolumeBaseline) -> float | None:
    """A median the SQL took over a volume's last `baseline_game_days` game days, when it is of
    enough of them (`baseline_min_game_days`); else None: no baseline yet."""
    if value is None or days is None or days < config.baseline_min_game_days:
        return None
    return float(value)


def share_status(
    actual: float, expected: float | None, warn_share: float, critical_share: float
) -> Status:
    """OK at or above `warn_share` of `expected`, WARN at or above `critical_share`, else
    CRITICAL; OK when nothing is expected (no slate figure, no baseline yet)."""
    if not expected:
        return Status.OK
    share = actual / expected
    if share >= warn_share:
        return Status.OK
    return Status.WARN if share >= critical_share else Status.CRITICAL


def points_above_status(
    value: float, usual: float | None, warn_points: float, critical_points: float
) -> Status:
    """A share (in %) judged by how many points it rose above its usual one: OK without one."""
    if usual is None:
        return Status.OK
    rise = value - usual
    if rise >= critical_points:
        return Status.CRITICAL
    return Status.WARN if rise >= warn_points else Status.OK
