"""Counts in what /regrade says name their noun in the right number: never "1 dates"."""

from __future__ import annotations

import re
from datetime import date

from bot.views.regrade import plan_view
from commands.regrade.plan import DatePlan, ModelGrading, RegradePlan

DAY = date(2026, 1, 29)
ONE_GAME = DatePlan(DAY, 1, 1, (ModelGrading("ensemble_v1", 10, 10, 0),), "regrade")
ONE_WRONG = re.compile(r"\b1 (dates|games|backfills)\b")


def test_a_plan_of_one_date_of_one_game_says_date_and_game_in_the_singular() -> None:
    text, blocks = plan_view(RegradePlan(DAY, DAY, (ONE_GAME,), 1_000_000))
    said = str([b.to_dict() for b in blocks])
    assert "1 of 1 date" in said and "Start (1 date)" in said and "1 game " in said
    assert not ONE_WRONG.search(said + text)


def test_a_plan_of_two_dates_says_dates_in_the_plural() -> None:
    other = DatePlan(date(2026, 1, 30), 2, 2, ONE_GAME.models, "regrade")
    _, blocks = plan_view(RegradePlan(DAY, other.day, (ONE_GAME, other), 1_000_000))
    said = str([b.to_dict() for b in blocks])
    assert "2 of 2 dates" in said and "Start (2 dates)" in said and "2 games" in said
