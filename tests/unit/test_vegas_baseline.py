"""Vegas-line coverage is judged against its floor and against its own recent baseline."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from checks.result import Status
from checks.vegas_line_coverage import VegasLineCoverage
from tests.unit.doubles import context

AS_OF = date(2026, 2, 5)


def rows(history_pct: float, today_pct: float, days: int = 28) -> list[dict[str, Any]]:
    data = [
        {
            "games_on_day": 6,
            "game_date": AS_OF - timedelta(days=days - i),
            "feature_rows": 1000,
            "with_line": round(history_pct * 10),
        }
        for i in range(days)
    ]
    data.append(
        {
            "games_on_day": 6,
            "game_date": AS_OF,
            "feature_rows": 1000,
            "with_line": round(today_pct * 10),
        }
    )
    return data


def judge(data: list[dict[str, Any]]) -> Any:
    ctx = context(as_of=AS_OF)
    return VegasLineCoverage(ctx.profile.checks.vegas_line_coverage).evaluate(data, ctx)


def test_a_normal_day_near_the_baseline_never_alarms() -> None:
    # The seeds' false alarm: 38.8% judged against an 80% bar. Against a ~42% baseline it is normal.
    result = judge(rows(history_pct=42.0, today_pct=38.8))
    assert result.status is Status.OK
    assert result.baseline == 42.0
    assert result.action is None


def test_a_drop_well_below_the_baseline_warns_even_above_the_floor() -> None:
    # Coverage used to be 92%; 44.7% clears the 35% floor but is half the baseline.
    result = judge(rows(history_pct=92.4, today_pct=60.0))
    assert result.status is Status.WARN
    assert "below the baseline" in result.detail


def test_halving_against_the_baseline_is_critical_even_above_the_floor() -> None:
    result = judge(rows(history_pct=92.4, today_pct=44.7))
    assert result.status is Status.CRITICAL


def test_below_the_floor_is_critical_whatever_the_baseline() -> None:
    result = judge(rows(history_pct=19.0, today_pct=15.0))
    assert result.status is Status.CRITICAL
    assert "floor" in result.detail


def test_too_little_history_gives_no_baseline_and_only_the_floor_judges() -> None:
    result = judge(rows(history_pct=90.0, today_pct=40.0, days=3))
    assert result.baseline is None
    assert result.status is Status.OK
    assert "no baseline yet" in result.detail


def test_the_baseline_is_the_median_so_a_bad_week_does_not_drag_it_down() -> None:
    data = rows(history_pct=42.0, today_pct=41.0)
    for row in data[-8:-1]:  # the 7 game days before today at 14%
        row["with_line"] = 140
    result = judge(data)
    assert result.baseline == 42.0
    assert result.status is Status.OK
