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
from commands.deploy.history import ROLLOUTS_READ
from commands.health_causes.rank import Candidate, Strength
from commands.health_causes.reads import Reads
from commands.health_causes.records import Records
from config import Profile
from infra.wording import plural
from store.views import RolloutView

FLAGGED = (Severity.WARN.value, Severity.CRITICAL.value)


def _split_finding(part: dict[str, Any]) -> str | None:
    """The service's traffic-split finding, if it has one (drift_engine words it)."""
    return next((f for f in part.get("findings") or [] if "traffic split" in str(f)), None)


def behind_causes(
    result: CheckResult, profile: Profile, reads: Reads, records: Records | None = None
) -> list[Candidate]:
    """One cause per flagged service of the check's breakdown, the furthest behind first: a
    split left on it (roll back to its largest share), else its code behind main (deploy it).
    A split a live rollout owns (the store says so, `records`) is that rollout: named, with
    nothing to click here (its own message promotes or rolls back), as /drift says it."""
    found: list[Candidate] = []
    live = _live_rollouts(records)
    parts = sorted(result.breakdown or [], key=lambda p: -int(p.get("commits_behind") or 0))
    for part in parts:
        service, severity = part.get("service"), part.get("severity")
        if not isinstance(service, str) or severity not in FLAGGED:
            continue
        behind = int(part.get("commits_behind") or 0)
        split = _split_finding(part)
        state = reads.service(service) if split is not None or live else None
        stable = state.serving[0].revision if state and state.serving else None
        serving = {t.revision for t in state.serving} if state else set()
        owner = _owner(live, service, serving)
        if owner is not None:
            cause = Cause(
                kind=CauseKind.TRAFFIC_SPLIT if split is not None else CauseKind.DRIFT,
                evidence=f"{service}: rollout #{owner.id} of {owner.commit_sha[:8]} is under way"
                f" (canary {owner.canary_revision}): promote or roll back from its message"
                + (f"; it runs code {plural(behind, 'commit')} behind main" if behind else ""),
                service=service,
                revision=owner.canary_revision,
                commit=owner.commit_sha,
            )
        elif split is not None and stable is not None:
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


def _live_rollouts(records: Records | None) -> list[RolloutView]:
    if records is None or records.rollouts is None:
        return []
    return [r for r in records.rollouts.recent(ROLLOUTS_READ) if not r.state.terminal]


def _owner(live: list[RolloutView], service: str, serving: set[str]) -> RolloutView | None:
    """The newest live rollout of `service` whose stable and canary revisions are all that serve
    (the rule of commands/schedule/drift_rollouts.py); None if no live rollout owns it."""
    mine = [r for r in live if r.service == service and r.canary_revision is not None]
    if not mine or not serving:
        return None
    newest = max(mine, key=lambda r: r.id)
    return newest if serving <= {newest.stable_revision, newest.canary_revision} else None
