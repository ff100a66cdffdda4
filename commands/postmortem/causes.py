"""A data incident's candidate causes: what its service ran during it, and the fixes on main.

Causes are what ran *during* the incident: never what runs when the draft is made (a deploy
after the recovery would otherwise be named as the cause, and its fix as what ended it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from adapters.cloud_logging import TrafficChange
from adapters.cloudrun_model import Revision
from adapters.git import CommitInfo, GitRepo
from commands.fix_names import check_words, is_fix, names_check
from commands.postmortem.evidence import Evidence, split_text
from commands.postmortem.model import TimelineEvent
from commands.postmortem.tools import PostmortemTools
from commands.requests import select_services
from infra.wording import plural

FIXES_SHOWN = 5
SHOWN_BEFORE = timedelta(days=2)  # traffic changes this long before the start are in the timeline


@dataclass(frozen=True)
class Window:
    """The incident's time: its first bad game day, its start, its end (recovery, else now)."""

    first: date
    started: datetime
    until: datetime
    recovered_day: date | None  # None: not recovered when the draft was made


def ran_during(
    changes: Sequence[TrafficChange] | None,
    revisions: Sequence[Revision],
    started: datetime,
    until: datetime,
) -> list[tuple[Revision, datetime]]:
    """The rule: the revisions that served during [started, until), each with when it began.

    From Cloud Run's traffic history: the split in force at the start (the last change before
    it) and every revision a change during the incident gave traffic. Without any change up to
    the end (none recorded, or unreadable): the newest revision created before the end, from
    its creation. A revision first given traffic after the end is never one of them.
    """
    by_name = {r.name: r for r in revisions}
    ordered = sorted(changes or [], key=lambda c: c.at)
    before = [c for c in ordered if c.at <= started]
    during = [c for c in ordered if started < c.at < until]
    found: dict[str, tuple[Revision, datetime]] = {}
    for change in before[-1:] + during:
        for name, percent in change.split.items():
            if percent > 0 and name in by_name and name not in found:
                found[name] = (by_name[name], change.at)
    if not before and not during:
        made = [r for r in revisions if r.created < until]
        newest = max(made, key=lambda r: r.created, default=None)
        return [(newest, newest.created)] if newest else []
    return sorted(found.values(), key=lambda pair: pair[1])


def fix_deployed(shipped: Revision, window: Window) -> str:
    """When the fix reached production, against the incident: before, during, or after it
    recovered (then it is not what ended the incident, and the draft says so)."""
    on = f"deployed on {shipped.created:%Y-%m-%d} ({shipped.name})"
    if shipped.created < window.started:
        return f"{on}, before the incident began"
    if window.recovered_day is not None and shipped.created >= window.until:
        return (
            f"{on}, after the data was OK again (game day {window.recovered_day}): "
            "not what ended the incident"
        )
    return f"{on}, during the incident"


def _touches(repo: GitRepo, sha: str, paths: list[str]) -> int:
    return int(bool(paths) and repo.touches(sha, paths))


def _fixes(
    tools: PostmortemTools, found: Evidence, paths: list[str], checks: list[str], window: Window
) -> list[CommitInfo]:
    """Fixes committed on main during the incident: those that name a failing check (the rule
    /health's likely causes use: commands/fix_names.py) when any do, else those touching the
    service's own sources first; at most FIXES_SHOWN, oldest first."""
    repo = tools.deploy.repo
    since = found.read(
        "fixes on main (git)", lambda: repo.committed_since(window.started, paths, keep=500)
    )
    words = [word for check in checks for word in check_words(check)]
    own = [p for p in paths if p != "shared"]
    fixes = [
        c
        for c in (since.newest if since else [])
        if is_fix(c.subject) and c.committed < window.until
    ]
    named = [c for c in fixes if names_check(c.subject, words)]
    fixes = named or sorted(fixes, key=lambda c: (-_touches(repo, c.sha, own), c.committed))
    return sorted(fixes[:FIXES_SHOWN], key=lambda c: c.committed)


