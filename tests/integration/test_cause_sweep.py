"""Every day of the sandbox season: each failing check's top likely cause is the one planted for
its incident (docs/sandbox.md, "Likely causes"), and no cause is claimed where nothing failed.

The incident calendar is the season sweep's (tests/integration/test_season_sweep.py): a check
alarms on the days whose window holds a planted incident. Here each incident also has its
planted cause, the kind and the service /health must name first. Run with `-s` to see the
top-1 and top-3 figures over every incident check-day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from adapters.warehouse import Warehouse
from checks.drift_model import DriftSources
from checks.result import Cause, CauseKind, CheckResult, Status
from commands.health import run_health
from config import Profile
from opsbot.platform import sandbox_drift_sources
from sandbox.demo_season import SANDBOX_NOW
from sandbox.platform import Sandbox
from tests.integration.test_season_sweep import PLANTED, SEASON_START, TODAY, game_dates_judged

PHASE2, PHASE3 = "nba-phase2-raw-processors", "nba-phase3-analytics-processors"
PHASE4, WORKER = "nba-phase4-precompute-processors", "prediction-worker"
GRADING = "nba-grading-service"
DEPLOY, DRIFT, JOB = CauseKind.DEPLOY, CauseKind.DRIFT, CauseKind.JOB
# (check, the incident's first game date) → the planted cause: its kind and service
CAUSES: dict[tuple[str, date], tuple[CauseKind, str | None]] = {
    ("vegas_line_coverage", date(2026, 1, 26)): (DRIFT, PHASE4),  # the fix 3f18b34b undeployed
    ("vegas_line_coverage", date(2026, 2, 2)): (DRIFT, PHASE4),
    ("grading_completeness", date(2026, 1, 28)): (JOB, None),  # grading did not run: regrade
    ("grading_completeness", date(2026, 1, 10)): (DEPLOY, GRADING),  # grading part of v8
    ("phase3_completion", date(2025, 12, 10)): (DEPLOY, PHASE3),
    ("phase3_completion", date(2026, 1, 13)): (DEPLOY, PHASE3),  # rolled back on 2026-01-14
    ("phase3_completion", date(2026, 1, 15)): (DEPLOY, PHASE3),
    ("bdb_coverage", date(2026, 1, 20)): (DEPLOY, PHASE2),
    ("bdb_coverage", date(2026, 1, 21)): (DEPLOY, PHASE2),
    ("recent_predictions", date(2026, 1, 8)): (DEPLOY, WORKER),
    ("recent_predictions", date(2026, 1, 9)): (DEPLOY, WORKER),
}


def incidents_on(check: str, as_of: date) -> list[tuple[CauseKind, str | None]]:
    """The planted causes of the incidents in the check's window on `as_of`."""
    first, last = game_dates_judged(check, as_of)
    return [
        CAUSES[(check, start)]
        for start, end, _ in PLANTED.get(check, [])
        if start <= last and end >= first and (check, start) in CAUSES
    ]


def names(cause: Cause, planted: tuple[CauseKind, str | None]) -> bool:
    return (cause.kind, cause.service) == planted


def _said(result: CheckResult) -> str:
    return "; ".join(f"{c.kind.value} {c.service}: {c.evidence[:120]}" for c in result.causes)


@pytest.fixture(scope="module")
def sources(sandbox: Sandbox, profile: Profile) -> Callable[[], DriftSources]:
    return lambda: sandbox_drift_sources(profile, sandbox)


async def test_every_incident_day_names_its_planted_cause_first_and_normal_days_none(
    profile: Profile, warehouse: Warehouse, sources: Callable[[], DriftSources]
) -> None:
    planted_days = top1 = top3 = 0
    wrong: list[str] = []
    day = SEASON_START
    while day <= TODAY:
        report = await run_health(
            profile, warehouse, now=SANDBOX_NOW, as_of=day, drift_sources=sources
        )
        for result in report.results:
            causes = incidents_on(result.name, day)
            failing = result.status in (Status.WARN, Status.CRITICAL)
            if result.causes_incomplete:  # the sandbox answers every read: nothing is missing
                wrong.append(f"{day} {result.name}: unread {result.causes_incomplete}")
            if not failing:
                if result.causes:
                    wrong.append(f"{day} {result.name} {result.status}: claimed {_said(result)}")
                continue
            if not causes:
                wrong.append(
                    f"{day} {result.name}: alarms, but no incident with a cause is planted"
                )
                continue
            planted_days += 1
            first = result.causes[0] if result.causes else None
            top1 += first is not None and any(names(first, c) for c in causes)
            top3 += any(names(c, p) for c in result.causes[:3] for p in causes)
            if first is None or not any(names(first, c) for c in causes):
                wrong.append(f"{day} {result.name}: planted {causes}, found {_said(result)}")
        day += timedelta(days=1)
    print(
        f"\nlikely causes over {planted_days} incident check-days: top-1 {top1}/{planted_days} "
        f"({100 * top1 / planted_days:.0f}%), top-3 {top3}/{planted_days} "
        f"({100 * top3 / planted_days:.0f}%)"
    )
    assert planted_days > 0
    assert not wrong, "\n".join(wrong)


def test_every_incident_of_the_calendar_has_its_planted_cause() -> None:
    """The oracle is the sweep's calendar: each of its incidents has a cause here, and each
    cause stated here is one of its incidents."""
    incidents = {(check, start) for check, spans in PLANTED.items() for start, _, _ in spans}
    assert incidents == set(CAUSES)
