"""The scheduled jobs' tools, wired: the store's runs, rollouts and backfills, the platform."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from commands.platform import Platform
from commands.schedule.registry import JOBS
from config import Profile

if TYPE_CHECKING:
    from commands.schedule.runner import JobTools
    from store.database import Database

HISTORY = timedelta(days=28)  # what the weekly report reads back: this week, the last, and more


def job_tools(
    profile: Profile,
    database: Database,
    platforms: Callable[[], Platform],
    clock: Callable[[], datetime],
) -> JobTools:
    from commands.schedule.runner import JobTools
    from store.backfills import Backfills
    from store.postmortems import Postmortems
    from store.rollouts import Store
    from store.schedule_runs import ScheduleRuns

    rollouts = Store(database, clock)
    backfills = Backfills(database, clock)
    return JobTools(
        profile=profile,
        runs=ScheduleRuns(database, clock, profile.schedule.claim_lease_s),
        platform=platforms,
        clock=clock,
        audit=lambda: rollouts.audit_log(since=clock() - HISTORY),
        rollout_commits=lambda: {r.id: r.commit_sha for r in rollouts.recent(limit=1000)},
        backfills=lambda: backfills.recent(limit=500),
        active_rollouts=rollouts.active,
        running_backfills=backfills.running,
        postmortems=Postmortems(database, clock),
    )


def compressed_schedule(profile: Profile) -> Profile:
    """The sandbox's profile: the same jobs and channels, on minutes instead of hours (each
    job's `sandbox_cron`), so digests arrive within minutes."""
    schedule = profile.schedule
    jobs = {
        job.id: job.config(schedule).model_copy(update={"cron": job.sandbox_cron}) for job in JOBS
    }
    return profile.model_copy(update={"schedule": schedule.model_copy(update={"jobs": jobs})})
