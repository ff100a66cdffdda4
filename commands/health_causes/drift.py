"""Drift causes: a fix for a writer of the failing check's table is on main but not deployed,
and traffic splits left on a writer.

The rule for a fix: a commit on main touching the service's sources, not in what it serves,
whose subject begins "fix", committed after the check's window began (an older fix was not
written for this failure), and whose description names the check (its words: "vegas",
"coverage"; commands/fix_names.py, the rule the postmortem's causes use too): its author's own
link to the failure. A fix that names nothing of it is no evidence (a service behind main has
many), so none is claimed from it.
"""

from __future__ import annotations

from adapters.cloudrun_model import Revision
from adapters.git import Undeployed
from checks.base import render_action
from checks.drift_model import deploy_command
from checks.result import Cause, CauseKind, Fix, FixKind
from commands.fix_names import check_words, is_fix, names_check
from commands.health_causes.rank import Candidate, Strength
from commands.health_causes.reads import Reads
from commands.health_causes.span import Span
from config import Profile, ServiceConfig
from infra.wording import plural

SCANNED = 500  # the newest undeployed commits read for fixes (the index answers them at once)


def _undeployed(reads: Reads, revision: Revision, paths: list[str]) -> Undeployed | None:
    repo, commit = reads.repo, reads.commit(revision.commit_label)
    if repo is None:
        return None
    if commit is not None:
        return repo.undeployed(commit.sha, paths, keep=SCANNED)
    return repo.committed_since(revision.created, paths, keep=SCANNED)


def _serving(reads: Reads, service: str) -> list[tuple[Revision, int]]:
    state = reads.service(service)
    by_name = {r.name: r for r in reads.revisions(service)}
    return [
        (by_name[t.revision], t.percent)
        for t in (state.serving if state else [])
        if t.revision in by_name
    ]


def fix_causes(
    profile: Profile, service: ServiceConfig, span: Span, reads: Reads, *, check: str
) -> list[Candidate]:
    """The fixes naming the check that the service's main serving revision lacks: the oldest
    said, with how many more."""
    serving = _serving(reads, service.name)
    if not serving:
        return []
    revision = serving[0][0]
    missing = _undeployed(reads, revision, list(service.source_paths))
    words = check_words(check)
    named = [
        c
        for c in (missing.newest if missing else [])
        if is_fix(c.subject) and c.committed >= span.start and names_check(c.subject, words)
    ]
    if missing is None or not named:
        return []
    first = min(named, key=lambda c: c.committed)
    more = f" (and {plural(len(named) - 1, 'more fix', 'more fixes')})" if len(named) > 1 else ""
    runs = reads.commit(revision.commit_label)
    runs_text = f"runs {runs.short}" if runs else "runs a revision without a known commit"
    evidence = (
        f"the fix {first.short} “{first.subject}” ({first.author}) is on main since "
        f"{first.committed:%Y-%m-%d %H:%M} UTC{more} but not deployed: {service.name} "
        f"{runs_text} ({revision.name}), "
        f"{plural(missing.count, 'commit')} touching its sources behind main"
    )
    cause = Cause(
        kind=CauseKind.DRIFT,
        evidence=evidence,
        service=service.name,
        revision=revision.name,
        commit=first.sha,
        since=first.committed,
        action=render_action(profile.drift.action, service=service.name)
        or deploy_command(service.name),
        fix=Fix(FixKind.DEPLOY, service=service.name),
    )
    return [Candidate(Strength.NAMED_FIX, cause)]


def split_causes(service: ServiceConfig, span: Span, reads: Reads) -> list[Candidate]:
    """A split of the service's traffic over several revisions, in force before the data was
    due (its newest revision was created by then); rolling back sends all to the largest."""
    serving = _serving(reads, service.name)
    if len(serving) < 2:
        return []
    began = max(r.created for r, _ in serving)
    if began > span.end:
        return []
    # the postmortem's wording of a split (imported here: its module brings the postmortem's
    # tools, 50 ms a report without a split need not pay)
    from commands.postmortem.evidence import split_text

    stable = serving[0][0]
    split = split_text({r.name: percent for r, percent in serving})
    evidence = (
        f"{service.name}'s traffic is split ({split}) since {began:%Y-%m-%d %H:%M} UTC, "
        f"before {span.first_day}'s data was due"
    )
    cause = Cause(
        kind=CauseKind.TRAFFIC_SPLIT,
        evidence=evidence,
        service=service.name,
        revision=max(serving, key=lambda pair: pair[0].created)[0].name,
        since=began,
        action=f"/rollback {service.name} {stable.name}",
        fix=Fix(FixKind.ROLLBACK, service=service.name, revision=stable.name),
    )
    return [Candidate(Strength.TRAFFIC_SPLIT, cause)]
