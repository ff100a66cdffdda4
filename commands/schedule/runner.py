"""One run of a scheduled job, the same whoever fires it: claim the slot, find, decide, post, record.

Any job of the registry (commands/schedule/registry.py) runs here: its module says what it finds
and, for a job that speaks only when something is due, how it decides and what it records.

The claim comes first and is write-once per (job, fire time), so replicas, Cloud Scheduler's
retries and a terminal's `schedule run` post once per slot. Runs missed while nobody was up are
named in the next run's message; within `misfire_grace_s` they are caught up at start, as one run.

The holder renews its claim while it works (a heartbeat thread) and records that it is posting
before its first post and each post as it is made; a holder killed mid-run (kill -9) goes silent,
and its run is taken over after the silence window (store/schedule_runs.py) by the next claimer:
the catch-up at start, the takeover sweep (`take_over`, every replica, in-process mode), Cloud
Scheduler's retry, or "Post now". The taker posts only the parts not posted yet; the publisher
looks in Slack for a post the dead holder made but never recorded (bot/digest_jobs.py).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from commands.platform import Platform
from commands.schedule import cron
from commands.schedule.claims import ClaimLost, Held, heartbeat
from commands.schedule.decide import Before, Post, decide
from commands.schedule.digests import Findings
from commands.schedule.job import Job, JobId
from commands.schedule.registry import BY_ID
from config import JobConfig, Profile
from store.backfill_views import BackfillView
from store.schedule_views import DIGEST_EVENT, Outcome, RunView
from store.views import AuditView, RolloutView

if TYPE_CHECKING:
    from store.postmortems import Postmortems
    from store.schedule_runs import ScheduleRuns

log = logging.getLogger("opsbot.schedule")
# A Post now whose replica died is posted by the sweep within this (later, nobody waits for it)
MANUAL_TAKEOVER = timedelta(minutes=5)


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


def _record_nothing(part: str, channel: str, ts: str) -> None:
    """A publication outside a claimed run (a preview): nothing to record."""


@dataclass(frozen=True)
class Delivery:
    """How a run's posts are made once: each part of the publication (its channel, its critical
    channel, a reminder) is tagged with the run in the message's metadata and recorded as soon
    as it is posted; a part an earlier holder recorded is not posted again, and after taking
    over a holder that began posting (`look`), the publisher looks in Slack for the part first."""

    tag: Mapping[str, Any] = field(default_factory=dict)  # the run: job, slot, manual
    posted: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # part → (channel, ts)
    look: bool = False
    record: Callable[[str, str, str], None] = _record_nothing  # (part, channel, ts)

    def metadata(self, part: str) -> dict[str, Any] | None:
        """chat.postMessage's `metadata` for one part of the run (None outside a run)."""
        if not self.tag:
            return None
        return {"event_type": DIGEST_EVENT, "event_payload": {**self.tag, "part": part}}

    def shows(self, message: Mapping[str, Any], part: str) -> bool:
        """Whether a message from conversations.history is this run's `part` (its metadata,
        compared as text: Slack keeps the payload's strings, numbers and booleans)."""
        metadata = message.get("metadata")
        if not self.tag or not isinstance(metadata, Mapping):
            return False
        payload = metadata.get("event_payload")
        wanted = {**self.tag, "part": part}
        return (
            metadata.get("event_type") == DIGEST_EVENT
            and isinstance(payload, Mapping)
            and all(str(payload.get(k)) == str(v) for k, v in wanted.items())
        )


