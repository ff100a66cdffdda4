"""The plan of a grading backfill: for each date, its games, predictions and grading, and
whether it is regraded or skipped (and why), with an estimate of the bytes grading will read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from adapters.warehouse import Query, Warehouse
from commands.errors import RequestError
from config import Profile

SQL = """
WITH days AS (
  SELECT game_date, COUNT(*) AS games, COUNTIF(game_status = 3) AS final_games
  FROM $schedule
  WHERE game_date BETWEEN @start AND @end
  GROUP BY game_date
),
preds AS (
  SELECT game_date, system_id, COUNT(*) AS predictions,
         COUNTIF(line_source IN UNNEST(@gradable_sources)) AS gradable
  FROM $predictions
  WHERE game_date BETWEEN @start AND @end AND is_active
  GROUP BY game_date, system_id
),
graded AS (
  SELECT game_date, system_id, COUNT(DISTINCT CONCAT(game_id, ':', player_lookup)) AS graded
  FROM $prediction_accuracy
  WHERE game_date BETWEEN @start AND @end
  GROUP BY game_date, system_id
)
SELECT d.game_date, d.games, d.final_games, p.system_id, p.predictions, p.gradable, g.graded
FROM days d
LEFT JOIN preds p ON p.game_date = d.game_date
LEFT JOIN graded g ON g.game_date = p.game_date AND g.system_id = p.system_id
ORDER BY d.game_date, p.system_id
"""
# What the grading function reads for the dates: the estimate's dry run.
READS = """
SELECT p.system_id, p.player_lookup, p.game_id, p.predicted_points, p.current_points_line,
       s.points
FROM $predictions p
JOIN $player_game_summary s
  ON s.game_id = p.game_id AND s.player_lookup = p.player_lookup AND s.game_date = p.game_date
WHERE p.game_date IN UNNEST(@dates) AND s.game_date IN UNNEST(@dates)
"""


@dataclass(frozen=True)
class ModelGrading:
    model: str
    predictions: int
    gradable: int
    graded: int

    @property
    def graded_pct(self) -> float:
        return round(100.0 * self.graded / self.gradable, 1) if self.gradable else 100.0


@dataclass(frozen=True)
class DatePlan:
    day: date
    games: int
    final_games: int
    models: tuple[ModelGrading, ...]
    action: str  # "regrade" or "skip"
    reason: str | None = None

    @property
    def regrade(self) -> bool:
        return self.action == "regrade"


@dataclass(frozen=True)
class RegradePlan:
    start: date
    end: date
    dates: tuple[DatePlan, ...]
    estimate_bytes: int
    include_graded: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def to_regrade(self) -> list[date]:
        return [d.day for d in self.dates if d.regrade]


def parse_range(words: list[str]) -> tuple[date, date]:
    """START [END] or START..END, as YYYY-MM-DD; a RequestError saying what is wrong."""
    text = " ".join(words).replace("..", " ").split()
    if not 1 <= len(text) <= 2:
        raise RequestError("give a date, or a start and an end: 2026-01-28 2026-02-03")
    try:
        days = [date.fromisoformat(t) for t in text]
    except ValueError:
        raise RequestError(f"not a date: {' '.join(text)} (use YYYY-MM-DD)") from None
    return days[0], days[-1]


def check_range(profile: Profile, start: date, end: date, today: date) -> None:
    if start > end:
        raise RequestError(f"the start {start} is after the end {end}")
    if end >= today:
        raise RequestError(
            f"{end} has not been played and graded yet: regrade dates before {today}"
        )
    count = (end - start).days + 1
    if count > profile.regrade.max_dates:
        raise RequestError(
            f"{count} dates is more than [regrade] max_dates ({profile.regrade.max_dates}): "
            "split the range"
        )


def plan_regrade(
    profile: Profile,
    warehouse: Warehouse,
    start: date,
    end: date,
    *,
    today: date,
    include_graded: bool,
    in_flight: Callable[[list[str]], dict[str, int]],
    estimate: Callable[[Query], int],
) -> RegradePlan:
    """What a backfill of [start, end] would do; nothing is published."""
    check_range(profile, start, end, today)
    tables = profile.tables
    sql = SQL
    from adapters.warehouse import bind_tables

    query = Query(
        sql=bind_tables(
            sql,
            {
                "schedule": tables.schedule,
                "predictions": tables.predictions,
                "prediction_accuracy": tables.prediction_accuracy,
            },
        ),
        params={
            "start": start,
            "end": end,
            "gradable_sources": list(profile.checks.grading_completeness.gradable_line_sources),
        },
        tables=(tables.schedule, tables.predictions, tables.prediction_accuracy),
    )
    rows = warehouse.run(query)
    by_day: dict[date, list[dict[str, Any]]] = {}
    for row in rows:
        by_day.setdefault(row["game_date"], []).append(row)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    busy = in_flight([d.isoformat() for d in days])
    planned = tuple(_date_plan(day, by_day.get(day, []), busy, include_graded) for day in days)
    chosen = [d.day.isoformat() for d in planned if d.regrade]
    bytes_read = 0
    if chosen:
        bytes_read = estimate(
            Query(
                sql=bind_tables(
                    READS,
                    {
                        "predictions": tables.predictions,
                        "player_game_summary": tables.player_game_summary,
                    },
                ),
                params={"dates": [date.fromisoformat(d) for d in chosen]},
                tables=(tables.predictions, tables.player_game_summary),
            )
        )
    return RegradePlan(start, end, planned, bytes_read, include_graded)


def _date_plan(
    day: date, rows: list[dict[str, Any]], busy: dict[str, int], include_graded: bool
) -> DatePlan:
    games = int(rows[0]["games"]) if rows else 0
    final = int(rows[0]["final_games"]) if rows else 0
    models = tuple(
        ModelGrading(
            r["system_id"], int(r["predictions"]), int(r["gradable"]), int(r["graded"] or 0)
        )
        for r in rows
        if r.get("system_id")
    )
    plan = DatePlan(day, games, final, models, "regrade")
    if not models:
        return _skip(plan, "no games" if not games else "no predictions")
    if final < games:
        return _skip(plan, f"games not final ({final} of {games})")
    if day.isoformat() in busy:
        return _skip(plan, f"already in flight in backfill #{busy[day.isoformat()]}")
    if not include_graded and all(m.graded >= m.gradable for m in models):
        return _skip(plan, "already fully graded (include graded dates to regrade it)")
    return plan


def _skip(plan: DatePlan, reason: str) -> DatePlan:
    return DatePlan(plan.day, plan.games, plan.final_games, plan.models, "skip", reason)
