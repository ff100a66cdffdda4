"""Phase 3 processors complete for yesterday's finished games (ET), each with the rows it should write."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from adapters.warehouse import Query, Row
from checks.base import CheckContext, WarehouseCheck, render_action
from checks.result import CheckResult, Status, Window, worst
from checks.volume import baseline, baseline_window_start, share_status
from config import Phase3CompletionConfig
from infra.wording import plural, verb

SQL = """
WITH days AS (
  SELECT game_date, COUNT(*) AS games, COUNTIF(game_status = 3) AS final_games
  FROM $schedule
  WHERE game_date BETWEEN @window_start AND @game_date
  GROUP BY game_date
),
runs AS (
  SELECT game_date, processor_name, record_count,
         ROW_NUMBER() OVER (
           PARTITION BY game_date, processor_name ORDER BY completed_at DESC
         ) AS newest
  FROM $phase_completions
  WHERE game_date BETWEEN @window_start AND @game_date
    AND phase = @phase
    AND status = @success_status
    AND processor_name IN UNNEST(@expected)
),
recent AS (
  SELECT r.processor_name, r.record_count / d.games AS per_game,
         ROW_NUMBER() OVER (PARTITION BY r.processor_name ORDER BY r.game_date DESC) AS recency
  FROM runs r
  JOIN days d ON d.game_date = r.game_date
  WHERE r.newest = 1 AND r.game_date < @game_date AND r.record_count IS NOT NULL
    AND d.games > 0 AND d.final_games = d.games
),
baseline AS (
  SELECT processor_name, MAX(median) AS baseline_per_game, COUNT(*) AS baseline_days
  FROM (
    SELECT processor_name,
           PERCENTILE_CONT(per_game, 0.5) OVER (PARTITION BY processor_name) AS median
    FROM recent
    WHERE recency <= @baseline_days
  )
  GROUP BY processor_name
)
SELECT d.games, d.final_games, r.processor_name, r.record_count,
       b.baseline_per_game, b.baseline_days
FROM days d
LEFT JOIN runs r ON r.game_date = d.game_date AND r.newest = 1
LEFT JOIN baseline b ON b.processor_name = r.processor_name
WHERE d.game_date = @game_date
ORDER BY r.processor_name
"""


@dataclass(frozen=True)
class Processor:
    """One expected processor on the judged day: did it report success, and with how many rows."""

    name: str
    reported: bool
    rows: int | None  # its newest success's record_count; None: it reports none
    slate_rows: float | None  # games × the profile's rows_per_game
    baseline_rows: float | None  # games × its median rows per game over recent game days
    volume: Status  # rows against the larger of the two expectations

    @property
    def complete(self) -> bool:
        """Reported success and wrote more than next to nothing."""
        return self.reported and self.volume is not Status.CRITICAL

    @property
    def expected_rows(self) -> float | None:
        known = [n for n in (self.slate_rows, self.baseline_rows) if n]
        return max(known) if known else None

    @property
    def state(self) -> str:
        if not self.reported:
            return "missing"
        return {Status.CRITICAL: "empty", Status.WARN: "short"}.get(self.volume, "complete")

    def to_row(self) -> dict[str, Any]:
        return {
            "processor": self.name,
            "state": self.state,
            "complete": self.complete,
            "rows": self.rows,
            "expected_rows": _whole(self.slate_rows),
            "baseline_rows": _whole(self.baseline_rows),
        }


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
                "window_start": baseline_window_start(
                    ctx.yesterday, self.config.baseline_game_days
                ),
                "baseline_days": self.config.baseline_game_days,
                "phase": self.config.phase,
                "success_status": self.config.success_status,
                "expected": list(self.config.expected_processors),
            },
            tables=(tables.phase_completions, tables.schedule),
        )

    def threshold_text(self) -> str:
        c = self.config
        n = len(c.expected_processors)
        return (
            f"OK = {n}, WARN ≥ {c.warn_min}; rows ≥ {c.volume_warn_share:.0%} of expected, "
            f"< {c.volume_critical_share:.0%} CRITICAL"
        )

    def evaluate(self, data: list[Row], ctx: CheckContext) -> CheckResult:
        """Rows: the judged day's games, and one per processor that reported success, with its
        record_count and its baseline (the median of its rows per game over its recent game
        days, and how many game days that is)."""
        c = self.config
        day = ctx.yesterday
        games = int(data[0]["games"]) if data else 0
        final_games = int(data[0]["final_games"]) if data else 0
        template = CheckResult(
            name=self.name,
            status=Status.NOT_APPLICABLE,
            detail="",
            unit=f"/{len(c.expected_processors)}",
            threshold=self.threshold_text(),
            window=Window.day(day),
        )
        if games == 0:
            return replace(template, detail=f"no games on {day}")
        if final_games < games:
            return replace(template, detail=_not_final(final_games, games, day))
        reported = {row["processor_name"]: row for row in data if row["processor_name"] is not None}
        parts = [self.judge(name, reported.get(name), games) for name in c.expected_processors]
        count = sum(part.complete for part in parts)
        status = worst(self._count_status(count), *(part.volume for part in parts))
        detail = f"{count} of {plural(len(parts), 'processor')} complete for {plural(games, 'game')} on {day}"
        missing = [part.name for part in parts if part.state == "missing"]
        if missing:
            detail += "; missing: " + ", ".join(missing)
        detail += "".join(_low_volume(part) for part in parts)
        failing = [part.name for part in parts if part.state != "complete"]
        action = None
        if failing:
            action = render_action(c.action, date=day.isoformat(), missing=",".join(failing))
        return replace(
            template,
            status=status,
            value=float(count),
            detail=detail,
            action=action,
            breakdown=[part.to_row() for part in parts],
        )

    def judge(self, name: str, row: Row | None, games: int) -> Processor:
        """One processor (`row`: its success, or None) against the slate and its baseline."""
        c = self.config
        per_game = c.rows_per_game.get(name)
        slate_rows = games * per_game if per_game else None
        rate = (
            None
            if row is None
            else baseline(row.get("baseline_per_game"), row.get("baseline_days"), c)
        )
        baseline_rows = games * rate if rate else None
        rows = None if row is None else row.get("record_count")
        volume = Status.OK
        if rows is not None:
            volume = worst(
                *(
                    share_status(rows, expected, c.volume_warn_share, c.volume_critical_share)
                    for expected in (slate_rows, baseline_rows)
                )
            )
        count = None if rows is None else int(rows)
        return Processor(name, row is not None, count, slate_rows, baseline_rows, volume)

    def _count_status(self, count: int) -> Status:
        if count == len(self.config.expected_processors):
            return Status.OK
        return Status.WARN if count >= self.config.warn_min else Status.CRITICAL


def _low_volume(part: Processor) -> str:
    """What the detail says of a processor that reported success with too few rows."""
    expected = part.expected_rows
    if part.state not in ("empty", "short") or not expected:
        return ""
    if part.state == "empty":
        return (
            f"; {part.name} reported success but wrote {part.rows} of {expected:.0f} expected rows"
        )
    share = 100 * (part.rows or 0) / expected
    return f"; {part.name} wrote {part.rows} of {expected:.0f} expected rows ({share:.0f}%)"


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


def _not_final(final_games: int, games: int, day: date) -> str:
    """Why phase 3 is not due yet: "1 of 3 games on … is final", "the 1 game … is not final"."""
    if games == 1:
        return f"the 1 game on {day} is not final yet; phase 3 runs after it ends"
    final = f"{final_games} of {plural(games, 'game')} on {day} {verb(final_games, 'is', 'are')}"
    return f"{final} final; phase 3 runs after they end"
