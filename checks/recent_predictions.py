"""Today's predictions per model, once the day's generation hour has passed (ET): players of the
slate predicted, and active rows per player."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from adapters.warehouse import Query, Row
from checks.base import CheckContext, WarehouseCheck, floor_status, pct, render_action
from checks.result import CheckResult, Status, Window, worst
from config import RecentPredictionsConfig
from infra.wording import noun, plural

SQL = """
WITH games AS (
  SELECT COUNT(*) AS games FROM $schedule WHERE game_date = @game_date
),
preds AS (
  SELECT system_id,
         COUNT(*) AS predictions,
         COUNT(DISTINCT CONCAT(game_id, '/', player_lookup)) AS players
  FROM $predictions
  WHERE game_date = @game_date AND system_id IN UNNEST(@models) AND is_active
  GROUP BY system_id
)
SELECT games.games, preds.system_id, preds.predictions, preds.players
FROM games LEFT JOIN preds ON TRUE
ORDER BY preds.system_id
"""


class RecentPredictions(WarehouseCheck):
    name = "recent_predictions"

    def __init__(self, config: RecentPredictionsConfig) -> None:
        self.config = config

    @property
    def models(self) -> list[str]:
        """The main model first, then the others, each once."""
        return list(dict.fromkeys([self.config.model, *self.config.other_models]))

    def query(self, ctx: CheckContext) -> Query:
        tables = ctx.profile.tables
        return Query(
            sql=ctx.sql(SQL),
            params={"game_date": ctx.as_of, "models": self.models},
            tables=(tables.predictions, tables.schedule),
        )

    def expected(self, games: int) -> int:
        """Predictions a slate of `games` should have: one per active player."""
        return games * self.config.players_per_game

    def evaluate(self, data: list[Row], ctx: CheckContext) -> CheckResult:
        """Rows: the day's games, and per model with active rows its rows and distinct players
        (a row without a system_id is the main model's; without players, its rows count)."""
        c = self.config
        day = ctx.as_of
        games = int(data[0]["games"]) if data else 0
        expected = self.expected(games)
        template = CheckResult(
            name=self.name,
            status=Status.NOT_APPLICABLE,
            detail="",
            unit="%",
            threshold=f"OK ≥ {c.ok_min:g}%, WARN ≥ {c.warn_min:g}% of {expected} expected "
            f"({plural(games, 'game')} × {plural(c.players_per_game, 'player')}) per model; "
            f"≤ {c.max_rows_per_player:g} rows/player",
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
        written = {
            row.get("system_id", c.model): row for row in data if row.get("system_id", c.model)
        }
        parts = [self.judge(model, written.get(model), expected) for model in self.models]
        main = parts[0]
        status = worst(*(Status(part["status"]) for part in parts))
        detail = (
            f"{main['players']} of {expected} expected active {c.model} "
            f"{noun(expected, 'prediction')} ({main['players_pct']:.0f}%) for "
            f"{plural(games, 'game')} on {day}"
        )
        detail += "".join(_trouble(part, c, part is main) for part in parts)
        failing = [part["model"] for part in parts if part["status"] != Status.OK.value]
        commands = [render_action(c.action, date=day.isoformat(), model=m) for m in failing]
        return replace(
            template,
            status=status,
            value=main["players_pct"],
            detail=detail,
            action="\n".join(command for command in commands if command) or None,
            breakdown=parts,
        )

    def judge(self, model: str, row: Row | None, expected: int) -> dict[str, Any]:
        """One model: players of the slate predicted, and active rows per player."""
        c = self.config
        rows = int(row["predictions"] or 0) if row else 0
        players = int(row.get("players", rows) or 0) if row else 0
        share = pct(players, expected)
        per_player = round(rows / players, 2) if players else None
        status = floor_status(share, c.ok_min, c.warn_min)
        if per_player is not None and per_player > c.max_rows_per_player:
            status = worst(status, Status.WARN)
        return {
            "model": model,
            "status": status.value,
            "players": players,
            "expected": expected,
            "players_pct": share,
            "rows": rows,
            "rows_per_player": per_player,
        }


def _trouble(part: dict[str, Any], config: RecentPredictionsConfig, is_main: bool) -> str:
    """What the detail adds for a model: another model's shortfall, any model's duplicate rows."""
    said = ""
    if not is_main and part["players_pct"] < config.ok_min:
        said += f"; {part['model']}: {part['players']} of {part['expected']} ({part['players_pct']:.0f}%)"
    per_player = part["rows_per_player"]
    if per_player is not None and per_player > config.max_rows_per_player:
        said += f"; {part['model']} has {per_player:g} active rows per player"
    return said
