"""The plan of a grading backfill: for each date, its games, predictions and grading, and
whether it is regraded or skipped (and why), with an estimate of the bytes grading will read."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from adapters.warehouse import Query, Warehouse
from commands.errors import RequestError
from config import Profile
from infra.wording import plural
from store.backfill_views import BackfillView, DateState

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


class Why(enum.StrEnum):
    """Why a date is skipped: each of the plan's rules."""

    NO_GAMES = "no games"
    NO_PREDICTIONS = "no predictions"
    NOT_FINAL = "games not final"
    IN_FLIGHT = "in flight"
    GRADED = "fully graded"


@dataclass(frozen=True)
class DatePlan:
    day: date
    games: int
    final_games: int
    models: tuple[ModelGrading, ...]
    action: str  # "regrade" or "skip"
    reason: str | None = None  # why it is skipped, with what to do about it
    why: Why | None = None
    backfill: int | None = None  # the one holding it (in flight) or that last graded it

    @property
    def regrade(self) -> bool:
        return self.action == "regrade"

    @property
    def skipped_because(self) -> str:
        """Why it is skipped, in a few words without brackets ("only 3 of 5 games final")."""
        if self.why is Why.GRADED:
            by = f" by backfill #{self.backfill}" if self.backfill else ""
            return f"already fully graded{by}"
        if self.why is Why.NOT_FINAL:
            return f"only {self.final_games} of {plural(self.games, 'game')} final"
        return self.reason or ""


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


class RangeError(RequestError):
    """A range refused before anything is read; `field` is the end of it that is wrong."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field  # "start" or "end"


def too_recent(day: date, today: date) -> bool:
    """The rule: a date is regraded once played and graded, so before `today` (the game day)."""
    return day >= today


def within_max(first: date, last: date, profile: Profile) -> bool:
    """The rule: a backfill spans at most [regrade] max_dates dates, first to last."""
    return (last - first).days + 1 <= profile.regrade.max_dates


def check_range(profile: Profile, start: date, end: date, today: date) -> None:
    """RangeError unless [start, end] may be planned: in order, played, within max_dates."""
    if start > end:
        raise RangeError(f"the start {start} is after the end {end}", "start")
    if too_recent(end, today):
        raise RangeError(
            f"{end} has not been played and graded yet: regrade dates before {today}", "end"
        )
    if not within_max(start, end, profile):
        count = (end - start).days + 1
        raise RangeError(
            f"{plural(count, 'date')} is more than [regrade] max_dates "
            f"({profile.regrade.max_dates}): split the range",
            "start",
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
    graded_by: Callable[[list[str]], dict[str, int]] = lambda days: {},
) -> RegradePlan:
    """What a backfill of [start, end] would do (`graded_by`: who last graded each date)."""
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
    named = [d.isoformat() for d in days]
    busy, graded = in_flight(named), graded_by(named)
    planned = tuple(
        _date_plan(day, by_day.get(day, []), busy, include_graded, graded) for day in days
    )
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
    day: date,
    rows: list[dict[str, Any]],
    busy: dict[str, int],
    include_graded: bool,
    graded_by: dict[str, int],
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
    named = day.isoformat()
    if not models:
        none = Why.NO_GAMES if not games else Why.NO_PREDICTIONS
        return _skip(plan, none, none.value)
    if final < games:
        return _skip(plan, Why.NOT_FINAL, f"games not final ({final} of {games})")
    if named in busy:
        held = busy[named]
        return _skip(plan, Why.IN_FLIGHT, f"already in flight in backfill #{held}", held)
    if not include_graded and all(m.graded >= m.gradable for m in models):
        by = graded_by.get(named)
        said = f"already fully graded{f' by backfill #{by}' if by else ''}"
        return _skip(plan, Why.GRADED, f"{said} (include graded dates to regrade it)", by)
    return plan


def _skip(plan: DatePlan, why: Why, reason: str, backfill: int | None = None) -> DatePlan:
    return DatePlan(
        plan.day, plan.games, plan.final_games, plan.models, "skip", reason, why, backfill
    )


@dataclass(frozen=True)
class LeftOut:
    """A date someone asked for (in a message) that a backfill will not take, and why."""

    day: date
    why: str


@dataclass(frozen=True)
class Choice:
    """The dates asked for, split: those to prefill (sorted) and those left out, each with why."""

    days: tuple[date, ...]
    left_out: tuple[LeftOut, ...] = ()

    @property
    def span(self) -> tuple[date, date] | None:
        return (self.days[0], self.days[-1]) if self.days else None


def choose(profile: Profile, asked: Iterable[date], today: date) -> Choice:
    """The dates `check_range` lets through (played; the newest within max_dates), and why not."""
    kept: list[date] = []
    left: list[LeftOut] = []
    for day in sorted(set(asked)):
        if too_recent(day, today):
            said = "today's games, not played and graded yet" if day == today else "not played yet"
            left.append(LeftOut(day, said))
        else:
            kept.append(day)
    newest = kept[-1] if kept else None
    if newest is not None:
        limit = profile.regrade.max_dates
        for day in [d for d in kept if not within_max(d, newest, profile)]:
            kept.remove(day)
            said = f"too long before {newest}: a backfill spans at most {plural(limit, 'date')}"
            left.append(LeftOut(day, f"{said} ([regrade] max_dates)"))
    return Choice(tuple(kept), tuple(sorted(left, key=lambda o: o.day)))


def narrow(choice: Choice, plan: RegradePlan) -> Choice:
    """Of `choice`'s dates, those the plan regrades, else those it skips as fully graded."""
    by_day = {d.day: d for d in plan.dates}
    planned = [by_day[d] for d in choice.days if d in by_day]
    kept = [d.day for d in planned if d.regrade] or [d.day for d in planned if d.why is Why.GRADED]
    left = [LeftOut(d.day, d.skipped_because) for d in planned if d.day not in kept]
    everything = sorted([*choice.left_out, *left], key=lambda o: o.day)
    return Choice(tuple(kept), tuple(everything))


def last_done(backfills: Sequence[BackfillView], days: Sequence[str]) -> dict[str, int]:
    """For each of `days`, the newest of `backfills` (newest first) that graded it."""
    wanted, found = set(days), dict[str, int]()
    for backfill in backfills:
        for day in backfill.dates:
            if day.state is DateState.DONE and day.game_date in wanted:
                found.setdefault(day.game_date, backfill.id)
    return found
