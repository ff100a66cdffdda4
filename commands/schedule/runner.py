"""One run of a scheduled job, the same whoever fires it: claim the slot, find, decide, post, record.

The claim comes first and is write-once per (job, fire time), so replicas, Cloud Scheduler's
retries and a terminal's `schedule run` post once per slot. Runs missed while nobody was up are
named in the next run's message; within `misfire_grace_s` they are caught up at start, as one run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from commands.platform import Platform
from commands.postmortem.reminders import Reminders, due_reminders, mark_sent
from commands.schedule import cron
from commands.schedule.decide import Before, Post, decide
from commands.schedule.digests import Findings, drift_findings, health_findings
from commands.schedule.weekly import WEEK, WeeklyReport, week_figures
from config import JobConfig, JobId, Profile
from store.backfill_views import BackfillView
from store.schedule_views import RunView
from store.views import AuditView, RolloutView

if TYPE_CHECKING:
    from store.postmortems import Postmortems
    from store.schedule_runs import ScheduleRuns

log = logging.getLogger("opsbot.schedule")


def replica_name() -> str:
    """Who claims: host and process (logged, and shown by `schedule list`)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


@dataclass(frozen=True)
class JobTools:
    """What jobs read and record: the platform, the store's runs, rollouts and backfills."""

    profile: Profile
    runs: ScheduleRuns
    platform: Callable[[], Platform]
    clock: Callable[[], datetime]
    audit: Callable[[], Sequence[AuditView]] = lambda: []  # the rollouts' audit log
    rollout_commits: Callable[[], dict[int, str]] = lambda: {}  # rollout id → its commit
    backfills: Callable[[], Sequence[BackfillView]] = lambda: []
    active_rollouts: Callable[[], Sequence[RolloutView]] = lambda: []  # for the App Home
    running_backfills: Callable[[], Sequence[BackfillView]] = lambda: []
    postmortems: Postmortems | None = None  # reminders, and the weekly report's action items


@dataclass(frozen=True)
class Publication:
    """What a run posts (rendered by the face that posts it)."""

    job: JobId
    config: JobConfig
    post: Post
    findings: Findings
    report: Any  # DriftReport, HealthReport or WeeklyReport
    previous: RunView | None  # the last full post: what "new since" compares with
    missed: list[datetime]
    now: datetime


Publish = Callable[[Publication], list[tuple[str, str]]]  # → the (channel, ts) posted


@dataclass(frozen=True)
class RunResult:
    job: JobId
    slot: datetime
    outcome: str  # full, heartbeat, quiet, failed, taken (another claimer has the slot), off
    summary: str = ""
    posted: list[tuple[str, str]] = field(default_factory=list)


def find(tools: JobTools, job: JobId, now: datetime) -> tuple[Findings, Any]:
    """Run the job's report and reduce it to findings."""
    from commands.drift import run_drift
    from commands.health import run_health

    profile = tools.profile
    if job == "postmortem-reminders":
        if tools.postmortems is None:
            return Findings(None, "no postmortems here", False), Reminders()
        due = due_reminders(profile, tools.postmortems, now)
        return Findings(None, due.summary, False), due
    platform = tools.platform()
    if job == "drift-digest":
        report: Any = run_drift(profile, platform.drift_sources(), [], now)
        return drift_findings(report), report
    if job == "health-digest":
        health = asyncio.run(
            run_health(profile, platform.warehouse, now=now, drift_sources=platform.drift_sources)
        )
        return health_findings(health), health
    weekly = weekly_report(tools, platform, now)
    summary = (
        f"{weekly.this.deploy_count} deploys, {weekly.this.rolled_back} rolled back, "
        f"{weekly.this.backfills} backfills"
    )
    return Findings(None, summary, False), weekly


def weekly_report(tools: JobTools, platform: Platform, now: datetime) -> WeeklyReport:
    """The week up to `now` and the week before it."""
    audit = list(tools.audit())
    commits = tools.rollout_commits()
    health = tools.runs.between("health-digest", now - 3 * WEEK, now)
    backfills = list(tools.backfills())
    repo = None

    def commit_time(sha: str) -> datetime | None:
        nonlocal repo
        try:
            repo = repo or platform.drift_sources().repo
            found = repo.resolve(sha)
        except Exception:  # git unreachable: lead time is left out, the rest still counts
            log.warning("weekly report: no commit time for %s", sha, exc_info=True)
            return None
        return found.committed if found else None

    def figures(end: datetime) -> Any:
        return week_figures(end - WEEK, end, audit, commits, commit_time, health, backfills)

    items = tools.postmortems.open_items() if tools.postmortems is not None else []
    today = now.astimezone(ZoneInfo(tools.profile.platform.human_timezone)).date()
    return WeeklyReport(
        this=figures(now), before=figures(now - WEEK), open_items=items, today=today
    )


