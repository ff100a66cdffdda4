"""Per model: how many gradable predictions on finished game dates were graded (two definitions)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from adapters.warehouse import Query, Row
from checks.base import CheckContext, WarehouseCheck, floor_status, pct, render_action
from checks.result import CheckResult, Status, Window, worst
from checks.volume import baseline, baseline_window_start, points_above_status
from config import GradingCompletenessConfig
from infra.wording import plural

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
),
voids AS (
  SELECT system_id, game_date, COUNT(*) AS graded_rows, COUNTIF(is_voided) AS voided
  FROM $prediction_accuracy
  WHERE game_date BETWEEN @baseline_start AND @end
  GROUP BY system_id, game_date
),
voided_recent AS (
  SELECT system_id, 100 * voided / graded_rows AS voided_pct,
         ROW_NUMBER() OVER (PARTITION BY system_id ORDER BY game_date DESC) AS recency
  FROM voids
  WHERE game_date < @start AND graded_rows > 0
),
voided_baseline AS (
  SELECT system_id, MAX(median) AS voided_baseline_pct, COUNT(*) AS voided_baseline_days
  FROM (
    SELECT system_id,
           PERCENTILE_CONT(voided_pct, 0.5) OVER (PARTITION BY system_id) AS median
    FROM voided_recent
    WHERE recency <= @baseline_days
  )
  GROUP BY system_id
),
judged AS (
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
)
SELECT j.system_id, j.game_date, j.gradable, j.graded, j.with_actuals, v.graded_rows, v.voided,
       b.voided_baseline_pct, b.voided_baseline_days
FROM judged j
LEFT JOIN voids v ON v.system_id = j.system_id AND v.game_date = j.game_date
LEFT JOIN voided_baseline b ON b.system_id = j.system_id
ORDER BY j.system_id, j.game_date
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
                "baseline_start": baseline_window_start(
                    window.start, self.config.baseline_game_days
                ),
                "baseline_days": self.config.baseline_game_days,
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
        """Each finished date judged on its own: a model is as bad as its worst date.

        A date below the bar is that severity from the first day its grading is due (the day
        after its games) until it is graded or leaves the window; averaging over the window
        would dilute a day with no grading at all into an OK. Rows: per model and date, the
        gradable, graded and with-actuals counts, graded rows and voided ones, and the model's
        voided baseline (the median share of its graded dates before the window, and how many).
        """
        c = self.config
        window = self.window(ctx.as_of)
        threshold = (
            f"OK ≥ {c.ok_min:g}%, WARN ≥ {c.warn_min:g}% graded, per model and date; voided "
            f"< baseline +{c.voided_warn_points:g} pts (+{c.voided_critical_points:g} CRITICAL)"
        )
        if not data:
            return CheckResult(
                name=self.name,
                status=Status.NOT_APPLICABLE,
                detail=f"no gradable predictions on finished game dates in {window}",
                unit="%",
                threshold=threshold,
                window=window,
            )
        by_model: dict[str, list[Row]] = defaultdict(list)
        for row in data:
            by_model[row["system_id"]].append(row)
        dates = {row["game_date"] for row in data}
        breakdown = [self._model(model, rows) for model, rows in sorted(by_model.items())]
        worst_model = min(breakdown, key=lambda b: (b["worst_date_pct"], b["model"]))
        status = worst(*(Status(b["status"]) for b in breakdown))
        failing = [b for b in breakdown if b["status"] != Status.OK.value]
        detail = (
            f"lowest: {worst_model['model']} {worst_model['worst_date_pct']:.1f}% graded on "
            f"{worst_model['worst_date']} ({worst_model['with_actuals_pct']:.1f}% of its window "
            f"has actuals); {len(dates)} finished dates"
        )
        behind = [b for b in failing if b["dates_behind"]]
        if behind:
            detail += "; below target: " + ", ".join(
                f"{b['model']} on {_dates(b['dates_behind'])}" for b in behind
            )
        voided = [b for b in failing if b["dates_voided"]]
        if voided:
            detail += "; voided above baseline: " + ", ".join(
                f"{b['model']} on {_dates(b['dates_voided'])} (up to {b['voided_worst_pct']:.1f}% "
                f"against {b['voided_baseline_pct']:.1f}%)"
                for b in voided
            )
        ungraded = sorted({d for b in failing for d in b["dates_behind"] + b["dates_voided"]})
        return CheckResult(
            name=self.name,
            status=status,
            value=worst_model["worst_date_pct"],
            unit="%",
            threshold=threshold,
            window=window,
            detail=detail,
            action=self._action(ungraded) if ungraded else None,
            breakdown=breakdown,
        )

    def _model(self, model: str, rows: list[Row]) -> dict[str, Any]:
        c = self.config
        first = rows[0]
        voided_baseline = baseline(
            first.get("voided_baseline_pct"), first.get("voided_baseline_days"), c
        )
        per_date = sorted((row["game_date"], pct(row["graded"], row["gradable"])) for row in rows)
        worst_day, worst_pct = min(per_date, key=lambda d: (d[1], d[0]))
        gradable = sum(row["gradable"] for row in rows)
        graded = sum(row["graded"] for row in rows)
        actuals = sum(row["with_actuals"] for row in rows)
        with_voids = [row for row in rows if row.get("graded_rows")]
        voided_on = {row["game_date"]: pct(row["voided"], row["graded_rows"]) for row in with_voids}
        voided_status = {
            day: points_above_status(
                share, voided_baseline, c.voided_warn_points, c.voided_critical_points
            )
            for day, share in voided_on.items()
        }
        graded_rows = sum(row["graded_rows"] for row in with_voids)
        statuses = [floor_status(p, c.ok_min, c.warn_min) for _, p in per_date]
        return {
            "model": model,
            "status": worst(*statuses, *voided_status.values()).value,
            "worst_date": worst_day.isoformat(),
            "worst_date_pct": worst_pct,
            "gradable": gradable,
            "graded": graded,
            "graded_pct": pct(graded, gradable),
            "with_actuals_pct": pct(actuals, gradable),
            "dates_behind": [d.isoformat() for d, p in per_date if p < c.ok_min],
            "voided_pct": pct(sum(row["voided"] for row in with_voids), graded_rows)
            if graded_rows
            else None,
            "voided_worst_pct": max(voided_on.values(), default=None),
            "voided_baseline_pct": None if voided_baseline is None else round(voided_baseline, 1),
            "dates_voided": [
                d.isoformat() for d, st in sorted(voided_status.items()) if st is not Status.OK
            ],
        }

    def _action(self, days: list[str]) -> str | None:
        commands = [render_action(self.config.action, date=day) for day in days]
        return "\n".join(c for c in commands if c) or None


def _dates(days: list[str]) -> str:
    """A list of ISO dates, short: one, a range of consecutive ones, or a count."""
    if len(days) == 1:
        return days[0]
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    if (last - first).days + 1 == len(days):
        return f"{days[0]}..{days[-1][5:]}"
    return f"{plural(len(days), 'date')} ({days[0]}..{days[-1][5:]})"
