"""Grading is judged by the voided share of each date too, against the model's own baseline."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from checks.grading_completeness import GradingCompleteness
from checks.result import Status
from config import GradingCompletenessConfig
from tests.unit.doubles import context

AS_OF = date(2026, 1, 29)


def rows(voided: dict[int, int], baseline_days: int = 28) -> list[dict[str, Any]]:
    """The check's SQL rows for one model: 200 graded a date, with the voids given by days
    before AS_OF (else 10), and a baseline of 5% void over `baseline_days` earlier dates."""
    return [
        {
            "system_id": "ensemble_v1",
            "game_date": AS_OF - timedelta(days=n),
            "gradable": 200,
            "graded": 200,
            "with_actuals": 200,
            "graded_rows": 200,
            "voided": voided.get(n, 10),
            "voided_baseline_pct": 5.0,
            "voided_baseline_days": baseline_days,
        }
        for n in range(7, 0, -1)
    ]


def judge(data: list[dict[str, Any]]) -> Any:
    check = GradingCompleteness(GradingCompletenessConfig(action="regrade $date"))
    return check.evaluate(data, context(as_of=AS_OF))


def test_a_usual_share_of_voids_is_ok() -> None:
    result = judge(rows({1: 16}))  # 8%: a night of scratches
    assert result.status is Status.OK
    [model] = result.breakdown
    assert model["voided_baseline_pct"] == 5.0 and model["dates_voided"] == []


def test_a_night_mostly_voided_is_critical_and_regraded() -> None:
    # Graded in full, so the graded share says 100%: only the voided share sees it.
    result = judge(rows({2: 130}))  # 65% void on 2026-01-27
    assert result.status is Status.CRITICAL and result.value == 100.0
    [model] = result.breakdown
    assert model["dates_voided"] == ["2026-01-27"] and model["dates_behind"] == []
    assert model["voided_worst_pct"] == 65.0
    assert "voided above baseline: ensemble_v1 on 2026-01-27 (up to 65.0% against 5.0%)" in (
        result.detail
    )
    assert result.action == "regrade 2026-01-27"


def test_a_rise_of_twenty_points_warns() -> None:
    assert judge(rows({3: 52})).status is Status.WARN  # 26%: 21 points over 5%


def test_without_enough_history_the_voided_share_is_not_judged() -> None:
    result = judge(rows({2: 130}, baseline_days=3))
    assert result.status is Status.OK
    assert result.breakdown[0]["voided_baseline_pct"] is None
