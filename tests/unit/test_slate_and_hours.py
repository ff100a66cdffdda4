"""Checks that follow the slate and the clock: predictions by slate size, features by the hour."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from checks.grading_completeness import GradingCompleteness
from checks.recent_predictions import RecentPredictions
from checks.result import Status
from checks.vegas_line_coverage import VegasLineCoverage
from config import GradingCompletenessConfig, RecentPredictionsConfig, VegasLineCoverageConfig
from tests.unit.doubles import context

DAY = date(2026, 2, 6)


@pytest.mark.parametrize(
    ("games", "predictions", "expected"),
    [
        (12, 100, Status.WARN),  # 212 of 312 missing: no longer OK
        (12, 300, Status.OK),
        (12, 60, Status.CRITICAL),
        (1, 26, Status.OK),  # a one-game slate, every player predicted
        (8, 62, Status.WARN),  # the planted 30% day
        (8, 0, Status.CRITICAL),
    ],
)
def test_predictions_are_judged_against_the_slate_both_ways(
    games: int, predictions: int, expected: Status
) -> None:
    check = RecentPredictions(RecentPredictionsConfig())
    ctx = context(as_of=DAY - timedelta(days=1))
    result = check.evaluate([{"games": games, "predictions": predictions}], ctx)
    assert result.status is expected
    assert f"{predictions} of {games * 26} expected" in result.detail


def test_todays_features_are_not_due_before_the_features_hour() -> None:
    check = VegasLineCoverage(VegasLineCoverageConfig())
    no_features_yet = [{"games_on_day": 12, "game_date": None, "feature_rows": 0, "with_line": 0}]
    one_am_et = context(as_of=DAY, now=datetime(2026, 2, 6, 6, tzinfo=UTC))
    early = check.evaluate(no_features_yet, one_am_et)
    assert early.status is Status.NOT_APPLICABLE
    assert "due from 10:00 ET" in early.detail and "01:00 ET" in early.detail
    eleven_am_et = context(as_of=DAY, now=datetime(2026, 2, 6, 16, tzinfo=UTC))
    assert check.evaluate(no_features_yet, eleven_am_et).status is Status.CRITICAL


def test_a_day_with_no_grading_is_critical_however_good_the_rest_of_the_week() -> None:
    check = GradingCompleteness(GradingCompletenessConfig())
    as_of = date(2026, 1, 29)
    rows = [
        {
            "system_id": "ensemble_v1",
            "game_date": as_of - timedelta(days=n),
            "gradable": 200,
            "graded": 0 if n == 1 else 200,
            "with_actuals": 200,
        }
        for n in range(1, 8)
    ]
    result = check.evaluate(rows, context(as_of=as_of))
    assert result.status is Status.CRITICAL and result.value == 0.0
    assert "ensemble_v1 on 2026-01-28" in result.detail
    [model] = result.breakdown
    assert model["graded_pct"] > 80 and model["dates_behind"] == ["2026-01-28"]
