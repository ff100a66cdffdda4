"""Drafts of deploy incidents: a rollout that rolled back or failed (a hand rollback: rollback.py)."""

from __future__ import annotations

import re
from datetime import datetime

from adapters.cloud_logging import TrafficChange
from commands.postmortem.bounds import Span, traffic_spans
from commands.postmortem.evidence import (
    Evidence,
    backfills,
    commits_shipped,
    error_lines,
    served,
    traffic,
)
from commands.postmortem.log_groups import LineGroup
from commands.postmortem.model import DRAFT_MARK, Draft, TimelineEvent
from commands.postmortem.people import mention
from commands.postmortem.severity import Facts, propose
from commands.postmortem.signals import NO_BAD_SIGNAL, first_bad_signal
from commands.postmortem.tools import PostmortemTools
from store.states import RolloutState
from store.views import AuditView, RolloutView

NOTHING_HAPPENED = (RolloutState.CHECKLIST, RolloutState.CANCELLED)
ENDINGS = ("deploy.restored", "deploy.complete", "deploy.failed", "deploy.cancel")
# A reason that only says who rolled back ("rolled back by <@U…>", the Slack button's): the
# draft names that person already, so the reason adds nothing
ONLY_WHO = re.compile(r"rolled back(?: by hand)?(?: by <@[UW][A-Z0-9]{2,20}>)?")


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
        "deploy.rollback": "rolled back by hand" + _because(reason),
        "deploy.failed": f"failed: {reason}",
        "deploy.restored": "100% of traffic back on the stable revision (verified)",
        "deploy.restore.failed": f"restoring traffic failed: {entry.result}",
        "deploy.complete": "complete: 100% on the new revision",
        "deploy.cancel": "cancelled before any traffic moved",
    }
    return texts.get(entry.action, f"{entry.action}: {entry.result}")


def _because(reason: str) -> str:
    """`: <reason>`, unless the reason only says who rolled back (the event names them)."""
    return "" if ONLY_WHO.fullmatch(reason.strip()) else f": {reason}"


def _events(entries: list[AuditView], steps: list[int]) -> list[TimelineEvent]:
    return [
        TimelineEvent(
            e.at, "opsbot", audit_text(e, steps), None if e.actor == "opsbot" else e.actor
        )
        for e in entries
    ]


def canary_spans(
    changes: list[TrafficChange] | None, canary: str, served_from: datetime, until: datetime
) -> list[Span]:
    """When the canary had traffic, from Cloud Run's traffic changes; without any (none could
    be read), from when opsbot made it ready to the rollout's end."""
    return traffic_spans(changes, canary, until) if changes else [(served_from, until)]


def rollout_draft(tools: PostmortemTools, rollout_id: int) -> Draft | None:
    """The draft of rollout `rollout_id`; None when it is unknown or never reached Cloud Run.

    Every source is the rollout's own: its window (begin to end), its service, and its stable
    and canary revisions (bounds.own_changes); its canary's ERROR lines while it had traffic.
    """
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
    canary = rollout.canary_revision
    own = {rollout.stable_revision, *([canary] if canary else [])}
    changes = traffic(
        tools, found, rollout.service, rollout.created_at, until, own=own, first_of=canary
    )
    top = max(
        [steps[0] if canary else 0]
        + [
            steps[int(e.arguments["step"])]
            for e in entries
            if e.action == "deploy.promote" and "step" in e.arguments
        ]
    )
    shipped: list[str] = []
    error_times: list[datetime] = []
    if canary:
        spans = canary_spans(changes, canary, served_from, until)
        error_times = error_lines(tools, found, rollout.service, canary, spans)
        served(tools, found, rollout.service, canary, served_from, until)
        stable = found.read(
            f"{rollout.stable_revision} (Cloud Run)",
            lambda: tools.deploy.cloud_run.get_revision(rollout.service, rollout.stable_revision),
        )
        stable_commit = stable.commit_label if stable else None
        shipped = commits_shipped(tools, found, rollout.service, stable_commit, rollout.commit_sha)
    backfills(tools, found, rollout.created_at, until, [data_check_of(tools, rollout.service)])
    first_bad = first_bad_signal(entries, error_times)
    started = first_bad or served_from
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
    facts = (
        Facts("rollout", duration_h, top_traffic_percent=top)
        if first_bad
        else Facts("rollout", 0.0)  # nothing bad served: neither its traffic nor its time counts
    )
    severity, because = propose(profile.postmortem, facts)
    found.impact.insert(
        0,
        f"{rollout.service}: the canary {canary or '(never created)'} of commit "
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
        sections=_rollout_sections(
            rollout, entries, found.logged, top, shipped, recovered, bad=first_bad is not None
        ),
        services=[rollout.service],
        detected=detected if first_bad else None,  # nothing bad: nothing was detected
        no_bad_signal="" if first_bad else NO_BAD_SIGNAL,
    )