@dataclass(frozen=True)
class Publication:
    """What a run posts (rendered by the face that posts it)."""

    job: JobId
    config: JobConfig
    post: Post
    findings: Findings
    report: Any  # what the job's find returned: DriftDigest, HealthReport, WeeklyReport, Reminders
    previous: RunView | None  # the last full post: what "new since" compares with
    missed: list[datetime]
    now: datetime
    delivery: Delivery = field(default_factory=Delivery)  # posted once per run, recorded

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
    holder: RunView | None = None  # taken: the slot's run, as its holder has it now
    took_over: str | None = None  # the holder this run was taken from (it died, or failed)

    @property
    def busy(self) -> bool:
        """Taken by a holder that is running it now (alive), not by a run that ended."""
        return self.outcome is Outcome.TAKEN and (self.holder is None or not self.holder.done)


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
    """Claim (job, slot), then find, decide and publish; a slot another holder has (alive, or
    ended) does nothing; one whose holder died or failed is taken over."""
    claimed = tools.runs.claim(job, slot, by=by, trigger=trigger, manual=manual)
    if claimed is None:
        return not_ours(tools, job, slot, manual)
    held = Held(tools.runs, claimed)
    with heartbeat(held, tools.runs.heartbeat_s):
        return _run_held(tools, held, publish, full=full, catching_up=catching_up)


def not_ours(tools: JobTools, job: JobId, slot: datetime, manual: bool) -> RunResult:
    """What a claimer that lost is told: taken, with the run as its holder has it (ended, or
    running: `busy`)."""
    return RunResult(job, slot, Outcome.TAKEN, holder=tools.runs.slot(job, slot, manual=manual))


def _run_held(
    tools: JobTools, held: Held, publish: Publish, *, full: bool, catching_up: bool
) -> RunResult:
    """The run, claimed: find, decide, publish its parts once each, record how it ended."""
    claimed = held.run
    job, slot = claimed.job, claimed.fire_time
    spec = BY_ID[job]
    config = spec.config(tools.profile.schedule)
    try:
        missed = (
            [] if claimed.manual else missed_slots(tools, job, config, slot, including=catching_up)
        )
        now = tools.clock()
        findings, report = spec.find(tools, now)
        previous = tools.runs.last_full(job)
        post = _decide(tools, spec, report, findings, previous, now, config, full, bool(missed))
        posted: list[tuple[str, str]] = []
        if post is not Post.QUIET:
            delivery = _delivery(tools, held)
            held.write(tools.runs.posting)  # from here on, Slack may hold this run's posts
            posted = publish(
                Publication(job, config, post, findings, report, previous, missed, now, delivery)
            )
        if spec.posted is not None:
            spec.posted(tools, report)
    except ClaimLost:
        log.warning("scheduled %s for %s: taken over by another replica meanwhile", job, slot)
        return not_ours(tools, job, slot, claimed.manual)
    except Exception as exc:
        failure = f"{type(exc).__name__}: {exc}"
        held.finish(outcome=Outcome.FAILED, summary=failure)
        log.exception("scheduled %s for %s failed", job, slot.isoformat())
        return RunResult(job, slot, Outcome.FAILED, failure, took_over=claimed.took_over)
    outcome = Outcome(post.value)
    held.finish(
        outcome=outcome,
        summary=findings.summary,
        fingerprint=findings.fingerprint,
        detail=findings.detail,
        missed=missed,
        posted=posted,
    )
    log.info("scheduled %s for %s: %s (%s)", job, slot.isoformat(), outcome, findings.summary)
    return RunResult(job, slot, outcome, findings.summary, posted, took_over=claimed.took_over)


def _decide(
    tools: JobTools,
    spec: Job[Any],
    report: Any,
    findings: Findings,
    previous: RunView | None,
    now: datetime,
    config: JobConfig,
    full: bool,
    missed: bool,
) -> Post:
    """In full on a change (or when asked), else a heartbeat line a day; a job that speaks only
    when something is due decides by its report."""
    if spec.decide is not None:
        return spec.decide(report)
    last_post = tools.runs.last_post(spec.id)
    before = Before(
        previous.fingerprint if previous else None,
        previous.fire_time if previous else None,
        last_post.finished_at if last_post else None,
    )
    return decide(findings.fingerprint, before, now, config.timezone, full=full, missed=missed)