def missed_slots(
    tools: JobTools, job: JobId, config: JobConfig, slot: datetime, *, including: bool
) -> list[datetime]:
    """Slots between the last run that ended well and this one (and this one, `including`)."""
    last = tools.runs.last_done(job, before=slot)
    if last is None:
        return []
    missed = list(cron.slots(config.cron, config.timezone, last.fire_time, slot))
    return missed if including else [m for m in missed if m != slot]


def run_job(
    tools: JobTools,
    job: JobId,
    slot: datetime,
    publish: Publish,
    *,
    trigger: str,
    by: str,
    manual: bool = False,
    full: bool = False,
    catching_up: bool = False,
) -> RunResult:
    """Claim (job, slot), then find, decide and publish; a slot already claimed does nothing."""
    config = tools.profile.schedule.jobs[job]
    claimed = tools.runs.claim(job, slot, by=by, trigger=trigger, manual=manual)
    if claimed is None:
        return RunResult(job, slot, "taken")
    try:
        missed = [] if manual else missed_slots(tools, job, config, slot, including=catching_up)
        now = tools.clock()
        findings, report = find(tools, job, now)
        previous = tools.runs.last_full(job)
        last_post = tools.runs.last_post(job)
        before = Before(
            previous.fingerprint if previous else None,
            previous.fire_time if previous else None,
            last_post.finished_at if last_post else None,
        )
        post = decide(
            findings.fingerprint, before, now, config.timezone, full=full, missed=bool(missed)
        )
        if isinstance(report, Reminders):  # said when due, never as a digest or heartbeat
            post = Post.FULL if report.count else Post.QUIET
        posted: list[tuple[str, str]] = []
        if post is not Post.QUIET:
            posted = publish(
                Publication(job, config, post, findings, report, previous, missed, now)
            )
        if isinstance(report, Reminders) and tools.postmortems is not None:
            mark_sent(tools.postmortems, report)
    except Exception as exc:
        tools.runs.finish(claimed, outcome="failed", summary=f"{type(exc).__name__}: {exc}")
        log.exception("scheduled %s for %s failed", job, slot.isoformat())
        return RunResult(job, slot, "failed", f"{type(exc).__name__}: {exc}")
    tools.runs.finish(
        claimed,
        outcome=post.value,
        summary=findings.summary,
        fingerprint=findings.fingerprint,
        detail=findings.detail,
        missed=missed,
        posted=posted,
    )
    log.info("scheduled %s for %s: %s (%s)", job, slot.isoformat(), post.value, findings.summary)
    return RunResult(job, slot, post.value, findings.summary, posted)


def run_scheduled(
    tools: JobTools, job: JobId, fired_at: datetime, publish: Publish, *, trigger: str, by: str
) -> RunResult:
    """A scheduler fired (APScheduler, Cloud Scheduler): the run of the newest slot at `fired_at`."""
    config = tools.profile.schedule.jobs[job]
    slot = cron.latest_slot(config.cron, config.timezone, fired_at + timedelta(seconds=1))
    if slot is None or not config.enabled:
        return RunResult(job, fired_at, "off")
    return run_job(tools, job, slot, publish, trigger=trigger, by=by)


def run_now(
    tools: JobTools, job: JobId, publish: Publish, *, by: str, force: bool, full: bool = False
) -> RunResult:
    """A person asked: the current slot (once), or with `force` a run of its own, one per job
    and minute however many clicks (keyed by the minute, apart from the scheduled slots)."""
    now = tools.clock()
    if force or full:
        minute = now.replace(second=0, microsecond=0)
        return run_job(tools, job, minute, publish, trigger="manual", by=by, manual=True, full=full)
    return run_scheduled(tools, job, now, publish, trigger="cli", by=by)


def catch_up(tools: JobTools, job: JobId, publish: Publish, *, by: str) -> RunResult | None:
    """At start: the newest slot, if it was missed, is younger than the grace and the job has
    run before (a first start is not a catch-up). Runs missed before it are named with it."""
    config = tools.profile.schedule.jobs[job]
    now = tools.clock()
    slot = cron.latest_slot(config.cron, config.timezone, now)
    if slot is None or not config.enabled:
        return None
    if (now - slot).total_seconds() > tools.profile.schedule.misfire_grace_s:
        return None
    if tools.runs.slot(job, slot) is not None or tools.runs.last_done(job, before=slot) is None:
        return None
    return run_job(tools, job, slot, publish, trigger="catch-up", by=by, catching_up=True)
