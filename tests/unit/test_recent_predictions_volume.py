"""Predictions are judged per model against the slate, counting players, and by rows per player."""

from __future__ import annotations

from datetime import date
from typing import Any

from checks.recent_predictions import RecentPredictions
from checks.result import Status
from config import RecentPredictionsConfig
from tests.unit.doubles import context

DAY = date(2026, 2, 4)  # a past day: predictions are due
MODELS = ["catboost_v8", "ensemble_v1"]


def judge(written: dict[str, tuple[int, int]], games: int = 12) -> Any:
    """`written`: model → (active rows, distinct players), as the check's SQL returns them."""
    check = RecentPredictions(RecentPredictionsConfig(other_models=MODELS))
    data: list[dict[str, Any]] = [
        {"games": games, "system_id": model, "predictions": rows, "players": players}
        for model, (rows, players) in written.items()
    ] or [{"games": games, "system_id": None, "predictions": None, "players": None}]
    return check.evaluate(data, context(as_of=DAY))


def test_every_model_with_the_whole_slate_is_ok() -> None:
    result = judge({m: (312, 312) for m in ["catboost_v9", *MODELS]})
    assert result.status is Status.OK and result.value == 100.0
    assert [(b["model"], b["players"], b["expected"]) for b in result.breakdown] == [
        ("catboost_v9", 312, 312),
        ("catboost_v8", 312, 312),
        ("ensemble_v1", 312, 312),
    ]


def test_duplicate_rows_do_not_pass_for_a_full_slate() -> None:
    # 312 active rows: the old count called this 100%. They are 156 players, each twice.
    result = judge(
        {m: (312, 156) if m == "catboost_v9" else (312, 312) for m in ["catboost_v9", *MODELS]}
    )
    assert result.status is Status.WARN and result.value == 50.0
    assert result.detail.startswith("156 of 312 expected active catboost_v9 predictions (50%)")
    assert "catboost_v9 has 2 active rows per player" in result.detail
    assert result.breakdown[0]["rows_per_player"] == 2.0


def test_a_rerun_that_left_its_first_rows_active_warns_even_with_every_player() -> None:
    result = judge(
        {"catboost_v9": (624, 312), "catboost_v8": (312, 312), "ensemble_v1": (312, 312)}
    )
    assert result.status is Status.WARN and result.value == 100.0
    assert result.breakdown[0]["status"] == "WARN"


def test_another_model_short_of_the_slate_fails_the_check_and_is_named() -> None:
    result = judge({"catboost_v9": (312, 312), "catboost_v8": (312, 312), "ensemble_v1": (60, 60)})
    assert result.status is Status.CRITICAL
    assert result.value == 100.0  # the main model's share stays the headline
    assert "; ensemble_v1: 60 of 312 (19%)" in result.detail
    assert result.breakdown[2]["status"] == "CRITICAL"


def test_a_model_that_wrote_nothing_is_in_the_breakdown_at_zero() -> None:
    result = judge({"catboost_v9": (312, 312), "catboost_v8": (312, 312)})
    missing = result.breakdown[2]
    assert (missing["model"], missing["players"], missing["status"]) == (
        "ensemble_v1",
        0,
        "CRITICAL",
    )
    assert judge({}).breakdown[0]["players"] == 0
