"""Phase 3 processors complete for yesterday's finished games (ET)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from adapters.warehouse import Query, Row
from checks.base import CheckContext, WarehouseCheck, render_action
from checks.result import CheckResult, Status, Window
from config import Phase3CompletionConfig
from infra.wording import plural, verb

SQL = """
WITH games AS (
  SELECT COUNT(*) AS games, COUNTIF(game_status = 3) AS final_games
  FROM $schedule
  WHERE game_date = @game_date
),
done AS (
  SELECT DISTINCT processor_name
  FROM $phase_completions
  WHERE game_date = @game_date
    AND phase = @phase
    AND status = @success_status
    AND processor_name IN UNNEST(@expected)
)
SELECT games.games, games.final_games, done.processor_name
FROM games LEFT JOIN done ON TRUE
"""


class Phase3Completion(WarehouseCheck):
    name = "phase3_completion"

    def __init__(self, config: Phase3CompletionConfig) -> None:
        self.config = config

    def query(self, ctx: CheckContext) -> Query:
        tables = ctx.profile.tables
        return Query(
            sql=ctx.sql(SQL),
            params={
                "game_date": ctx.yesterday,
                "phase": self.config.phase,
                "success_status": self.config.success_status,
                "expected": list(self.config.expected_processors),
            },
            tables=(tables.phase_completions, tables.schedule),
        )

    def evaluate(self, data: list[Row], ctx: CheckContext) -> CheckResult:
        c = self.config
        day = ctx.yesterday
        expected = c.expected_processors
        games = int(data[0]["games"]) if data else 0
        final_games = int(data[0]["final_games"]) if data else 0
        done = {row["processor_name"] for row in data if row["processor_name"] is not None}
        missing = [name for name in expected if name not in done]
        template = CheckResult(
            name=self.name,
            status=Status.NOT_APPLICABLE,
            detail="",
            unit=f"/{len(expected)}",
            threshold=f"OK = {len(expected)}, WARN ≥ {c.warn_min}",
            window=Window.day(day),
        )
        if games == 0:
            return replace(template, detail=f"no games on {day}")
        if final_games < games:
            return replace(
                template,
                detail=_not_final(final_games, games, day),
            )
        count = len(expected) - len(missing)
        if not missing:
            status = Status.OK
        elif count >= c.warn_min:
            status = Status.WARN
        else:
            status = Status.CRITICAL
        processors = f"{count} of {plural(len(expected), 'processor')}"
        detail = f"{processors} complete for {plural(games, 'game')} on {day}"
        if missing:
            detail += "; missing: " + ", ".join(missing)
        action = None
        if missing:
            action = render_action(c.action, date=day.isoformat(), missing=",".join(missing))
        return replace(
            template,
            status=status,
            value=float(count),
            detail=detail,
            action=action,
            breakdown=[{"processor": name, "complete": name in done} for name in expected],
        )


def _not_final(final_games: int, games: int, day: date) -> str:
    """Why phase 3 is not due yet: "1 of 3 games on … is final", "the 1 game … is not final"."""
    if games == 1:
        return f"the 1 game on {day} is not final yet; phase 3 runs after it ends"
    final = f"{final_games} of {plural(games, 'game')} on {day} {verb(final_games, 'is', 'are')}"
    return f"{final} final; phase 3 runs after they end"
