"""Phase 3 judges each processor's record_count, not only its `success`: against the rows the
slate implies and against its own recent game days."""

from __future__ import annotations

from datetime import date
from typing import Any

from checks.phase3_completion import Phase3Completion
from checks.result import Status
from config import Phase3CompletionConfig
from tests.unit.doubles import context

AS_OF = date(2026, 1, 14)  # phase 3 is judged on yesterday's games
PER_GAME = {
    "player_game_summary": 26,
    "team_offense_game_summary": 2,
    "team_defense_game_summary": 2,
    "upcoming_player_game_context": 26,
    "upcoming_team_game_context": 2,
}


def rows(
    today: dict[str, int | None],
    games: int = 5,
    usual: dict[str, float] | None = None,
    baseline_days: int = 28,
) -> list[dict[str, Any]]:
    """The check's SQL rows: `today`'s reported processors with their record_counts, each with
    its median rows per game over its recent game days (`usual`, else the slate's figure)."""
    per_game = PER_GAME if usual is None else {**PER_GAME, **usual}
    return [
        {
            "games": games,
            "final_games": games,
            "processor_name": name,
            "record_count": count,
            "baseline_per_game": per_game[name],
            "baseline_days": baseline_days,
        }
        for name, count in today.items()
    ]


def full(games: int = 5) -> dict[str, int | None]:
    return {name: games * per_game for name, per_game in PER_GAME.items()}


def judge(data: list[dict[str, Any]], config: Phase3CompletionConfig | None = None) -> Any:
    check = Phase3Completion(config or Phase3CompletionConfig())
    return check.evaluate(data, context(as_of=AS_OF))


def test_every_processor_with_its_usual_rows_is_ok() -> None:
    result = judge(rows(full()))
    assert result.status is Status.OK and result.value == 5.0
    assert all(row["state"] == "complete" for row in result.breakdown)


def test_a_success_that_wrote_nothing_is_critical_though_all_five_reported() -> None:
    today = {**full(), "player_game_summary": 0}
    result = judge(rows(today))
    assert result.status is Status.CRITICAL
    assert result.value == 4.0  # reported, but not complete
    assert "player_game_summary reported success but wrote 0 of 130 expected rows" in result.detail
    part = result.breakdown[0]
    assert (part["state"], part["rows"], part["expected_rows"], part["baseline_rows"]) == (
        "empty",
        0,
        130,
        130,
    )
    assert result.action is None  # the minimal profile suggests no command; the breakdown names it


def test_a_partial_write_warns_and_a_night_a_little_under_the_slate_does_not() -> None:
    today = {**full(), "upcoming_player_game_context": 52}  # 40% of 5 games × 26
    result = judge(rows(today))
    assert result.status is Status.WARN and result.value == 5.0
    assert "upcoming_player_game_context wrote 52 of 130 expected rows (40%)" in result.detail
    assert result.breakdown[3]["state"] == "short"
    normal = judge(rows({**full(), "player_game_summary": 110}))  # DNPs: 85% of 130
    assert normal.status is Status.OK and normal.breakdown[0]["state"] == "complete"


def test_its_own_baseline_judges_when_it_writes_more_than_the_slate_implies() -> None:
    # The slate says 2 rows a game, but this processor has written 26 a game for weeks.
    today = {**full(), "team_offense_game_summary": 20}  # 2x the slate's 10, 15% of its usual
    result = judge(rows(today, usual={"team_offense_game_summary": 26}))
    assert result.status is Status.WARN
    part = result.breakdown[1]
    assert (part["expected_rows"], part["baseline_rows"], part["state"]) == (10, 130, "short")


def test_a_processor_without_a_slate_figure_is_judged_by_its_baseline_alone() -> None:
    config = Phase3CompletionConfig(rows_per_game={})
    assert judge(rows({**full(), "player_game_summary": 0}), config).status is Status.CRITICAL
    # ...and with no baseline yet (under 7 earlier game days) nothing judges its volume
    early = rows({**full(), "player_game_summary": 0}, baseline_days=3)
    assert judge(early, config).status is Status.OK


def test_a_processor_that_reports_no_record_count_is_not_judged_on_volume() -> None:
    result = judge(rows({**full(), "player_game_summary": None}))
    assert result.status is Status.OK
    assert result.breakdown[0] == {
        "processor": "player_game_summary",
        "state": "complete",
        "complete": True,
        "rows": None,
        "expected_rows": 130,
        "baseline_rows": 130,
    }


def test_the_baseline_is_per_game_so_a_small_slate_is_not_short() -> None:
    config = Phase3CompletionConfig(rows_per_game={})
    result = judge(rows(full(games=1), games=1), config)  # a one-game night: 26 rows is usual
    assert result.status is Status.OK
    assert result.breakdown[0]["baseline_rows"] == 26
