"""Deployment drift in the health report: services behind main, judged per service and overall."""

from __future__ import annotations

from typing import ClassVar

from adapters.errors import AdapterError
from checks.base import CheckContext
from checks.drift_engine import drift_report
from checks.drift_model import Basis, DriftReport, ServiceDrift, Severity, age_text
from checks.result import CheckResult, Status
from config import DriftConfig
from infra.wording import noun, plural, verb

STATUS = {
    Severity.OK: Status.OK,
    Severity.INFO: Status.OK,
    Severity.WARN: Status.WARN,
    Severity.CRITICAL: Status.CRITICAL,
}
DETAIL_SERVICES = 3


def _describe(service: ServiceDrift, report: DriftReport) -> str:
    if not service.revisions:
        return (
            f"{service.service}: {service.findings[0].message}"
            if service.findings
            else service.service
        )
    worst = max(service.revisions, key=lambda r: r.undeployed.count)
    by_time = " by time" if worst.basis is Basis.TIME else ""
    oldest = age_text(worst.undeployed.oldest_at, report.checked_at)
    text = f"{service.service} {worst.undeployed.count} behind{by_time} (oldest {oldest})"
    if len(service.revisions) > 1:
        text += f", split over {plural(len(service.revisions), 'revision')}"
    return text


def attention(flagged: int, total: int) -> str:
    """ "1 of 7 services needs attention": each count with its noun, the verb agreeing."""
    return f"{flagged} of {plural(total, 'service')} {verb(flagged, 'needs', 'need')} attention"


def all_current(total: int) -> str:
    """ "all 7 services run main's code for their sources", or "the 1 service runs … its"."""
    if total == 1:
        return "the 1 service runs main's code for its sources"
    return f"all {plural(total, 'service')} run main's code for their sources"


class DeploymentDrift:
    name: ClassVar[str] = "deployment_drift"

    def __init__(self, config: DriftConfig) -> None:
        self.config = config

    def fetch(self, ctx: CheckContext) -> DriftReport | None:
        if not ctx.as_of_is_today:
            return None  # what ran on a past day is not recorded: drift is judged now
        if ctx.drift_sources is None:
            raise AdapterError("no Cloud Run or git configured for drift")
        return drift_report(ctx.profile, ctx.drift_sources(), ctx.profile.services, ctx.now)

    def evaluate(self, data: DriftReport | None, ctx: CheckContext) -> CheckResult:
        threshold = (
            f"WARN: a commit older than {self.config.warn_age_hours:g}h; CRITICAL: "
            f"{plural(self.config.critical_commits, 'commit')} or {self.config.critical_age_hours:g}h"
        )
        if data is None:
            return CheckResult(
                name=self.name,
                status=Status.NOT_APPLICABLE,
                detail=f"drift is judged now, not as of {ctx.as_of}: run `opsbot drift`",
                threshold=threshold,
            )
        flagged = [s for s in data.services if s.severity.rank >= Severity.WARN.rank]
        flagged.sort(key=lambda s: (-s.severity.rank, -s.commits_behind))
        if flagged:
            shown = "; ".join(_describe(s, data) for s in flagged[:DETAIL_SERVICES])
            more = (
                f"; and {len(flagged) - DETAIL_SERVICES} more"
                if len(flagged) > DETAIL_SERVICES
                else ""
            )
            detail = f"{attention(len(flagged), len(data.services))}: {shown}{more}"
        else:
            detail = f"{all_current(len(data.services))} (main {data.main.short})"
        actions = [s.action for s in flagged if s.action]
        return CheckResult(
            name=self.name,
            status=STATUS[data.severity],
            detail=detail,
            value=float(len(flagged)),
            unit=f" {noun(len(flagged), 'service')}",
            threshold=threshold,
            action="\n".join(actions) or None,
            breakdown=[
                {
                    "service": s.service,
                    "severity": s.severity.value,
                    "commits_behind": s.commits_behind,
                    "findings": [f.message for f in s.findings],
                }
                for s in data.services
            ],
        )
