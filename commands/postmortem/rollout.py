"""Drafts of deploy incidents: a rollout that rolled back or failed, and a hand rollback."""

from __future__ import annotations

from datetime import datetime, timedelta

from adapters.cloudrun_model import Revision
from commands.postmortem.evidence import (
    Evidence,
    backfills,
    commits_shipped,
    error_lines,
    served,
    split_text,
    traffic,
)
from commands.postmortem.model import DRAFT_MARK, Draft, TimelineEvent
from commands.postmortem.severity import Facts, propose
from commands.postmortem.tools import PostmortemTools
from store.states import RolloutState
from store.views import AuditView, RolloutView

NOTHING_HAPPENED = (RolloutState.CHECKLIST, RolloutState.CANCELLED)
ENDINGS = ("deploy.restored", "deploy.complete", "deploy.failed", "deploy.cancel")
MARGIN = timedelta(minutes=1)  # around a window, so a change at its edge is still in it


def utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _figures(arguments: dict[str, object]) -> str:
    if "verdict" not in arguments:
        return ""
    p95 = arguments.get("p95_ms")
    latency = f", p95 {float(p95):.0f} ms" if isinstance(p95, int | float) else ""
    text = (
        f"{arguments['verdict']}: canary {arguments.get('requests')} requests, "
        f"{arguments.get('server_errors')} 5xx{latency}; stable {arguments.get('stable_requests')} "
        f"requests, {arguments.get('stable_server_errors')} 5xx"
    )
    reasons = arguments.get("reasons")
    return text + (
        f" ({'; '.join(map(str, reasons))})" if isinstance(reasons, list) and reasons else ""
    )


def audit_text(entry: AuditView, steps: list[int]) -> str:
    """What one audit entry of a rollout says, in words (the figures kept with it)."""
    arguments = entry.arguments
    step = arguments.get("step")
    percent = f"{steps[step]}%" if isinstance(step, int) and step < len(steps) else "the next step"
    reason = str(arguments.get("reason") or entry.result)
    texts = {
        "deploy.begin": f"deploy of {entry.service} at {str(arguments.get('commit', ''))[:8]} asked (checklist)",
        "deploy.start": "canary started",
        "deploy.revision.creating": "Cloud Run creating the canary revision",
        "deploy.revision.ready": f"canary revision {arguments.get('canary_revision', '')} ready",
        "deploy.analysis": f"analysis {_figures(arguments)}",
        "deploy.analysis.insufficient": f"analysis held: {_figures(arguments) or 'too few requests'}",
        "deploy.promote": f"promoted to {percent}",
        "deploy.promote.refused": f"promotion refused: {entry.result}",
        "deploy.auto_rollback": f"automatic rollback: {reason}",
        "deploy.rollback": f"rolled back by hand: {reason}",
        "deploy.failed": f"failed: {reason}",
        "deploy.restored": "100% of traffic back on the stable revision (verified)",
        "deploy.restore.failed": f"restoring traffic failed: {entry.result}",
        "deploy.complete": "complete: 100% on the new revision",
        "deploy.cancel": "cancelled before any traffic moved",
    }
    return texts.get(entry.action, f"{entry.action}: {entry.result}")


def _events(entries: list[AuditView], steps: list[int]) -> list[TimelineEvent]:
    return [
        TimelineEvent(
            e.at, "opsbot", audit_text(e, steps), None if e.actor == "opsbot" else e.actor
        )
        for e in entries
    ]


def _first_bad(entries: list[AuditView], found: Evidence, since: datetime) -> datetime | None:
    """The first failing analysis, ERROR line or automatic rollback, whichever came first."""
    times = [
        e.at
        for e in entries
        if e.arguments.get("verdict") == "fail"
        or e.action in ("deploy.auto_rollback", "deploy.failed")
    ]
    times += [e.at for e in found.events if e.source == "logs" and e.at >= since]
    return min(times) if times else None


