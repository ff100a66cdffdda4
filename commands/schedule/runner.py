"""One run of a scheduled job, the same whoever fires it: claim the slot, find, decide, post, record.

Any job of the registry (commands/schedule/registry.py) runs here: its module says what it finds
and, for a job that speaks only when something is due, how it decides and what it records.

The claim comes first and is write-once per (job, fire time), so replicas, Cloud Scheduler's
retries and a terminal's `schedule run` post once per slot. Runs missed while nobody was up are
named in the next run's message; within `misfire_grace_s` they are caught up at start, as one run.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from commands.platform import Platform
from commands.schedule import cron
from commands.schedule.decide import Before, Post, decide
from commands.schedule.digests import Findings
from commands.schedule.job import JobId
from commands.schedule.registry import BY_ID
from config import JobConfig, Profile
from store.backfill_views import BackfillView
from store.schedule_views import Outcome, RunView
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
    report: Any  # what the job's find returned: DriftReport, HealthReport, WeeklyReport, Reminders
    previous: RunView | None  # the last full post: what "new since" compares with
    missed: list[datetime]
    now: datetime

    @property
    def title(self) -> str:
        """The job's name in words ("Drift digest"), as its module gives it."""
        return BY_ID[self.job].title


Publish = Callable[[Publication], list[tuple[str, str]]]  # → the (channel, ts) posted


@dataclass(frozen=True)
class RunResult:
    job: JobId
    slot: datetime
    outcome: Outcome  # full, heartbeat, quiet, failed, taken (another claimer has the slot), off
    summary: str = ""
    posted: list[tuple[str, str]] = field(default_factory=list)


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
    spec = BY_ID[job]
    config = spec.config(tools.profile.schedule)
    claimed = tools.runs.claim(job, slot, by=by, trigger=trigger, manual=manual)
    if claimed is None:
        return RunResult(job, slot, Outcome.TAKEN)
    try:
        missed = [] if manual else missed_slots(tools, job, config, slot, including=catching_up)
        now = tools.clock()
        findings, report = spec.find(tools, now)
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
        if spec.decide is not None:  # said when due, never as a digest or heartbeat
            post = spec.decide(report)
        posted: list[tuple[str, str]] = []
        if post is not Post.QUIET:
            posted = publish(
                Publication(job, config, post, findings, report, previous, missed, now)
            )
        if spec.posted is not None:
            spec.posted(tools, report)
    except Exception as exc:
        failure = f"{type(exc).__name__}: {exc}"
        tools.runs.finish(claimed, outcome=Outcome.FAILED, summary=failure)
        log.exception("scheduled %s for %s failed", job, slot.isoformat())
        return RunResult(job, slot, Outcome.FAILED, failure)
    outcome = Outcome(post.value)
    tools.runs.finish(
        claimed,
        outcome=outcome,
        summary=findings.summary,
        fingerprint=findings.fingerprint,
        detail=findings.detail,
        missed=missed,
        posted=posted,
    )
    log.info("scheduled %s for %s: %s (%s)", job, slot.isoformat(), outcome, findings.summary)
    return RunResult(job, slot, outcome, findings.summary, posted)


def run_scheduled(
    tools: JobTools, job: JobId, fired_at: datetime, publish: Publish, *, trigger: str, by: str
) -> RunResult:
    """A scheduler fired (APScheduler, Cloud Scheduler): the run of the newest slot at `fired_at`."""
    config = BY_ID[job].config(tools.profile.schedule)
    slot = cron.latest_slot(config.cron, config.timezone, fired_at + timedelta(seconds=1))
    if slot is None or not config.enabled:
        return RunResult(job, fired_at, Outcome.OFF)
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
    config = BY_ID[job].config(tools.profile.schedule)
    now = tools.clock()
    slot = cron.latest_slot(config.cron, config.timezone, now)
    if slot is None or not config.enabled:
        return None
    if (now - slot).total_seconds() > tools.profile.schedule.misfire_grace_s:
        return None
    if tools.runs.slot(job, slot) is not None or tools.runs.last_done(job, before=slot) is None:
        return None
    return run_job(tools, job, slot, publish, trigger="catch-up", by=by, catching_up=True)
