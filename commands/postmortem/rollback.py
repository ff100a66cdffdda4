"""Drafts of hand rollbacks (`/rollback` outside a rollout): an incident only when what it
replaced was bad."""

from __future__ import annotations

from datetime import datetime, timedelta

from adapters.cloudrun_model import Revision
from adapters.monitoring import RevisionMetrics
from commands.postmortem.bounds import traffic_spans
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
from commands.postmortem.people import mention
from commands.postmortem.rollout import data_check_of, utc
from commands.postmortem.severity import Facts, propose
from commands.postmortem.signals import BAD_WINDOW, was_bad
from commands.postmortem.tools import PostmortemTools
from store.views import AuditView


def rollback_entry(tools: PostmortemTools, entry_id: int) -> AuditView | None:
    """The audit entry of a hand rollback, None when `entry_id` names none."""
    entry = next(
        (e for e in tools.deploy.store.audit_log() if e.id == entry_id and e.action == "rollback"),
        None,
    )
    return entry if entry is not None and entry.service is not None else None


def replaced(entry: AuditView) -> dict[str, int]:
    """The revisions the rollback took traffic from, with the share each had."""
    target = str(entry.arguments.get("to", ""))
    before = {str(k): int(v) for k, v in dict(entry.arguments.get("from") or {}).items()}
    return {r: p for r, p in before.items() if r != target and p > 0}


def bad_replaced(tools: PostmortemTools, found: Evidence, entry: AuditView) -> list[str]:
    """The replaced revisions that were bad over BAD_WINDOW before the rollback (signals.was_bad)."""
    limit = tools.profile.deploy.max_5xx_percent
    return [r for r in replaced(entry) if was_bad(_before(tools, found, entry, r), limit)]


def _before(
    tools: PostmortemTools, found: Evidence, entry: AuditView, revision: str
) -> RevisionMetrics | None:
    """What `revision` served over BAD_WINDOW before the rollback; None (a gap) unread."""
    service = str(entry.service)
    return found.read(
        f"{revision}'s requests before the rollback (Cloud Monitoring)",
        lambda: tools.deploy.monitoring.revision_metrics(
            service, revision, entry.at - BAD_WINDOW, entry.at
        ),
    )


def is_incident(tools: PostmortemTools, entry: AuditView) -> bool:
    """Whether the hand rollback was an incident: something it replaced was bad."""
    return bool(bad_replaced(tools, Evidence(), entry))


def _revision(tools: PostmortemTools, found: Evidence, service: str, name: str) -> Revision | None:
    return found.read(
        f"{name} (Cloud Run)", lambda: tools.deploy.cloud_run.get_revision(service, name)
    )


def rollback_draft(tools: PostmortemTools, entry_id: int) -> Draft | None:
    """The draft of a hand rollback (its audit entry's id); None when there is no such rollback
    or it was no incident (nothing it replaced was bad)."""
    entry = rollback_entry(tools, entry_id)
    if entry is None or entry.service is None:
        return None
    found = Evidence()
    bad = bad_replaced(tools, found, entry)
    if not bad:
        return None
    service, target = entry.service, str(entry.arguments.get("to", ""))
    before = {str(k): int(v) for k, v in dict(entry.arguments.get("from") or {}).items()}
    revisions = {r: _revision(tools, found, service, r) for r in [*bad, target]}
    created = [rev.created for r in bad if (rev := revisions[r]) is not None]
    since = min(created, default=entry.at - timedelta(days=1))
    changes = traffic(tools, found, service, since, entry.at, own={*before, target})
    error_times: list[datetime] = []
    began: list[datetime] = []
    for revision in bad:
        spans = traffic_spans(changes, revision, entry.at) if changes else [(since, entry.at)]
        began += [start for start, _ in spans]
        error_times += error_lines(tools, found, service, revision, spans)
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
    backfills(tools, found, since, entry.at, [data_check_of(tools, service)])
    started = min(error_times, default=min(began, default=since))
    top = sum(before.get(r, 0) for r in bad)
    duration_h = (entry.at - started).total_seconds() / 3600
    severity, because = propose(
        tools.profile.postmortem, Facts("rollback", duration_h, top_traffic_percent=top)
    )
    found.impact.insert(
        0, f"{service}: {split_text({r: before[r] for r in bad})} before the rollback"
    )
    logged = found.logged[0][1] if found.logged else None
    return Draft(
        kind="rollback",
        subject=f"rollback:{entry.id}",
        title=f"{service} rolled back to {target}",
        started=started,
        recovered=entry.at,
        severity=severity,
        severity_because=because,
        impact=found.impact + found.gaps,
        timeline=sorted(found.events, key=lambda e: e.at),
        sections={
            "summary": f"{DRAFT_MARK}\n{service} served {split_text(before)}; "
            f"{mention(entry.actor)} rolled it back by hand to {target} at {utc(entry.at)}.",
            "root_cause": f"{DRAFT_MARK}\n"
            + (f"The revision logged {logged.severity} “{logged.text}”. " if logged else "")
            + f"The change shipped: {'; '.join(shipped[:5]) or 'not known'}.",
            "resolution": f"{DRAFT_MARK}\n100% of traffic moved to {target}, read back from Cloud Run.",
            "prevention": f"{DRAFT_MARK}\nWhy this change reached users without a canary, and what "
            "would have shown the failure before.",
        },
        services=[service],
        detected=entry.at,  # the person who rolled back had seen it
    )
