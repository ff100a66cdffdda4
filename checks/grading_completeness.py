"""Per model: how many gradable predictions on finished game dates were graded (two definitions)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from adapters.warehouse import Query, Row
from checks.base import CheckContext, WarehouseCheck, floor_status, pct, render_action
from checks.result import CheckResult, Status, Window, worst
from config import GradingCompletenessConfig

SQL = """
WITH final_dates AS (
  SELECT game_date
  FROM $schedule
  WHERE game_date BETWEEN @start AND @end
  GROUP BY game_date
  HAVING COUNTIF(game_status = 3) = COUNT(*)
),
gradable AS (
  SELECT p.system_id, p.game_date, p.game_id, p.player_lookup
  FROM $predictions p
  JOIN final_dates f ON f.game_date = p.game_date
  WHERE p.game_date BETWEEN @start AND @end
    AND p.is_active
    AND p.line_source IN UNNEST(@gradable_sources)
),
graded AS (
  SELECT DISTINCT system_id, game_date, game_id, player_lookup
  FROM $prediction_accuracy
  WHERE game_date BETWEEN @start AND @end
),
actuals AS (
  SELECT DISTINCT game_date, game_id, player_lookup
  FROM $player_game_summary
  WHERE game_date BETWEEN @start AND @end
)
SELECT g.system_id,
       g.game_date,
       COUNT(*) AS gradable,
       COUNT(gr.player_lookup) AS graded,
       COUNT(a.player_lookup) AS with_actuals
FROM gradable g
LEFT JOIN graded gr
  ON gr.system_id = g.system_id AND gr.game_date = g.game_date
 AND gr.game_id = g.game_id AND gr.player_lookup = g.player_lookup
LEFT JOIN actuals a
  ON a.game_date = g.game_date AND a.game_id = g.game_id AND a.player_lookup = g.player_lookup
GROUP BY g.system_id, g.game_date
ORDER BY g.system_id, g.game_date
"""


class GradingCompleteness(WarehouseCheck):
    name = "grading_completeness"

    def __init__(self, config: GradingCompletenessConfig) -> None:
        self.config = config

    def window(self, as_of: date) -> Window:
        return Window(as_of - timedelta(days=self.config.lookback_days), as_of - timedelta(days=1))

    def query(self, ctx: CheckContext) -> Query:
        window = self.window(ctx.as_of)
        tables = ctx.profile.tables
        return Query(
            sql=ctx.sql(SQL),
            params={
                "start": window.start,
                "end": window.end,
                "gradable_sources": list(self.config.gradable_line_sources),
            },
            tables=(
                tables.predictions,
                tables.prediction_accuracy,
                tables.player_game_summary,
                tables.schedule,
            ),
        )

    def evaluate(self, data: list[Row], ctx: CheckContext) -> CheckResult:
        c = self.config
        window = self.window(ctx.as_of)
        threshold = f"OK ≥ {c.ok_min:g}%, WARN ≥ {c.warn_min:g}% graded, per model"
        if not data:
            return CheckResult(
                name=self.name,
                status=Status.NOT_APPLICABLE,
                detail=f"no gradable predictions on finished game dates in {window}",
                unit="%",
                threshold=threshold,
                window=window,
            )
        totals: dict[str, dict[str, int]] = defaultdict(
            lambda: {"gradable": 0, "graded": 0, "actuals": 0}
        )
        behind: dict[str, list[date]] = defaultdict(list)
        dates: set[date] = set()
        for row in data:
            model, day = row["system_id"], row["game_date"]
            dates.add(day)
            totals[model]["gradable"] += row["gradable"]
            totals[model]["graded"] += row["graded"]
            totals[model]["actuals"] += row["with_actuals"]
            if pct(row["graded"], row["gradable"]) < c.ok_min:
                behind[model].append(day)
        breakdown: list[dict[str, Any]] = []
        for model in sorted(totals):
            t = totals[model]
            graded_pct = pct(t["graded"], t["gradable"])
            breakdown.append(
                {
                    "model": model,
                    "status": floor_status(graded_pct, c.ok_min, c.warn_min).value,
                    "gradable": t["gradable"],
                    "graded": t["graded"],
                    "graded_pct": graded_pct,
                    "with_actuals": t["actuals"],
                    "with_actuals_pct": pct(t["actuals"], t["gradable"]),
                    "dates_behind": [d.isoformat() for d in sorted(behind[model])],
                }
            )
        worst_row = min(breakdown, key=lambda b: b["graded_pct"])
        status = worst(*(Status(b["status"]) for b in breakdown))
        failing = [b for b in breakdown if b["status"] != Status.OK.value]
        detail = (
            f"lowest: {worst_row['model']} {worst_row['graded_pct']:.1f}% graded "
            f"({worst_row['with_actuals_pct']:.1f}% have actuals) over {len(dates)} finished dates"
        )
        if failing:
            detail += "; below target: " + ", ".join(
                f"{b['model']} {b['graded_pct']:.1f}%" for b in failing
            )
        ungraded = sorted({d for b in failing for d in b["dates_behind"]})
        return CheckResult(
            name=self.name,
            status=status,
            value=worst_row["graded_pct"],
            unit="%",
            threshold=threshold,
            window=window,
            detail=detail,
            action=self._action(ungraded) if ungraded else None,
            breakdown=breakdown,
        )

    def _action(self, days: list[str]) -> str | None:
        commands = [render_action(self.config.action, date=day) for day in days]
        return "\n".join(c for c in commands if c) or None