def data_check_of(tools: PostmortemTools, service: str) -> str | None:
    """The service's post-deploy data check in the profile, if it has one."""
    return next((s.data_check for s in tools.profile.services if s.name == service), None)


def _ending(rollout: RolloutView) -> str:
    return {
        RolloutState.ROLLED_BACK: "rolled back",
        RolloutState.FAILED: "failed",
        RolloutState.COMPLETE: "completed",
    }.get(rollout.state, f"({rollout.state.value})")


def _logged(logged: list[tuple[str, LineGroup]]) -> str:
    """What the canary logged, quoted once with how often (identical lines are one)."""
    if not logged:
        return "The canary logged no ERROR lines while it had traffic."
    group = logged[0][1]
    often = (
        f", {group.count} times from {group.first:%H:%M:%S} to {group.last:%H:%M:%S} UTC"
        if group.count > 1
        else ""
    )
    others = f" (and {len(logged) - 1} other distinct lines)" if len(logged) > 1 else ""
    return f"The canary logged {group.severity} “{group.text}”{often}{others}."


def _rollout_sections(
    rollout: RolloutView,
    entries: list[AuditView],
    logged: list[tuple[str, LineGroup]],
    top: int,
    shipped: list[str],
    recovered: datetime | None,
    *,
    bad: bool,
) -> dict[str, str]:
    automatic = next((e for e in entries if e.action == "deploy.auto_rollback"), None)
    by_hand = next((e for e in entries if e.action == "deploy.rollback"), None)
    if automatic is not None:
        how = f"opsbot's canary analysis rolled it back automatically: {automatic.arguments.get('reason', '')}"
    elif by_hand is not None:
        reason = str(by_hand.arguments.get("reason") or "")
        how = f"{mention(by_hand.actor)} rolled it back by hand" + _because(reason)
    elif rollout.state is RolloutState.FAILED:
        how = f"it failed: {rollout.reason or 'no reason recorded'}"
    else:
        how = f"it is {rollout.state.value.replace('_', ' ')}"
    changes = "; ".join(shipped[:5]) or "not known (see the gaps in Impact)"
    restored = (
        f"100% of traffic was restored to {rollout.stable_revision} (read back from Cloud Run) at "
        f"{utc(recovered)}."
        if recovered
        else "Not recovered when this draft was made."
    )
    summary = (
        f"Rollout #{rollout.id} shipped commit {rollout.commit_sha[:8]} of {rollout.service} as a "
        f"canary that took up to {top}% of traffic; {how}."
    )
    if not bad:
        return {
            "summary": f"{DRAFT_MARK}\n{summary} No bad signal: {NO_BAD_SIGNAL}.",
            "root_cause": f"{DRAFT_MARK}\nNo bad signal was recorded; the change shipped: "
            f"{changes}. Say why it was rolled back, if something was wrong that opsbot did not see.",
            "resolution": f"{DRAFT_MARK}\n{restored}",
            "prevention": f"{DRAFT_MARK}\nIf something was wrong, what would have shown it (an "
            "analysis, a check, an alert).",
        }
    return {
        "summary": f"{DRAFT_MARK}\n{summary}",
        "root_cause": f"{DRAFT_MARK}\n{_logged(logged)} The change shipped: {changes}. Establish "
        "which change caused it, and why the checks before deploying did not show it.",
        "resolution": f"{DRAFT_MARK}\n{restored}",
        "prevention": f"{DRAFT_MARK}\nWhat would have shown this before the canary (a test that "
        f"reproduces the failure, a check in CI). The canary kept the exposure to {top}% of traffic.",
    }
