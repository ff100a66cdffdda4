"""Deploy causes: a service writing the failing check's table began serving a new revision
inside the check's window.

Which revision served when is read from Cloud Run's revisions: each served from its creation
until the next one was created (a report reads no audit logs; a split left on a service is a
cause of its own, drift.py). A revision that runs older code than the one before it (a rollback
redeployed) restores what ran before and is no cause; one that never became ready never served.
A failure that may have begun before the check's window (span.py) names instead the revision
that served through its failing days and was replaced as they ended.
"""

from __future__ import annotations

from datetime import date

from adapters.cloudrun_model import Revision
from adapters.git import CommitInfo
from checks.result import Cause, CauseKind, Fix, FixKind
from commands.health_causes.rank import Candidate, Strength
from commands.health_causes.reads import Reads
from commands.health_causes.records import Records
from commands.health_causes.span import Span
from config import ServiceConfig
from infra.wording import short_sha


def _older(commit: CommitInfo | None, than: CommitInfo | None) -> bool:
    """Whether `commit` is older code than `than` (main's history is linear: by commit time)."""
    return (
        commit is not None
        and than is not None
        and commit.sha != than.sha
        and commit.committed < than.committed
    )


def _what(reads: Reads, revision: Revision, service: ServiceConfig) -> str:
    """Its commit, and the service's own newest change in it."""
    commit = reads.commit(revision.commit_label)
    if commit is None:
        label = revision.commit_label
        return f"commit {short_sha(label)}" if label else "no commit label"
    change = reads.last_change(commit, list(service.source_paths))
    if change is None:
        return f"commit {commit.short}"
    if change.sha == commit.sha:
        return f"commit {commit.short} “{commit.subject}”"
    return f"commit {commit.short}, its last change here {change.short} “{change.subject}”"


def _after(reads: Reads, revisions: list[Revision], index: int) -> tuple[str, bool]:
    """What became of revisions[index]: rolled back or replaced (when, by what), or serving."""
    mine = reads.commit(revisions[index].commit_label)
    for later in revisions[index + 1 :]:
        if not later.ready:
            continue
        commit = reads.commit(later.commit_label)
        when = f"{later.created:%Y-%m-%d %H:%M} UTC"
        if _older(commit, mine) and commit is not None:
            return f"rolled back {when} ({later.name} runs the older {commit.short})", False
        return f"replaced {when} by {later.name}", False
    return "still serving", True


def ended_with(revisions: list[Revision], index: int, span: Span) -> bool:
    """The rule for a failure that may have begun before its window: the revision served while
    its first failing day's data was made, and the next one replaced it as the failures ended
    (after that, by the day after the last failing day's data was due)."""
    if span.made_from is None or span.ended_by is None or revisions[index].created > span.end:
        return False
    after = next((r for r in revisions[index + 1 :] if r.ready), None)
    return after is not None and span.made_from < after.created <= span.ended_by


def deploy_causes(
    service: ServiceConfig,
    span: Span,
    reads: Reads,
    records: Records,
    *,
    check: str,
    as_of: date,
) -> list[Candidate]:
    """The service's revisions that began serving inside `span` (or, for a failure that may
    have begun before its window, the one that served through it and was replaced as it ended:
    `ended_with`), each with what became of it."""
    revisions = reads.revisions(service.name)
    found: list[Candidate] = []
    for index, revision in enumerate(revisions):
        if not revision.ready:
            continue
        began_in = span.opened and span.holds(revision.created)
        if not began_in and (span.opened or not ended_with(revisions, index, span)):
            continue
        before = next((r for r in reversed(revisions[:index]) if r.ready), None)
        commit = reads.commit(revision.commit_label)
        if before is not None and _older(commit, reads.commit(before.commit_label)):
            continue  # a rollback: it restores code that ran before
        fate, serving = _after(reads, revisions, index)
        state = reads.service(service.name)
        serving = serving and bool(
            state and any(t.revision == revision.name for t in state.serving)
        )
        where = (
            f"inside {check}'s window ({span.failing()})"
            if began_in
            else f"({span.game_day(revision.created)}); {check} is {span.failing()}, and it "
            "served through the failing days"
        )
        evidence = (
            f"{service.name} began serving {revision.name} ({_what(reads, revision, service)}) on "
            f"{revision.created:%Y-%m-%d %H:%M} UTC{',' if began_in else ''} {where}; {fate}"
        )
        shipped = records.shipped(service.name, revision.name)
        setback = records.setback(service.name, revision.name)
        extra = [text for text in (shipped, setback.text() if setback else None) if text]
        if extra:
            evidence += "; " + "; ".join(extra)
        if serving and before is not None:
            fix = Fix(FixKind.ROLLBACK, service=service.name, revision=before.name)
            action = f"/rollback {service.name} {before.name}"
        else:
            fix = Fix(FixKind.POSTMORTEM, start=as_of)
            action = f"/postmortem {as_of}"
        cause = Cause(
            kind=CauseKind.DEPLOY,
            evidence=evidence,
            service=service.name,
            revision=revision.name,
            commit=commit.sha if commit else revision.commit_label,
            since=revision.created,
            action=action,
            fix=fix,
        )
        found.append(Candidate(Strength.DEPLOY, cause))
    return found
