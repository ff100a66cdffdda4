"""Yesterday's final games (ET) with BigDataBall play-by-play: present, and with a game's events."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from adapters.warehouse import Query, Row
from checks.base import CheckContext, WarehouseCheck, floor_status, pct, render_action
from checks.result import CheckResult, Status, Window
from checks.volume import baseline, baseline_window_start
from config import BdbCoverageConfig

SQL = """
WITH events AS (
  SELECT game_date, game_id, COUNT(*) AS events
  FROM $bdb_play_by_play
  WHERE game_date BETWEEN @window_start AND @game_date
  GROUP BY game_date, game_id
),
games AS (
  SELECT s.game_date, s.game_id, s.game_status, COALESCE(e.events, 0) AS events
  FROM $schedule s
  LEFT JOIN events e ON e.game_id = s.game_id AND e.game_date = s.game_date
  WHERE s.game_date BETWEEN @window_start AND @game_date
),
covered_days AS (
  SELECT game_date, ROW_NUMBER() OVER (ORDER BY game_date DESC) AS recency
  FROM games
  WHERE game_date < @game_date AND game_status = 3 AND events > 0
  GROUP BY game_date
),
recent AS (
  SELECT g.events
  FROM games g
  JOIN covered_days c ON c.game_date = g.game_date
  WHERE c.recency <= @baseline_days AND g.game_status = 3 AND g.events > 0
),
usual AS (
  SELECT MAX(median) AS usual_events
  FROM (SELECT PERCENTILE_CONT(events, 0.5) OVER () AS median FROM recent)
),
span AS (
  SELECT COUNT(*) AS baseline_days FROM covered_days WHERE recency <= @baseline_days
)
SELECT g.game_id, g.game_status, g.events, usual.usual_events, span.baseline_days
FROM games g CROSS JOIN usual CROSS JOIN span
WHERE g.game_date = @game_date
ORDER BY g.game_id
"""

FINAL = 3


class BdbCoverage(WarehouseCheck):
    name = "bdb_coverage"

    def __init__(self, config: BdbCoverageConfig) -> None:
        self.config = config

    def query(self, ctx: CheckContext) -> Query:
        tables = ctx.profile.tables
        return Query(
            sql=ctx.sql(SQL),
            params={
                "game_date": ctx.yesterday,
                "window_start": baseline_window_start(
                    ctx.yesterday, self.config.baseline_game_days
                ),
                "baseline_days": self.config.baseline_game_days,
            },
            tables=(tables.bdb_play_by_play, tables.schedule),
        )

    def threshold_text(self) -> str:
        c = self.config
        return (
            f"OK ≥ {c.ok_min:g}%, WARN ≥ {c.warn_min:g}%; a game counts at "
            f"≥ {c.partial_events_share:.0%} of usual events"
        )

    def evaluate(self, data: list[Row], ctx: CheckContext) -> CheckResult:
        """Rows: the judged day's games with their events, each with the usual game's events
        (the median covered final game over the recent game days) and how many days that is."""
        c = self.config
        day = ctx.yesterday
        final = [row for row in data if row["game_status"] == FINAL]
        template = CheckResult(
            name=self.name,
            status=Status.NOT_APPLICABLE,
            detail="",
            unit="%",
            threshold=self.threshold_text(),
            window=Window.day(day),
        )
        if not data:
            return replace(template, detail=f"no games on {day}")
        if not final:
            return replace(template, detail=f"no final games yet on {day}")
        usual = baseline(data[0]["usual_events"], data[0]["baseline_days"], c)
        enough = max(1.0, c.partial_events_share * usual) if usual else 1.0
        parts = [_game(row, usual, enough) for row in final]
        missing = [p["game_id"] for p in parts if p["state"] == "missing"]
        partial = [p for p in parts if p["state"] == "partial"]
        covered = len(parts) - len(missing) - len(partial)
        value = pct(covered, len(parts))
        status = floor_status(value, c.ok_min, c.warn_min)
        detail = f"{covered} of {len(parts)} final games on {day} have play-by-play"
        if usual:
            detail += f" (a usual game has {usual:g} events)"
        if missing:
            detail += "; missing: " + ", ".join(missing)
        if partial:
            detail += "; partial: " + ", ".join(
                f"{p['game_id']} ({p['events']} events)" for p in partial
            )
        action = None
        if status is not Status.OK:
            short = missing + [p["game_id"] for p in partial]
            action = render_action(c.action, date=day.isoformat(), missing=",".join(short))
        return replace(
            template,
            status=status,
            value=value,
            detail=detail,
            action=action,
            breakdown=parts,
        )


def _game(row: Row, usual: float | None, enough: float) -> dict[str, Any]:
    """One final game: its events against a usual game's, and whether it counts as covered."""
    events = int(row["events"])
    state = "covered" if events >= enough else "partial" if events else "missing"
    return {
        "game_id": str(row["game_id"]),
        "covered": state == "covered",
        "state": state,
        "events": events,
        "expected_events": None if usual is None else round(usual),
    }
