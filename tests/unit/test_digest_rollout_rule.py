"""The drift digest's rule for rollouts under way: a split of a live rollout's stable and canary
revisions is that rollout (not a finding, nor a severity), and no Deploy is offered for a
service while any rollout of it runs; any other split is left behind."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from adapters.git import CommitInfo, Undeployed
from checks.drift_model import (
    Basis,
    DriftReport,
    Finding,
    FindingKind,
    RevisionDrift,
    ServiceDrift,
    Severity,
)
from commands.schedule.drift_rollouts import deploy_offered, drift_digest, with_rollouts_named
from config import DriftConfig
from store.states import RolloutState
from store.views import RolloutView

NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)
MAIN = CommitInfo("a" * 40, "Dana", NOW, "feat: main")
SPLIT = Finding(FindingKind.TRAFFIC_SPLIT, Severity.WARN, "traffic split left behind (…)")


def _revision(name: str, percent: int, behind: int) -> RevisionDrift:
    undeployed = Undeployed(behind, NOW - timedelta(hours=1) if behind else None, [])
    severity = Severity.INFO if behind else Severity.OK
    return RevisionDrift(name, percent, Basis.COMMIT, None, None, NOW, undeployed, severity)


def _service(*serving: tuple[str, int]) -> ServiceDrift:
    """nba-scrapers serving `serving` (the stable one 3 behind, any other at main)."""
    revisions = [_revision(n, p, 3 if n == "stable" else 0) for n, p in serving]
    findings = [SPLIT] if len(serving) > 1 else []
    return ServiceDrift("nba-scrapers", Severity.WARN, findings, revisions)


def _rollout(state: RolloutState) -> RolloutView:
    return RolloutView(
        id=4,
        service="nba-scrapers",
        commit_sha="b" * 40,
        stable_revision="stable",
        canary_revision="canary",
        state=state,
        step=0,
        failures=0,
        requested_by="U0SAMDEPLY",
        approvals=(),
        reason=None,
        slack_channel="C0CANARY01",
        slack_ts="1.000001",
        created_at=NOW,
        updated_at=NOW,
        step_started_at=NOW,
        data_baseline=None,
        ending=None,
        version=3,
    )


def _judged(service: ServiceDrift, *rollouts: RolloutView) -> tuple[ServiceDrift, bool, bool]:
    """The service as the digest judges it, whether its split is a rollout's, whether Deploy shows."""
    report = DriftReport(MAIN, NOW, Severity.WARN, [service])
    digest = drift_digest(report, list(rollouts), DriftConfig())
    running = digest.rollout_of(service.service)
    judged = digest.report.services[0]
    return judged, running is not None and running.owns_split, deploy_offered(judged, running)


def test_a_live_canarys_split_is_the_rollout_not_a_finding_and_deploy_is_not_offered() -> None:
    judged, owned, offered = _judged(
        _service(("stable", 90), ("canary", 10)), _rollout(RolloutState.CANARY)
    )

    assert owned and not offered
    assert judged.findings == [] and judged.severity is Severity.INFO  # no WARN of its split


def test_a_rollout_at_100_percent_owns_no_split_and_still_blocks_deploy() -> None:
    _, owned, offered = _judged(_service(("canary", 100)), _rollout(RolloutState.WATCH))

    assert not owned and not offered


def test_a_split_with_a_revision_the_rollout_did_not_make_is_left_behind() -> None:
    service = _service(("stable", 80), ("canary", 10), ("older", 10))
    judged, owned, offered = _judged(service, _rollout(RolloutState.CANARY))

    assert not owned and not offered  # a rollout runs: no Deploy still
    assert judged.findings == [SPLIT]


def test_once_the_rollout_ended_its_split_is_left_behind_and_deploy_is_offered() -> None:
    ended = replace(_rollout(RolloutState.ROLLED_BACK), version=9)
    judged, owned, offered = _judged(_service(("stable", 90), ("canary", 10)), ended)

    assert not owned and offered
    assert judged.findings == [SPLIT] and judged.severity is Severity.WARN


def test_drift_says_a_live_canarys_split_is_that_rollout_and_any_other_split_is_left_behind() -> (
    None
):
    """/drift (not only the digest): a canary at 10% was called "left behind: finish the rollout or
    roll back" while the rollout ran, inviting on-call to roll back a healthy canary."""
    live = DriftReport(MAIN, NOW, Severity.WARN, [_service(("stable", 90), ("canary", 10))])
    named = with_rollouts_named(live, [_rollout(RolloutState.CANARY)], DriftConfig())
    finding = named.services[0].findings[0]
    assert finding.severity is Severity.INFO and "left behind" not in finding.message
    assert finding.message.startswith("the split is rollout #4 under way, canary 10%")
    assert named.services[0].severity is Severity.INFO and named.severity is Severity.INFO

    for ended in (RolloutState.ROLLED_BACK, RolloutState.COMPLETE):
        kept = with_rollouts_named(live, [_rollout(ended)], DriftConfig())
        assert kept.services[0].findings == [SPLIT] and kept.services[0].severity is Severity.WARN