def _delivery(tools: JobTools, held: Held) -> Delivery:
    """The run's posts: tagged with the run, recorded as made, looked for after a takeover."""
    run = held.run

    def record(part: str, channel: str, ts: str) -> None:
        held.write(lambda now_held: tools.runs.record_post(now_held, part, channel, ts))

    return Delivery(
        tag={"job": run.job, "slot": run.fire_time.isoformat(), "manual": run.manual},
        posted=dict(run.parts),
        look=run.took_over is not None and run.began_posting,
        record=record,
    )


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
    and minute however many clicks (keyed by the minute, apart from the scheduled slots). A
    run of that minute whose holder died is taken over; a live one is left to post."""
    now = tools.clock()
    if force or full:
        minute = now.replace(second=0, microsecond=0)
        return run_job(tools, job, minute, publish, trigger="manual", by=by, manual=True, full=full)
    return run_scheduled(tools, job, now, publish, trigger="cli", by=by)


def _newest_slot(tools: JobTools, job: JobId) -> datetime | None:
    """The job's newest slot, if it is enabled and the slot is younger than the grace."""
    config = BY_ID[job].config(tools.profile.schedule)
    now = tools.clock()
    slot = cron.latest_slot(config.cron, config.timezone, now)
    if slot is None or not config.enabled:
        return None
    if (now - slot).total_seconds() > tools.profile.schedule.misfire_grace_s:
        return None
    return slot


def catch_up(tools: JobTools, job: JobId, publish: Publish, *, by: str) -> RunResult | None:
    """At start: the newest slot, if it was missed (never claimed, after the job ran before: a
    first start is not a catch-up) or its holder died, and it is younger than the grace. Runs
    missed before it are named with it."""
    slot = _newest_slot(tools, job)
    if slot is None:
        return None
    run = tools.runs.slot(job, slot)
    if run is None:
        if tools.runs.last_done(job, before=slot) is None:
            return None
        return run_job(tools, job, slot, publish, trigger="catch-up", by=by, catching_up=True)
    return _take_over(tools, run, publish, by=by)


def take_over(tools: JobTools, job: JobId, publish: Publish, *, by: str) -> list[RunResult]:
    """The sweep every replica runs: the job's newest slot (within the grace) and its Post now
    runs of the last MANUAL_TAKEOVER, each run to its end if its holder died (once: the claim)."""
    found = []
    slot = _newest_slot(tools, job)
    run = None if slot is None else tools.runs.slot(job, slot)
    if run is not None:
        found.append(run)
    since = tools.clock() - MANUAL_TAKEOVER
    found += [r for r in tools.runs.running(job, since) if r.manual]
    done = [_take_over(tools, r, publish, by=by) for r in found]
    return [d for d in done if d is not None]


def _take_over(tools: JobTools, run: RunView, publish: Publish, *, by: str) -> RunResult | None:
    """`run`, if its holder went silent (killed), or it failed a silence window ago (a post
    refused past the client's retries): claimed from it and run to its end, once."""
    if not (_silent(tools, run) or _failed_a_while_ago(tools, run)):
        return None
    done = run_job(
        tools,
        run.job,
        run.fire_time,
        publish,
        trigger="takeover",
        by=by,
        manual=run.manual,
        full=run.manual,  # a person's Post now posts in full
    )
    return None if done.outcome is Outcome.TAKEN else done


def _silent(tools: JobTools, run: RunView) -> bool:
    return run.outcome is Outcome.RUNNING and not tools.runs.alive(run)


def _failed_a_while_ago(tools: JobTools, run: RunView) -> bool:
    """A failed scheduled run, tried again by the sweep (every silence window, while its slot is
    the newest within the grace): Cloud Scheduler's retry does this in cron-endpoint mode."""
    ended = run.finished_at or run.claimed_at
    return (
        run.outcome is Outcome.FAILED
        and not run.manual  # a person's Post now said it failed: they may click again
        and tools.clock() - ended >= tools.runs.silence
    )
