"""Share of yesterday's final games (ET) that have BigDataBall play-by-play."""

from __future__ import annotations

from dataclasses import replace

from adapters.warehouse import Query, Row
from checks.base import CheckContext, WarehouseCheck, floor_status, pct, render_action
from checks.result import CheckResult, Status, Window
from config import BdbCoverageConfig

SQL = """
WITH covered AS (
  SELECT DISTINCT game_id FROM $bdb_play_by_play WHERE game_date = @game_date
)
SELECT s.game_id, s.game_status, c.game_id IS NOT NULL AS covered
FROM $schedule s
LEFT JOIN covered c ON c.game_id = s.game_id
WHERE s.game_date = @game_date
ORDER BY s.game_id
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
            params={"game_date": ctx.yesterday},
            tables=(tables.bdb_play_by_play, tables.schedule),
        )

    def evaluate(self, data: list[Row], ctx: CheckContext) -> CheckResult:
        c = self.config
        day = ctx.yesterday
        final = [row for row in data if row["game_status"] == FINAL]
        template = CheckResult(
            name=self.name,
            status=Status.NOT_APPLICABLE,
            detail="",
            unit="%",
            threshold=f"OK ≥ {c.ok_min:g}%, WARN ≥ {c.warn_min:g}%",
            window=Window.day(day),
        )
        if not data:
            return replace(template, detail=f"no games on {day}")
        if not final:
            return replace(
                template,
                detail=f"no final games yet on {day}",
            )
        missing = [str(row["game_id"]) for row in final if not row["covered"]]
        value = pct(len(final) - len(missing), len(final))
        status = floor_status(value, c.ok_min, c.warn_min)
        detail = (
            f"{len(final) - len(missing)} of {len(final)} final games on {day} have play-by-play"
        )
        if missing:
            detail += "; missing: " + ", ".join(missing)
        action = None
        if status is not Status.OK:
            action = render_action(c.action, date=day.isoformat(), missing=",".join(missing))
        return replace(
            template,
            status=status,
            value=value,
            detail=detail,
            action=action,
            breakdown=[
                {"game_id": row["game_id"], "covered": bool(row["covered"])} for row in final
            ],
        )
