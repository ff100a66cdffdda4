"""Phase 3 is judged only on finished games: before they end it does not apply."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from checks.phase3_completion import Phase3Completion
from checks.result import Status
from opsbot.profile import load_profile
from tests.conftest import ROOT
from tests.unit.doubles import context


def judge(rows: list[dict[str, Any]]) -> Any:
    profile = load_profile(ROOT / "opsbot.toml")
    ctx = context(profile, now=datetime(2026, 2, 5, 4, tzinfo=UTC))
    return Phase3Completion(profile.checks.phase3_completion).evaluate(rows, ctx)


def test_games_still_running_make_phase3_not_applicable() -> None:
    result = judge([{"games": 9, "final_games": 7, "processor_name": None}])
    assert result.status is Status.NOT_APPLICABLE
    assert "7 of 9 games" in result.detail


def test_missing_processors_are_named_with_the_command_to_investigate() -> None:
    rows = [
        {"games": 9, "final_games": 9, "processor_name": n}
        for n in (
            "player_game_summary",
            "team_offense_game_summary",
            "upcoming_player_game_context",
        )
    ]
    result = judge(rows)
    assert result.status is Status.WARN
    assert "team_defense_game_summary, upcoming_team_game_context" in result.detail
    assert result.action and "gcloud logging read" in result.action