def drift_causes(
    tools: PostmortemTools, found: Evidence, service: str, checks: list[str], window: Window
) -> list[str]:
    """What the service ran during the incident, and fixes on main it ran late or not at all;
    its traffic changes around the incident join the timeline."""
    cloud_run, repo = tools.deploy.cloud_run, tools.deploy.repo
    paths = select_services(tools.profile, [service])[0].source_paths
    revisions = (
        found.read(
            f"{service}'s revisions (Cloud Run)", lambda: cloud_run.list_revisions(service, 20)
        )
        or []
    )
    lookback = window.started - timedelta(days=tools.profile.postmortem.window_days)
    changes = found.read(
        f"{service}'s traffic changes (Cloud Audit Logs)",
        lambda: tools.deploy.logs.traffic_changes(service, lookback, window.until),
    )
    ran = ran_during(changes, revisions, window.started, window.until)
    shown = [c for c in changes or [] if c.at >= window.started - SHOWN_BEFORE]
    for change in shown:
        who = f" (by {change.principal})" if change.principal else ""
        text = f"{service} traffic: {split_text(change.split)}{who}"
        found.events.append(TimelineEvent(change.at, "cloud-run", text))
    causes = [_ran_line(tools, found, service, revision, began, window) for revision, began in ran]
    fixes = _fixes(tools, found, paths, checks, window)
    built = [  # each revision's commit, resolved once (oldest revision first)
        (r, c.sha)
        for r in sorted(revisions, key=lambda r: r.created)
        if r.commit_label and (c := repo.resolve(r.commit_label)) is not None
    ]
    for fix in fixes:
        found.events.append(
            TimelineEvent(
                fix.committed, "git", f"commit {fix.short} by {fix.author}: {fix.subject}"
            )
        )
        on_main = (
            f"the fix {fix.short} “{fix.subject}” ({fix.author}) was on main from "
            f"{fix.committed:%Y-%m-%d}"
        )
        shipped = next((r for r, sha in built if repo.is_ancestor(fix.sha, sha)), None)
        if shipped is not None:
            causes.append(f"{on_main} and {fix_deployed(shipped, window)}.")
        else:
            causes.append(f"{on_main} but is not deployed{_now(tools, found, service, paths)}.")
    return causes


def _ran_line(
    tools: PostmortemTools,
    found: Evidence,
    service: str,
    revision: Revision,
    began: datetime,
    window: Window,
) -> str:
    """One revision that ran during the incident, as a cause (its creation joins the timeline)."""
    commit = tools.deploy.repo.resolve(revision.commit_label) if revision.commit_label else None
    what = f"commit {commit.short}" if commit else "a revision without a commit label"
    found.events.append(
        TimelineEvent(
            revision.created,
            "cloud-run",
            f"{service} revision {revision.name} created"
            + (f" (commit {commit.short})" if commit else ""),
        )
    )
    day = began.astimezone(window.started.tzinfo).date()
    if began <= window.started:
        since = f"serving since {began:%Y-%m-%d %H:%M} UTC, before the incident began"
    else:
        near = " — the incident's first day" if abs((day - window.first).days) <= 1 else ""
        since = f"serving from {began:%Y-%m-%d %H:%M} UTC{near}"
    return f"{service} ran {what} (revision {revision.name}) during the incident, {since}."


def _now(tools: PostmortemTools, found: Evidence, service: str, paths: list[str]) -> str:
    """`: <service> runs <commit> now, N commits … behind main`, from what serves now."""
    cloud_run, repo = tools.deploy.cloud_run, tools.deploy.repo
    state = found.read(f"{service} (Cloud Run)", lambda: cloud_run.get_service(service))
    serving = state.serving[0].revision if state and state.serving else None
    live = found.read(
        f"{serving} (Cloud Run)",
        lambda: cloud_run.get_revision(service, serving) if serving else None,
    )
    commit = repo.resolve(live.commit_label) if live and live.commit_label else None
    if commit is None:
        return ""
    behind = repo.count_between(commit.sha, repo.main().sha, paths)
    if behind == 0:  # no "0 commits … behind" beside a fix said not to be deployed
        return f": {service} runs {commit.short} now"
    touching = f"{plural(behind, 'commit')} touching its sources"
    return f": {service} runs {commit.short} now, {touching} behind main"
