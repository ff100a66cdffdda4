"""Causes a drift check names itself: each service behind main, and each traffic split left on
one (deployment_drift's breakdown: service, severity, findings).

A service behind main is fixed by deploying it; a split by sending all traffic to its largest
share (Cloud Run, read once per report, says which revision that is).
"""

from __future__ import annotations

from typing import Any

from checks.base import render_action
from checks.drift_model import Severity, deploy_command
from checks.result import Cause, CauseKind, CheckResult, Fix, FixKind
from commands.health_causes.rank import Candidate, Strength
from commands.health_causes.reads import Reads
from config import Profile
from infra.wording import plural

FLAGGED = (Severity.WARN.value, Severity.CRITICAL.value)


def _split_finding(part: dict[str, Any]) -> str | None:
    """The service's traffic-split finding, if it has one (drift_engine words it)."""
    return next((f for f in part.get("findings") or [] if "traffic split" in str(f)), None)


def behind_causes(result: CheckResult, profile: Profile, reads: Reads) -> list[Candidate]:
    """One cause per flagged service of the check's breakdown, the furthest behind first: a
    split left on it (roll back to its largest share), else its code behind main (deploy it)."""
    found: list[Candidate] = []
    parts = sorted(result.breakdown or [], key=lambda p: -int(p.get("commits_behind") or 0))
    for part in parts:
        service, severity = part.get("service"), part.get("severity")
        if not isinstance(service, str) or severity not in FLAGGED:
            continue
        behind = int(part.get("commits_behind") or 0)
        split = _split_finding(part)
        state = reads.service(service) if split is not None else None
        stable = state.serving[0].revision if state and state.serving else None
        if split is not None and stable is not None:
            cause = Cause(
                kind=CauseKind.TRAFFIC_SPLIT,
                evidence=f"{service}: {split}",
                service=service,
                revision=stable,
                action=f"/rollback {service} {stable}",
                fix=Fix(FixKind.ROLLBACK, service=service, revision=stable),
            )
        elif behind > 0:
            cause = Cause(
                kind=CauseKind.DRIFT,
                evidence=f"{service} ({severity}) runs code "
                f"{plural(behind, 'commit')} touching its sources behind main",
                service=service,
                action=render_action(profile.drift.action, service=service)
                or deploy_command(service),
                fix=Fix(FixKind.DEPLOY, service=service),
            )
        else:
            continue
        found.append(Candidate(Strength.FINDING, cause))
    return found