def rollout_draft(tools: PostmortemTools, rollout_id: int) -> Draft | None:
    """The draft of rollout `rollout_id`; None when it is unknown or never reached Cloud Run."""
    store = tools.deploy.store
    rollout = store.get(rollout_id)
    if rollout is None or rollout.state in NOTHING_HAPPENED:
        return None
    profile = tools.profile
    steps = profile.deploy.steps
    entries = store.audit_log(rollout_id=rollout_id)
    served_from = next(
        (e.at for e in entries if e.action in ("deploy.revision.ready", "deploy.start")),
        rollout.created_at,
    )
    ended = next((e.at for e in entries if e.action in ENDINGS), None)
    until = ended or tools.clock()
    found = Evidence(events=_events(entries, steps))
    traffic(tools, found, rollout.service, rollout.created_at - MARGIN, until + MARGIN)
    top = max(
        [steps[0] if rollout.canary_revision else 0]
        + [
            steps[int(e.arguments["step"])]
            for e in entries
            if e.action == "deploy.promote" and "step" in e.arguments
        ]
    )
    shipped: list[str] = []
    stable_commit = None
    if rollout.canary_revision:
        error_lines(tools, found, rollout.service, rollout.canary_revision, served_from)
        served(tools, found, rollout.service, rollout.canary_revision, served_from, until)
        stable = found.read(
            f"{rollout.stable_revision} (Cloud Run)",
            lambda: tools.deploy.cloud_run.get_revision(rollout.service, rollout.stable_revision),
        )
        stable_commit = stable.commit_label if stable else None
        shipped = commits_shipped(tools, found, rollout.service, stable_commit, rollout.commit_sha)
    backfills(tools, found, rollout.created_at, until)
    started = _first_bad(entries, found, served_from) or served_from
    detected = next(
        (
            e.at
            for e in entries
            if e.arguments.get("verdict") == "fail"
            or e.action in ("deploy.auto_rollback", "deploy.rollback", "deploy.failed")
        ),
        None,
    )
    recovered = ended if rollout.state in (RolloutState.ROLLED_BACK, RolloutState.FAILED) else None
    duration_h = (recovered - started).total_seconds() / 3600 if recovered else None
    severity, because = propose(
        profile.postmortem, Facts("rollout", duration_h, top_traffic_percent=top)
    )
    found.impact.insert(
        0,
        f"{rollout.service}: the canary {rollout.canary_revision or '(never created)'} of commit "
        f"{rollout.commit_sha[:8]} took up to {top}% of traffic",
    )
    return Draft(
        kind="rollout",
        subject=f"rollout:{rollout.id}",
        title=f"Rollout #{rollout.id} of {rollout.service} ({rollout.commit_sha[:8]}) {_ending(rollout)}",
        started=started,
        recovered=recovered,
        severity=severity,
        severity_because=because,
        impact=found.impact + found.gaps,
        timeline=sorted(found.events, key=lambda e: e.at),
        sections=_rollout_sections(rollout, entries, found, top, shipped, recovered),
        services=[rollout.service],
        detected=detected,
    )


def _ending(rollout: RolloutView) -> str:
    return {
        RolloutState.ROLLED_BACK: "rolled back",
        RolloutState.FAILED: "failed",
        RolloutState.COMPLETE: "completed",
    }.get(rollout.state, f"({rollout.state.value})")


def _rollout_sections(
    rollout: RolloutView,
    entries: list[AuditView],
    found: Evidence,
    top: int,
    shipped: list[str],
    recovered: datetime | None,
) -> dict[str, str]:
    automatic = next((e for e in entries if e.action == "deploy.auto_rollback"), None)
    by_hand = next((e for e in entries if e.action == "deploy.rollback"), None)
    if automatic is not None:
        how = f"opsbot's canary analysis rolled it back automatically: {automatic.arguments.get('reason', '')}"
    elif by_hand is not None:
        how = f"it was rolled back by hand ({by_hand.arguments.get('reason', 'no reason given')})"
    elif rollout.state is RolloutState.FAILED:
        how = f"it failed: {rollout.reason or 'no reason recorded'}"
    else:
        how = f"it is {rollout.state.value}"
    sample = next((e.text for e in found.events if e.source == "logs"), None)
    quoted = f"The canary logged: “{sample}”." if sample else "The canary logged no ERROR lines."
    changes = "; ".join(shipped[:5]) or "not known (see the gaps in Impact)"
    restored = (
        f"100% of traffic was restored to {rollout.stable_revision} (read back from Cloud Run) at "
        f"{utc(recovered)}."
        if recovered
        else "Not recovered when this draft was made."
    )
    return {
        "summary": f"{DRAFT_MARK}\nRollout #{rollout.id} shipped commit {rollout.commit_sha[:8]} of "
        f"{rollout.service} as a canary that took up to {top}% of traffic; {how}.",
        "root_cause": f"{DRAFT_MARK}\n{quoted} The change shipped: {changes}. Establish which change "
        "caused it, and why the checks before deploying did not show it.",
        "resolution": f"{DRAFT_MARK}\n{restored}",
        "prevention": f"{DRAFT_MARK}\nWhat would have shown this before the canary (a test that "
        f"reproduces the failure, a check in CI). The canary kept the exposure to {top}% of traffic.",
    }


