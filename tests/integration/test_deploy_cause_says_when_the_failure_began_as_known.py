"""What a deploy cause says of when the failure began is what the check shows, no more.

D, the first failing day a check *saw* (commands/health_causes/span.py), is the first failing
game day only when the check's window shows passing days before it. The sandbox's own reports
of earlier days show the other cases:

- vegas_line_coverage judges one day: on 2026-01-27 the drop is "failing on game day
  2026-01-27, the one day it judges", never its first failing game day (the report of
  2026-01-26 is CRITICAL too: the planted drop began 01-26);
- grading_completeness sees 7 days: on 2026-01-21 catboost_v8 is "failing since at least
  2026-01-14, the first day of its window", never first failing that day (it has been behind
  since 2026-01-10: the report of 2026-01-11 says so);
- on 2026-01-17 the grading revision created 2026-01-10 10:00 UTC is 05:00 EST, during game day
  2026-01-10, not "before" it: times are placed against game days in the game timezone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date

import pytest

from adapters.warehouse import Warehouse
from checks.drift_model import DriftSources
from checks.result import CheckResult, Status
from commands.health import run_health
from config import Profile
from opsbot.platform import sandbox_drift_sources
from sandbox.demo_season import SANDBOX_NOW
from sandbox.platform import Sandbox

FAILING = (Status.WARN, Status.CRITICAL)


@pytest.fixture(scope="module")
def judge(
    sandbox: Sandbox, profile: Profile, warehouse: Warehouse
) -> Callable[[str, date], CheckResult]:
    def sources() -> DriftSources:
        return sandbox_drift_sources(profile, sandbox)

    def one(check: str, day: date) -> CheckResult:
        report = run_health(
            profile, warehouse, now=SANDBOX_NOW, as_of=day, drift_sources=sources, checks=[check]
        )
        return asyncio.run(report).results[0]

    return one


@pytest.mark.parametrize(
    ("check", "earlier", "day", "false_claim", "said"),
    [
        (
            "vegas_line_coverage",
            date(2026, 1, 26),
            date(2026, 1, 27),
            "first failing game day 2026-01-27",
            "failing on game day 2026-01-27, the one day it judges",
        ),
        (
            "grading_completeness",
            date(2026, 1, 11),
            date(2026, 1, 21),
            "first failing game day 2026-01-14",
            "(05:00 EST, game day 2026-01-10, before 2026-01-14); grading_completeness is "
            "failing since at least 2026-01-14, the first day of its window",
        ),
        (
            "grading_completeness",
            date(2026, 1, 11),
            date(2026, 1, 17),
            "on 2026-01-10 10:00 UTC, before grading_completeness's first failing game day "
            "2026-01-10",
            "on 2026-01-10 10:00 UTC (05:00 EST, game day 2026-01-10); grading_completeness is "
            "failing since at least 2026-01-10",
        ),
    ],
    ids=["vegas-one-day", "grading-window", "grading-same-day"],
)
def test_a_deploy_cause_does_not_misstate_when_the_failure_began(
    judge: Callable[[str, date], CheckResult],
    check: str,
    earlier: date,
    day: date,
    false_claim: str,
    said: str,
) -> None:
    assert judge(check, earlier).status in FAILING  # the failure began by then: the proof
    result = judge(check, day)
    assert result.status in FAILING
    deploys = [c.evidence for c in result.causes if c.kind.value == "deploy"]
    assert deploys, "the planted deploy is named"
    assert not [e for e in deploys if false_claim in e], deploys
    assert [e for e in deploys if said in e], deploys
