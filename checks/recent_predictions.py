"""Today's predictions of the main model, once the day's generation hour has passed (ET)."""

from __future__ import annotations

from dataclasses import replace

from adapters.warehouse import Query, Row
from checks.base import CheckContext, WarehouseCheck, render_action
from checks.result import CheckResult, Status, Window
from config import RecentPredictionsConfig

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

    def thresholds(self, games: int) -> tuple[float, float]:
        """(ok_above, warn_above), scaled down on a slate lighter than full_slate_games."""
        c = self.config
        scale = min(1.0, games / c.full_slate_games)
        return c.ok_above * scale, c.warn_above * scale

    def evaluate(self, data: list[Row], ctx: CheckContext) -> CheckResult:
        c = self.config
        day = ctx.as_of
        games = int(data[0]["games"]) if data else 0
        predictions = int(data[0]["predictions"]) if data else 0
        ok_above, warn_above = self.thresholds(max(games, 1))
        template = CheckResult(
            name=self.name,
            status=Status.NOT_APPLICABLE,
            detail="",
            threshold=f"OK > {ok_above:g}, WARN > {warn_above:g} ({c.model}, {games} games)",
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
        if predictions > ok_above:
            status = Status.OK
        elif predictions > warn_above:
            status = Status.WARN
        else:
            status = Status.CRITICAL
        action = None
        if status is not Status.OK:
            action = render_action(c.action, date=day.isoformat(), model=c.model)
        return replace(
            template,
            status=status,
            value=float(predictions),
            detail=f"{predictions} active {c.model} predictions for {games} games on {day}",
            action=action,
        )
