"""Share of feature-store rows with a Vegas line, judged against a floor and its own baseline."""

from __future__ import annotations

import statistics
from dataclasses import replace
from datetime import date, timedelta

from adapters.warehouse import Query, Row
from checks.base import CheckContext, WarehouseCheck, floor_status, pct, render_action
from checks.result import CheckResult, Status, Window, worst
from config import VegasLineCoverageConfig
from infra.wording import plural

SQL = """
WITH games AS (
  SELECT COUNT(*) AS games_on_day FROM $schedule WHERE game_date = @as_of
),
daily AS (
  SELECT game_date,
         COUNT(*) AS feature_rows,
         COUNTIF(features[SAFE_OFFSET(@line_index)] > 0) AS with_line
  FROM $feature_store
  WHERE game_date BETWEEN @window_start AND @as_of
  GROUP BY game_date
)
SELECT games.games_on_day, daily.game_date, daily.feature_rows, daily.with_line
FROM games LEFT JOIN daily ON TRUE
ORDER BY daily.game_date
"""


class VegasLineCoverage(WarehouseCheck):
    name = "vegas_line_coverage"

    def __init__(self, config: VegasLineCoverageConfig) -> None:
        self.config = config

    def window_start(self, as_of: date) -> date:
        # Calendar days enough to hold the baseline's game days across the longest break.
        return as_of - timedelta(days=self.config.baseline_game_days * 2 + 14)

    def query(self, ctx: CheckContext) -> Query:
        return Query(
            sql=ctx.sql(SQL),
            params={
                "as_of": ctx.as_of,
                "window_start": self.window_start(ctx.as_of),
                "line_index": self.config.line_feature_index,
            },
            tables=(ctx.profile.tables.feature_store, ctx.profile.tables.schedule),
        )

    def threshold_text(self) -> str:
        c = self.config
        return (
            f"OK ≥ {c.ok_min:g}%, WARN ≥ {c.warn_min:g}%; vs baseline: "
            f"−{c.baseline_warn_drop:.0%} WARN, −{c.baseline_critical_drop:.0%} CRITICAL"
        )

    def evaluate(self, data: list[Row], ctx: CheckContext) -> CheckResult:
        c = self.config
        games = int(data[0]["games_on_day"]) if data else 0
        daily = {
            row["game_date"]: pct(row["with_line"], row["feature_rows"])
            for row in data
            if row["game_date"] is not None and row["feature_rows"]
        }
        history_days = [day for day in sorted(daily) if day < ctx.as_of][-c.baseline_game_days :]
        history = [daily[day] for day in history_days]
        baseline = (
            round(statistics.median(history), 1)
            if len(history) >= c.baseline_min_game_days
            else None
        )
        window = Window(history_days[0] if history_days else ctx.as_of, ctx.as_of)
        template = CheckResult(
            name=self.name,
            status=Status.NOT_APPLICABLE,
            detail="",
            unit="%",
            threshold=self.threshold_text(),
            window=window,
        )
        if games == 0:
            return replace(template, detail=f"no games on {ctx.as_of}")
        now = ctx.game_now
        if ctx.as_of not in daily and ctx.as_of_is_today and now.hour < c.features_hour:
            return replace(
                template,
                baseline=baseline,
                detail=f"today's features are due from {c.features_hour:02d}:00 ET; "
                f"it is {now:%H:%M} ET",
            )
        if ctx.as_of not in daily:
            return replace(
                template,
                status=Status.CRITICAL,
                value=0.0,
                baseline=baseline,
                detail=f"no feature-store rows for the {plural(games, 'game')} on {ctx.as_of}",
                action=self._action(ctx.as_of),
            )
        value = daily[ctx.as_of]
        floor = floor_status(value, c.ok_min, c.warn_min)
        reasons = [] if floor is Status.OK else [f"below the {c.ok_min:g}% floor"]
        against_baseline = Status.OK
        if baseline:
            drop = 1 - value / baseline
            if drop >= c.baseline_critical_drop:
                against_baseline = Status.CRITICAL
            elif drop >= c.baseline_warn_drop:
                against_baseline = Status.WARN
            if against_baseline is not Status.OK:
                reasons.append(f"{drop:.0%} below the baseline")
        status = worst(floor, against_baseline)
        if baseline is None:
            base_text = f"no baseline yet ({len(history)} earlier game days)"
        else:
            base_text = f"baseline {baseline:.1f}% (median of {len(history)} game days)"
        detail = f"{value:.1f}% of rows on {ctx.as_of} have a Vegas line; {base_text}"
        if reasons:
            detail += "; " + " and ".join(reasons)
        recent = [
            {"game_date": day.isoformat(), "coverage_pct": daily[day]} for day in sorted(daily)[-7:]
        ]
        return replace(
            template,
            status=status,
            value=value,
            baseline=baseline,
            detail=detail,
            action=None if status is Status.OK else self._action(ctx.as_of),
            breakdown=recent,
        )

    def _action(self, day: date) -> str | None:
        return render_action(self.config.action, date=day.isoformat())
