"""Canary verdicts, freeze windows and promotion rights: the rules, with their numbers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.monitoring import RevisionMetrics
from commands.deploy.policy import active_freeze, promotion_refusal
from commands.deploy.verdict import DataCheck, Verdict, judge, judge_output
from config import DeployConfig, FreezeWindow

POLICY = DeployConfig()
STABLE = RevisionMetrics("svc-00001-aaa", requests=5400, server_errors=11, p95_ms=160.0)


def canary(requests: int, errors: int, p95: float | None = 170.0) -> RevisionMetrics:
    return RevisionMetrics("svc-canary", requests=requests, server_errors=errors, p95_ms=p95)


def test_a_healthy_canary_passes() -> None:
    analysis = judge(canary(600, 1), STABLE, POLICY)
    assert analysis.verdict is Verdict.PASS and analysis.reasons == []


def test_the_bad_commit_fails_on_both_5xx_rules_and_latency_naming_the_numbers() -> None:
    analysis = judge(canary(600, 72, p95=900.0), STABLE, POLICY)
    assert analysis.verdict is Verdict.FAIL
    assert analysis.reasons == [
        "5xx 12.0% of 600 requests is over 5%",
        "5xx 12.0% is over 2× the stable revision's 0.2%",
        "p95 900 ms is over 1.5× the stable revision's 160 ms",
    ]


def test_too_few_requests_is_insufficient_data_never_a_pass() -> None:
    analysis = judge(canary(12, 0), STABLE, POLICY)
    assert analysis.verdict is Verdict.INSUFFICIENT
    assert analysis.reasons == ["only 12 canary requests; at least 50 are needed to judge"]


def test_a_small_rise_over_a_tiny_stable_rate_is_not_a_failure() -> None:
    assert judge(canary(1000, 6), STABLE, POLICY).verdict is Verdict.PASS  # 0.6% vs 0.2%


def test_a_failing_data_check_fails_the_canary() -> None:
    analysis = judge(
        canary(600, 1), STABLE, POLICY, DataCheck(False, "no predictions written by the canary")
    )
    assert analysis.reasons == ["data check: no predictions written by the canary"]


GAMES = FreezeWindow(days=["fri", "sat"], start="19:00", end="01:00", reason="games on")


@pytest.mark.parametrize(
    ("moment", "frozen"),
    [
        (datetime(2026, 2, 7, 1, 30, tzinfo=UTC), True),  # Fri 20:30 ET
        (datetime(2026, 2, 7, 5, 30, tzinfo=UTC), True),  # Sat 00:30 ET, Friday's window
        (datetime(2026, 2, 7, 6, 30, tzinfo=UTC), False),  # Sat 01:30 ET
        (datetime(2026, 2, 5, 1, 30, tzinfo=UTC), False),  # Wed 20:30 ET
        (datetime(2026, 2, 8, 5, 30, tzinfo=UTC), True),  # Sun 00:30 ET: Saturday's window
        (datetime(2026, 2, 9, 5, 30, tzinfo=UTC), False),  # Mon 00:30 ET: no Sunday window
    ],
)
def test_freeze_windows_in_local_time_including_past_midnight(
    moment: datetime, frozen: bool
) -> None:
    policy = DeployConfig(freeze=[GAMES])
    assert (active_freeze(policy, moment) is not None) is frozen


def test_promotion_needs_the_role_and_another_person() -> None:
    approvers = ["U0LEEAPPRV", "U0SAMDEPLY"]
    assert (
        promotion_refusal(
            POLICY, requester="U0SAMDEPLY", approver="U0LEEAPPRV", approvers=approvers
        )
        is None
    )
    assert "two-person rule" in (
        promotion_refusal(
            POLICY, requester="U0SAMDEPLY", approver="U0SAMDEPLY", approvers=approvers
        )
        or ""
    )
    assert "approver role" in (
        promotion_refusal(
            POLICY, requester="U0SAMDEPLY", approver="U0DANAONCL", approvers=approvers
        )
        or ""
    )
    solo = DeployConfig(two_person_rule=False)
    assert (
        promotion_refusal(solo, requester="U0SAMDEPLY", approver="U0SAMDEPLY", approvers=approvers)
        is None
    )


def test_steps_must_climb_to_100() -> None:
    with pytest.raises(ValueError, match="end at 100"):
        DeployConfig(steps=[10, 50])


@pytest.mark.parametrize(
    ("canary_written", "ok"),
    [(0, False), (299, False), (300, True), (600, True)],  # half of stable's 1.0 a request
)
def test_a_canary_must_write_at_least_half_the_stable_revisions_rate(
    canary_written: int, ok: bool
) -> None:
    output = judge_output(canary_written, 600, 5400, 5400, POLICY.min_output_share)
    assert output is not None and output.ok is ok
    assert judge(canary(600, 1), STABLE, POLICY, output=output).verdict is (
        Verdict.PASS if ok else Verdict.FAIL
    )


def test_output_is_not_judged_when_the_stable_revision_wrote_nothing_to_compare() -> None:
    assert judge_output(0, 600, 0, 5400, 0.5) is None
    assert judge_output(0, 600, 100, 0, 0.5) is None
