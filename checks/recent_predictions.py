"""Today's predictions of the main model, once the day's generation hour has passed (ET)."""

from __future__ import annotations

from dataclasses import replace

from adapters.warehouse import Query, Row
from checks.base import CheckContext, WarehouseCheck, floor_status, pct, render_action
from checks.result import CheckResult, Status, Window
from config import RecentPredictionsConfig
from infra.wording import noun, plural

SQL = """
WITH games AS (
  SELECT COUNT(*) AS games FROM $schedule WHERE game_date = @game_date
),
preds AS (
  SELECT COUNT(*) AS predictions
  FROM $predictions
  WHERE game_date = @game_date AND system_id = @model AND is_active
)
SELECT games.games, preds.predictions FROM games CROSS JOIN preds
"""


class RecentPredictions(WarehouseCheck):
    name = "recent_predictions"

    def __init__(self, config: RecentPredictionsConfig) -> None:
        self.config = config

    def query(self, ctx: CheckContext) -> Query:
        tables = ctx.profile.tables
        return Query(
            sql=ctx.sql(SQL),
            params={"game_date": ctx.as_of, "model": self.config.model},
            tables=(tables.predictions, tables.schedule),
        )

    def expected(self, games: int) -> int:
        """Predictions a slate of `games` should have: one per active player."""
        return games * self.config.players_per_game

    def evaluate(self, data: list[Row], ctx: CheckContext) -> CheckResult:
        c = self.config
        day = ctx.as_of
        games = int(data[0]["games"]) if data else 0
        predictions = int(data[0]["predictions"]) if data else 0
        expected = self.expected(games)
        template = CheckResult(
            name=self.name,
            status=Status.NOT_APPLICABLE,
            detail="",
            unit="%",
            threshold=f"OK ≥ {c.ok_min:g}%, WARN ≥ {c.warn_min:g}% of {expected} expected "
            f"({plural(games, 'game')} × {plural(c.players_per_game, 'player')})",
            window=Window.day(day),
        )
        if games == 0:
            return replace(template, detail=f"no games on {day}")
        now = ctx.game_now
        if ctx.as_of_is_today and now.hour < c.generation_hour:
            return replace(
                template,
                detail=f"predictions are generated from {c.generation_hour:02d}:00 ET; "
                f"it is {now:%H:%M} ET",
            )
        share = pct(predictions, expected)
        status = floor_status(share, c.ok_min, c.warn_min)
        action = None
        if status is not Status.OK:
            action = render_action(c.action, date=day.isoformat(), model=c.model)
        return replace(
            template,
            status=status,
            value=share,
            detail=f"{predictions} of {expected} expected active {c.model} "
            f"{noun(expected, 'prediction')} ({share:.0f}%) for {plural(games, 'game')} on {day}",
            action=action,
        )
