"""Drift beside the rollouts under way, as the drift digest shows it.

The rule: a traffic split whose revisions are a live rollout's stable and canary revisions is
that rollout, not a split "left behind" (it is said as the rollout, with a link to its message);
and while any rollout of a service is under way (its checklist included: it holds the service's
lock), no Deploy is offered for that service. Only a split no live rollout owns is left behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from checks.drift_model import (
    DriftReport,
    Finding,
    FindingKind,
    ServiceDrift,
    Severity,
    digest_severity,
    worst,
)
from config import DriftConfig
from store.views import RolloutView


@dataclass(frozen=True)
class ServiceRollout:
    """The rollout under way for one service, and whether the service's split is its own."""

    rollout: RolloutView
    owns_split: bool  # a split, of the rollout's stable and canary revisions only
    canary_percent: int | None = None  # the canary's share of traffic, while it serves

    @property
    def id(self) -> int:
        return self.rollout.id

    @property
    def where(self) -> tuple[str, str] | None:
        """The rollout's message (channel, ts), when it has one."""
        channel, ts = self.rollout.slack_channel, self.rollout.slack_ts
        return (channel, ts) if channel and ts else None


@dataclass(frozen=True)
class DriftDigest:
    """What the drift digest found: the report, and per service the rollout under way."""

    report: DriftReport  # owned splits taken out: no finding, no severity of theirs
    rollouts: dict[str, ServiceRollout] = field(default_factory=dict)

    def rollout_of(self, service: str) -> ServiceRollout | None:
        return self.rollouts.get(service)


def rollout_of(service: ServiceDrift, rollouts: Sequence[RolloutView]) -> ServiceRollout | None:
    """The newest unfinished rollout of `service`, with whether it owns the service's split."""
    live = [r for r in rollouts if r.service == service.service and not r.state.terminal]
    if not live:
        return None
    rollout = max(live, key=lambda r: r.id)
    serving = {r.revision: r.percent for r in service.revisions}
    canary = rollout.canary_revision
    owns = (
        canary is not None
        and len(serving) > 1
        and canary in serving
        and set(serving) <= {rollout.stable_revision, canary}
    )
    return ServiceRollout(rollout, owns, serving.get(canary) if canary else None)


def drift_digest(
    report: DriftReport, rollouts: Sequence[RolloutView], policy: DriftConfig
) -> DriftDigest:
    """The report as the digest judges it: splits live rollouts own taken out, rollouts beside."""
    found = {s.service: rollout_of(s, rollouts) for s in report.services}
    services = [without_owned_split(s, found[s.service]) for s in report.services]
    judged = replace(report, services=services, severity=digest_severity(services, policy))
    return DriftDigest(judged, {name: r for name, r in found.items() if r is not None})


def without_owned_split(service: ServiceDrift, running: ServiceRollout | None) -> ServiceDrift:
    """The service less its traffic-split finding when a live rollout owns the split."""
    if running is None or not running.owns_split:
        return service
    findings = [f for f in service.findings if f.kind is not FindingKind.TRAFFIC_SPLIT]
    severity = worst([*(f.severity for f in findings), *(r.severity for r in service.revisions)])
    return replace(service, findings=findings, severity=severity)


def deploy_offered(service: ServiceDrift, running: ServiceRollout | None) -> bool:
    """A Deploy button for it: it lags main by something to ship, and no rollout of it runs."""
    lags = service.severity.rank >= Severity.WARN.rank and service.commits_behind > 0
    return lags and running is None


def with_rollouts_named(
    report: DriftReport, rollouts: Sequence[RolloutView], policy: DriftConfig
) -> DriftReport:
    """/drift's report with each split a live rollout owns said as that rollout (INFO: it is
    meant), not as a split "left behind" to finish or roll back; the others as they were."""
    services = [named_split(service, rollout_of(service, rollouts)) for service in report.services]
    return replace(report, services=services, severity=digest_severity(services, policy))


def named_split(service: ServiceDrift, running: ServiceRollout | None) -> ServiceDrift:
    """The service with its traffic-split finding naming the live rollout that owns the split."""
    if running is None or not running.owns_split:
        return service
    share = f", canary {running.canary_percent}%" if running.canary_percent is not None else ""
    said = Finding(
        FindingKind.TRAFFIC_SPLIT,
        Severity.INFO,
        f"the split is rollout #{running.id} under way{share}: promote or roll back from its "
        "message, or with /rollback",
    )
    findings = [said if f.kind is FindingKind.TRAFFIC_SPLIT else f for f in service.findings]
    severity = worst([*(f.severity for f in findings), *(r.severity for r in service.revisions)])
    return replace(service, findings=findings, severity=severity)
