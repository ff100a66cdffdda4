"""Play-by-play is judged by each final game's events, not only by the game being present."""

from __future__ import annotations

from datetime import date
from typing import Any

from checks.bdb_coverage import BdbCoverage
from checks.result import Status
from config import BdbCoverageConfig
from tests.unit.doubles import context

AS_OF = date(2026, 1, 22)


def rows(
    today: list[int], usual: float | None = 460, baseline_days: int = 28
) -> list[dict[str, Any]]:
    """The check's SQL rows: yesterday's final games with their events, each with the usual
    game's events (the median covered game of the recent game days) and how many days."""
    return [
        {
            "game_id": f"0022500{i}",
            "game_status": 3,
            "events": events,
            "usual_events": usual,
            "baseline_days": baseline_days,
        }
        for i, events in enumerate(today, start=100)
    ]


def judge(data: list[dict[str, Any]]) -> Any:
    return BdbCoverage(BdbCoverageConfig()).evaluate(data, context(as_of=AS_OF))


def test_games_with_their_usual_events_are_covered() -> None:
    result = judge(rows([440, 470, 455, 500]))
    assert result.status is Status.OK and result.value == 100.0
    assert result.breakdown[0]["expected_events"] == 460


def test_a_game_cut_short_is_partial_and_not_covered() -> None:
    # 9 games present: the original counted 9 of 9. One has 38 events: a feed cut off.
    result = judge(rows([450] * 8 + [38]))
    assert result.status is Status.WARN and result.value == 88.9
    assert "8 of 9 final games" in result.detail
    assert "partial: 0022500108 (38 events)" in result.detail
    partial = result.breakdown[-1]
    assert (partial["state"], partial["covered"], partial["events"]) == ("partial", False, 38)


def test_many_thin_games_are_critical() -> None:
    result = judge(rows([450, 40, 35, 20, 10]))
    assert result.status is Status.CRITICAL and result.value == 20.0


def test_a_missing_game_is_missing_and_a_slow_game_still_counts() -> None:
    result = judge(rows([0, 300, 450, 450, 450, 450, 450, 450, 450, 450]))
    states = [row["state"] for row in result.breakdown]
    assert states[:2] == ["missing", "covered"]  # 300 of ~460: a slow game, not a partial feed
    assert "missing: 0022500100" in result.detail


def test_without_a_baseline_any_events_count_as_covered() -> None:
    result = judge(rows([450, 12], baseline_days=3))
    assert result.status is Status.OK
    assert result.breakdown[1]["expected_events"] is None