def _revision(tools: PostmortemTools, found: Evidence, service: str, name: str) -> Revision | None:
    return found.read(
        f"{name} (Cloud Run)", lambda: tools.deploy.cloud_run.get_revision(service, name)
    )


def rollback_draft(tools: PostmortemTools, entry_id: int) -> Draft | None:
    """The draft of a hand rollback (`/rollback`, no rollout running): the audit entry's id."""
    store = tools.deploy.store
    entry = next(
        (e for e in store.audit_log() if e.id == entry_id and e.action == "rollback"), None
    )
    if entry is None or entry.service is None:
        return None
    service = entry.service
    target = str(entry.arguments.get("to", ""))
    before = {str(k): int(v) for k, v in dict(entry.arguments.get("from") or {}).items()}
    bad = [r for r in before if r != target]
    found = Evidence()
    revisions = {r: _revision(tools, found, service, r) for r in [*bad, target]}
    created = [rev.created for r in bad if (rev := revisions[r]) is not None]
    since = min(created, default=entry.at - timedelta(days=1))
    traffic(tools, found, service, since - MARGIN, entry.at + MARGIN)
    for revision in bad:
        error_lines(tools, found, service, revision, since)
        served(tools, found, service, revision, since, entry.at)
    found.events.append(
        TimelineEvent(
            entry.at,
            "opsbot",
            f"{service} rolled back by hand: 100% to {target} (verified)",
            entry.actor,
        )
    )
    good, tip = revisions[target], next((revisions[r] for r in bad), None)
    shipped: list[str] = []
    if tip is not None and tip.commit_label:
        shipped = commits_shipped(
            tools, found, service, good.commit_label if good else None, tip.commit_label
        )
    backfills(tools, found, since, entry.at)
    first_error = min((e.at for e in found.events if e.source == "logs"), default=since)
    top = sum(before.get(r, 0) for r in bad)
    duration_h = (entry.at - first_error).total_seconds() / 3600
    severity, because = propose(
        tools.profile.postmortem, Facts("rollback", duration_h, top_traffic_percent=top)
    )
    found.impact.insert(
        0,
        f"{service}: {split_text({r: before[r] for r in bad}) or 'no other revision'} before the rollback",
    )
    sample = next((e.text for e in found.events if e.source == "logs"), None)
    return Draft(
        kind="rollback",
        subject=f"rollback:{entry.id}",
        title=f"{service} rolled back to {target}",
        started=first_error,
        recovered=entry.at,
        severity=severity,
        severity_because=because,
        impact=found.impact + found.gaps,
        timeline=sorted(found.events, key=lambda e: e.at),
        sections={
            "summary": f"{DRAFT_MARK}\n{service} served {split_text(before)}; it was rolled back by "
            f"hand to {target} at {utc(entry.at)}.",
            "root_cause": f"{DRAFT_MARK}\n"
            + (f"The revision logged: “{sample}”. " if sample else "")
            + f"The change shipped: {'; '.join(shipped[:5]) or 'not known'}.",
            "resolution": f"{DRAFT_MARK}\n100% of traffic moved to {target}, read back from Cloud Run.",
            "prevention": f"{DRAFT_MARK}\nWhy this change reached users without a canary, and what "
            "would have shown the failure before.",
        },
        services=[service],
        detected=entry.at,  # the person who rolled back had seen it
    )
