"""Every day of the sandbox season, every check, against the planted incident calendar.

A check must alarm on exactly the days whose window holds a planted incident, at the planted
severity, and never elsewhere (docs/sandbox.md, "Signal quality"). A day with no alarm may be OK
or NOT_APPLICABLE (no games); ERROR is never right: the platform did not cause one.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from checks.result import Status, worst
from config import Profile
from tests.conftest import run_health

SEASON_START, TODAY = date(2025, 10, 21), date(2026, 2, 5)
WARN, CRIT = Status.WARN, Status.CRITICAL
# check → (first game date, last game date, severity) as docs/sandbox.md plants them
PLANTED: dict[str, list[tuple[date, date, Status]]] = {
    "vegas_line_coverage": [
        (date(2026, 1, 26), date(2026, 2, 1), CRIT),
        (date(2026, 2, 2), date(2026, 2, 2), WARN),
    ],
    "grading_completeness": [
        (date(2026, 1, 28), date(2026, 2, 3), CRIT),  # the ensembles, ungraded
        (date(2026, 1, 10), date(2026, 1, 16), WARN),  # catboost_v8 at 60%
    ],
    "phase3_completion": [
        (date(2025, 12, 10), date(2025, 12, 10), CRIT),
        (date(2026, 1, 13), date(2026, 1, 13), CRIT),  # player_game_summary: success, 0 rows
        (date(2026, 1, 15), date(2026, 1, 15), WARN),
    ],
    "bdb_coverage": [
        (date(2026, 1, 20), date(2026, 1, 20), WARN),
        (date(2026, 1, 21), date(2026, 1, 21), CRIT),
    ],
    "recent_predictions": [
        (date(2026, 1, 8), date(2026, 1, 8), WARN),
        (date(2026, 1, 9), date(2026, 1, 9), CRIT),
    ],
}


def game_dates_judged(check: str, as_of: date) -> tuple[date, date]:
    """The game dates a check looks at when run for `as_of` (docs/sandbox.md says why)."""
    if check == "grading_completeness":  # the last 7 finished dates: due the day after
        return as_of - timedelta(days=7), as_of - timedelta(days=1)
    if check in ("phase3_completion", "bdb_coverage"):  # yesterday's games, processed overnight
        return as_of - timedelta(days=1), as_of - timedelta(days=1)
    return as_of, as_of  # today's features and predictions


def expected_alarm(check: str, as_of: date) -> Status | None:
    first, last = game_dates_judged(check, as_of)
    hit = [s for start, end, s in PLANTED[check] if start <= last and end >= first]
    return worst(*hit) if hit else None


def _months() -> list[tuple[date, date]]:
    spans, start = [], SEASON_START
    while start <= TODAY:
        following = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        spans.append((start, min(following - timedelta(days=1), TODAY)))
        start = following
    return spans


@pytest.mark.parametrize(("first", "last"), _months(), ids=lambda d: d.isoformat()[:7])
async def test_every_day_alarms_exactly_where_an_incident_is_planted(
    profile: Profile, warehouse: Any, first: date, last: date
) -> None:
    wrong = []
    day = first
    while day <= last:
        report = await run_health(profile, warehouse, day)
        for result in report.results:
            expected = expected_alarm(result.name, day)
            if expected is None:
                if result.status not in (Status.OK, Status.NOT_APPLICABLE):
                    wrong.append(f"{day} {result.name}: {result.status.value}, nothing planted")
            elif result.status is not expected:
                wrong.append(
                    f"{day} {result.name}: {result.status.value}, planted {expected.value}"
                )
        day += timedelta(days=1)
    assert not wrong, "\n".join(wrong)


def test_the_calendar_itself_has_every_planted_incident_alarm_somewhere() -> None:
    """The oracle is not empty: each planted incident is expected to alarm on some day."""
    days = [SEASON_START + timedelta(days=n) for n in range((TODAY - SEASON_START).days + 1)]
    for check, incidents in PLANTED.items():
        for start, _, severity in incidents:
            assert any(expected_alarm(check, d) is severity for d in days), (check, start)


async def test_many_reports_at_once_on_one_emulator_never_show_an_error(
    profile: Profile, warehouse: Any
) -> None:
    """Checks of 12 reports translating and running SQL at once (bench.health_stress does 1,000)."""
    from bench.health_stress import days, reports

    _, errors = await reports(profile, warehouse, days(24), parallel=12)
    assert errors == []
