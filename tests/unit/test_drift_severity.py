"""How bad drift is: per revision by age and count, across services by the digest rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.git import Undeployed
from checks.drift_model import ServiceDrift, Severity, age_text, digest_severity, judge
from config import DriftConfig

NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)
POLICY = DriftConfig()  # WARN past 2 h, CRITICAL at 20 commits or 24 h


def behind(count: int, hours_old: float) -> Undeployed:
    return Undeployed(count, NOW - timedelta(hours=hours_old) if count else None, [])


@pytest.mark.parametrize(
    ("count", "hours_old", "expected"),
    [
        (0, 0, Severity.OK),
        (3, 1.5, Severity.INFO),  # just merged: not yet a problem
        (3, 2.5, Severity.WARN),
        (19, 23, Severity.WARN),
        (20, 0.5, Severity.CRITICAL),  # many commits, however young
        (1, 24, Severity.CRITICAL),  # one commit waiting a day
        (598, 240, Severity.CRITICAL),  # the seeds' incident
    ],
)
def test_a_revision_is_judged_by_its_oldest_undeployed_commit_and_their_number(
    count: int, hours_old: float, expected: Severity
) -> None:
    assert judge(behind(count, hours_old), POLICY, NOW) is expected


def drifts(*severities: Severity) -> list[ServiceDrift]:
    return [ServiceDrift(f"s{n}", severity) for n, severity in enumerate(severities)]


@pytest.mark.parametrize(
    ("severities", "expected"),
    [
        ((Severity.OK, Severity.INFO, Severity.OK), Severity.INFO),
        ((Severity.WARN, Severity.OK, Severity.OK), Severity.WARN),
        ((Severity.WARN, Severity.WARN, Severity.OK), Severity.WARN),
        ((Severity.WARN, Severity.WARN, Severity.WARN), Severity.CRITICAL),  # 3+ services
        ((Severity.CRITICAL, Severity.OK, Severity.OK), Severity.CRITICAL),  # one is enough
    ],
)
def test_the_report_is_the_worst_service_raised_by_how_many_drift(
    severities: tuple[Severity, ...], expected: Severity
) -> None:
    assert digest_severity(drifts(*severities), POLICY) is expected


def test_the_digest_rule_is_configurable() -> None:
    lenient = DriftConfig(digest_critical_services=5, digest_warn_services=4)
    assert digest_severity(drifts(*[Severity.WARN] * 3), lenient) is Severity.WARN


def test_exit_codes_follow_severity() -> None:
    assert [s.exit_code for s in Severity] == [0, 0, 1, 2]


def test_ages_read_like_a_person_would_say_them() -> None:
    assert age_text(NOW - timedelta(days=9, hours=22, minutes=5), NOW) == "9d 22h"
    assert age_text(NOW - timedelta(hours=5, minutes=59), NOW) == "5h"
    assert age_text(NOW - timedelta(minutes=12), NOW) == "12m"
    assert age_text(None, NOW) == "—"
