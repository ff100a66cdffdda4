"""Where each job stands: its schedule, next run, last run and result (`schedule list`, /digest)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from commands.schedule import cron
from commands.schedule.job import Job, JobId
from commands.schedule.registry import JOBS
from config import JobConfig, Profile
from store.schedule_views import RunView

if TYPE_CHECKING:
    from store.schedule_runs import ScheduleRuns


@dataclass(frozen=True)
class JobStatus:
    job: Job[Any]
    config: JobConfig  # the profile's, else the job's default
    next_run: datetime | None
    last_run: RunView | None

    @property
    def id(self) -> JobId:
        return self.job.id

    def to_json(self) -> dict[str, Any]:
        last = self.last_run
        return {
            "id": self.id,
            "cron": self.config.cron,
            "timezone": self.config.timezone,
            "channel": self.config.channel,
            "critical_channel": self.config.critical_channel,
            "enabled": self.config.enabled,
            "next_run": self.next_run.isoformat() if self.next_run else None,
            "last_run": last.fire_time.isoformat() if last else None,
            "last_result": last.result if last else None,
            "last": last.to_json() if last else None,
        }


def job_statuses(
    profile: Profile, runs: ScheduleRuns, now: datetime, only: Sequence[Job[Any]] = JOBS
) -> list[JobStatus]:
    """Each job of the registry (or `only` these), in its order."""
    found = []
    for job in only:
        config = job.config(profile.schedule)
        following = cron.next_slot(config.cron, config.timezone, now) if config.enabled else None
        found.append(JobStatus(job, config, following, runs.latest(job.id)))
    return found
