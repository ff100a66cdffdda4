"""Which of the dates someone asked for (in a message) the /regrade modal prefills, which it
leaves out and why, and how its plan reads: the plan's own rules, applied date by date."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.views.regrade_modal import modal_view, plan_lines, planned_view, runs
from commands.errors import RequestError
from commands.regrade.plan import (
    Choice,
    DatePlan,
    ModelGrading,
    RangeError,
    RegradePlan,
    Why,
    check_range,
    choose,
    last_done,
    narrow,
)
from config import Profile
from opsbot.profile import load_profile
from store.backfill_views import BackfillDateView, BackfillState, BackfillView, DateState

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 2, 5)
MODELS = (ModelGrading("ensemble_v1", 10, 10, 0),)


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile(ROOT / "opsbot.toml")


def _limited(profile: Profile, max_dates: int) -> Profile:
    regrade = profile.regrade.model_copy(update={"max_dates": max_dates})
    return profile.model_copy(update={"regrade": regrade})


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _plan(
    skips: Mapping[date, tuple[Why, str, int | None]], first: date, last: date
) -> RegradePlan:
    dates = []
    for day in _days(first, last):
        why, reason, backfill = skips.get(day, (None, None, None))
        action = "skip" if why else "regrade"
        final = 3 if why is Why.NOT_FINAL else 5
        dates.append(DatePlan(day, 5, final, MODELS, action, reason, why, backfill))
    return RegradePlan(first, last, tuple(dates), 6_000_000)


def test_today_and_later_are_left_out_and_the_oldest_beyond_max_dates(profile: Profile) -> None:
    asked = [date(2026, 1, 8), *_days(date(2026, 1, 29), date(2026, 2, 6))]
    chosen = choose(_limited(profile, 7), asked, TODAY)
    assert chosen.span == (date(2026, 1, 29), date(2026, 2, 4))
    why = {o.day: o.why for o in chosen.left_out}
    assert why[TODAY] == "today's games, not played and graded yet"
    assert why[date(2026, 2, 6)] == "not played yet"
    assert why[date(2026, 1, 8)].startswith("too long before 2026-02-04")
    assert "at most 7 dates" in why[date(2026, 1, 8)]
    check_range(_limited(profile, 7), *chosen.span, TODAY)  # what it keeps, Start takes


def test_the_rules_are_those_start_applies(profile: Profile) -> None:
    with pytest.raises(RangeError) as late:
        check_range(profile, date(2026, 2, 1), TODAY, TODAY)
    assert late.value.field == "end" and isinstance(late.value, RequestError)
    assert choose(profile, [TODAY], TODAY).span is None
    with pytest.raises(RangeError, match="8 dates is more than") as long:
        check_range(_limited(profile, 7), date(2026, 1, 28), date(2026, 2, 4), TODAY)
    assert long.value.field == "start"


def test_narrowed_to_what_the_plan_regrades_the_rest_left_out_saying_why() -> None:
    first, last = date(2026, 1, 28), date(2026, 2, 4)
    plan = _plan(
        {
            first: (Why.GRADED, "already fully graded (…)", None),
            last: (Why.NOT_FINAL, "games not final (3 of 5)", None),
        },
        first,
        last,
    )
    narrowed = narrow(Choice(tuple(_days(first, last))), plan)
    assert narrowed.span == (date(2026, 1, 29), date(2026, 2, 3))
    assert [(o.day, o.why) for o in narrowed.left_out] == [
        (first, "already fully graded"),
        (last, "only 3 of 5 games final"),
    ]


def test_when_every_date_is_graded_they_stay_for_include_fully_graded_dates() -> None:
    first, last = date(2026, 1, 29), date(2026, 2, 3)
    graded = {d: (Why.GRADED, "already fully graded (…)", 3) for d in _days(first, last)}
    plan = _plan(graded, first, last)
    assert narrow(Choice((first, last)), plan).span == (first, last)
    said = "\n".join(plan_lines(plan))
    assert said.startswith("*Nothing to regrade* in 6 dates:")
    assert "• 2026-01-29..2026-02-03: already fully graded by backfill #3" in said
    assert "tick *Include fully graded dates*" in said
    view = planned_view(plan, Choice((first, last)), reason="", metadata="")
    assert view["submit"]["text"] == "Start" and view["close"]["text"] == "Cancel"


def test_a_modal_of_one_date_says_it_in_the_singular() -> None:
    plan = _plan({}, TODAY, TODAY)
    assert plan_lines(plan)[0] == "*1 of 1 date to regrade*: 2026-02-05"
    nothing = _plan({TODAY: (Why.NO_GAMES, "no games", None)}, TODAY, TODAY)
    assert plan_lines(nothing)[:2] == [
        "*Nothing to regrade* on 2026-02-05:",
        "• 2026-02-05: no games",
    ]
    view = planned_view(nothing, Choice((TODAY,)), reason="", metadata="")
    assert "submit" not in view and all(b["type"] != "input" for b in view["blocks"])


def test_the_checkbox_is_a_checkboxes_element_in_an_input_block_labelled_for_what_it_does() -> None:
    view = modal_view(date(2026, 1, 29), date(2026, 2, 3), include_graded=True)
    [graded] = [b for b in view["blocks"] if b.get("block_id") == "graded"]
    assert graded["type"] == "input" and graded["optional"] is True
    assert graded["label"]["text"] == "Fully graded dates"
    element = graded["element"]
    assert element["type"] == "checkboxes"
    assert element["initial_options"] == element["options"]
    assert element["options"][0]["text"]["text"] == "Include fully graded dates"


def test_runs_name_every_date_once() -> None:
    days = [date(2026, 1, 29), date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 2)]
    assert runs(days) == "2026-01-29..2026-01-31, 2026-02-02"


def test_the_backfill_that_graded_a_date_is_the_newest_that_finished_it() -> None:
    at = datetime(2026, 2, 5, tzinfo=UTC)

    def made(backfill: int, state: DateState) -> BackfillView:
        day = BackfillDateView(backfill, "2026-01-29", state, "c", None, None, None, None, "")
        return BackfillView(
            backfill, "U", "", False, BackfillState.DONE, 0, None, None, at, at, (day,)
        )

    newest_first = [made(3, DateState.FAILED), made(2, DateState.DONE), made(1, DateState.DONE)]
    assert last_done(newest_first, ["2026-01-29", "2026-01-30"]) == {"2026-01-29": 2}
