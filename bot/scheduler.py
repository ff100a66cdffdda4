"""In-process mode: APScheduler 3's AsyncIOScheduler inside `opsbot serve`, on the job clock.

Each replica runs its own scheduler with an in-memory job store: APScheduler's FAQ says a job
store must never be shared between schedulers, and nothing needs sharing, because every run is
claimed in opsbot's store under (job, fire time) before it posts (commands/schedule/runner.py).
A run missed while the process was down is caught up at start (within `misfire_grace_s`);
one missed while the loop was busy is run late by APScheduler within the same grace, coalesced.
A run whose holder was killed mid-run (its claim no longer renewed) is taken over by the sweep
every replica runs once per silence window beside the scheduler (commands/schedule/runner.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN, SchedulerEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

from bot.digest_jobs import DigestJobs
from commands.schedule import cron
from commands.schedule.job import JobId
from commands.schedule.registry import JOBS
from config import ScheduleConfig
from infra.clock import utc_now
from store.schedule_views import silence_s

log = logging.getLogger("opsbot.schedule")


class OnClock(BaseTrigger):  # type: ignore[misc]
    """A cron trigger read on the job clock (the sandbox's may run ahead or behind the wall)."""

    def __init__(self, cron_line: str, timezone: str, clock: Callable[[], datetime]) -> None:
        self.inner = cron.trigger(cron_line, timezone)
        self.clock = clock

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        offset = self.clock() - utc_now()
        previous = previous_fire_time + offset if previous_fire_time else None
        following = self.inner.get_next_fire_time(previous, now + offset)
        return None if following is None else following - offset

    def __str__(self) -> str:
        return f"cron on the job clock ({self.inner})"


def start_scheduler(
    jobs: DigestJobs,
    config: ScheduleConfig,
    clock: Callable[[], datetime],
    timezone: tzinfo = UTC,
) -> AsyncIOScheduler:
    """APScheduler started on the running loop, one job per enabled job of the profile."""
    scheduler = AsyncIOScheduler(timezone=timezone)
    for job in JOBS:
        settings = job.config(config)
        if not settings.enabled:
            continue
        scheduler.add_job(
            _fire,
            OnClock(settings.cron, settings.timezone, clock),
            args=[jobs, job.id],
            id=job.id,
            name=job.id,
            misfire_grace_time=int(config.misfire_grace_s) or None,
            coalesce=True,  # runs missed while busy: one run, which names what it missed
            max_instances=1,
        )
    scheduler.start()
    sweeping = asyncio.get_running_loop().create_task(
        sweep(jobs, silence_s(config.claim_lease_s)), name="opsbot-takeover-sweep"
    )

    def stop_sweeping(event: SchedulerEvent) -> None:
        sweeping.cancel()

    scheduler.add_listener(stop_sweeping, EVENT_SCHEDULER_SHUTDOWN)
    log.info("scheduler started: %s", ", ".join(j.id for j in scheduler.get_jobs()))
    return scheduler


async def sweep(jobs: DigestJobs, every_s: float) -> None:
    """Every `every_s`, for as long as the scheduler runs: take over runs whose holder died."""
    while True:
        await asyncio.sleep(every_s)
        try:
            for done in await jobs.take_over():
                log.info("took over %s for %s: %s", done.job, done.slot.isoformat(), done.outcome)
        except Exception:
            log.exception("the takeover sweep failed")


async def _fire(jobs: DigestJobs, job: JobId) -> None:
    try:
        done = await jobs.fire(job, trigger="scheduler")
        log.info("scheduled %s: %s", job, done.outcome)
    except Exception:
        log.exception("scheduled %s failed", job)
