"""Job causes: the job that makes a check's rows did not run, or ran only partly, for its dates.

A check whose breakdown lists the dates it is behind on (grading: per model, each date below its
bar) names a job that can be run again for them: a backfill of their range, which leaves out the
dates already fully graded (Regrade); its fix carries the dates, so its button counts those, not
every day between.
A part with nothing done on its worst date is a job that did not run; one with some done ran
partly. The backfills the store remembers for those dates are said with it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from checks.result import Cause, CauseKind, CheckResult, Fix, FixKind
from commands.health_causes.rank import Candidate, Strength
from commands.health_causes.records import Records
from config import Profile
from infra.wording import plural


def _days(days: list[str]) -> str:
    first, last = days[0], days[-1]
    return first if first == last else f"{first}..{last[5:]}"


def _part_name(part: dict[str, Any]) -> str:
    """What a breakdown row is about: its first text field (a model, a processor)."""
    return next((str(v) for k, v in part.items() if k != "status" and isinstance(v, str)), "")


def job_causes(result: CheckResult, profile: Profile, records: Records) -> list[Candidate]:
    """One cause for the parts that did not run on some date, one for those that ran partly."""
    behind = [
        part
        for part in result.breakdown or []
        if part.get("status") != "OK" and part.get("dates_behind")
    ]
    not_run = [p for p in behind if float(p.get("worst_date_pct") or 0) == 0]
    partly = [p for p in behind if p not in not_run]
    found = []
    for parts, strength, how in (
        (not_run, Strength.JOB_NOT_RUN, "did not run"),
        (partly, Strength.JOB_PARTIAL, "ran only partly"),
    ):
        if parts:
            found.append(Candidate(strength, _cause(result, profile, records, parts, how)))
    return found


def _cause(
    result: CheckResult,
    profile: Profile,
    records: Records,
    parts: list[dict[str, Any]],
    how: str,
) -> Cause:
    days = sorted({str(d) for p in parts for d in p["dates_behind"]})
    names = ", ".join(_part_name(p) for p in parts)
    worst = min(float(p.get("worst_date_pct") or 0) for p in parts)
    evidence = (
        f"{names}: {plural(len(days), 'date')} behind ({_days(days)}), {worst:g}% done on the "
        f"worst: the job that makes {result.name}'s rows {how} for "
        f"{'it' if len(days) == 1 else 'them'}"
    )
    if records.backfills is not None:  # only a store can say none was run
        backfills = records.backfills_of(days) or ["no backfill of them is recorded"]
        evidence += "; " + "; ".join(backfills)
    zone = ZoneInfo(profile.platform.game_timezone)
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    return Cause(
        kind=CauseKind.JOB,
        evidence=evidence,
        since=datetime.combine(first, time(0), zone),
        action=f"/regrade {first}" + (f" {last}" if last != first else ""),
        fix=Fix(
            FixKind.REGRADE, start=first, end=last, dates=tuple(date.fromisoformat(d) for d in days)
        ),
    )
