"""Where each job stands: its schedule, next run, last run and result (`schedule list`, /digest)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from commands.errors import RequestError
from commands.schedule import cron
from config import JOB_IDS, JobConfig, JobId, Profile
from store.schedule_views import RunView

if TYPE_CHECKING:
    from store.schedule_runs import ScheduleRuns

SHORT_NAMES: dict[str, JobId] = {
    "drift": "drift-digest",
    "health": "health-digest",
    "weekly": "weekly-report",
    "reminders": "postmortem-reminders",
}


@dataclass(frozen=True)
class JobStatus:
    id: JobId
    config: JobConfig
    next_run: datetime | None
    last_run: RunView | None

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


def parse_job(text: str) -> JobId:
    """A job named in full or short (drift, health, weekly, reminders), or a RequestError."""
    word = text.strip().lower()
    if word in SHORT_NAMES:
        return SHORT_NAMES[word]
    for job in JOB_IDS:
        if word == job:
            return job
    raise RequestError(
        f"unknown job {text!r}: expected one of {', '.join(JOB_IDS)} (or drift, health, weekly, reminders)"
    )


def job_statuses(
    profile: Profile, runs: ScheduleRuns, now: datetime, only: list[JobId] | None = None
) -> list[JobStatus]:
    found = []
    for job in only or list(JOB_IDS):
        config = profile.schedule.jobs[job]
        following = cron.next_slot(config.cron, config.timezone, now) if config.enabled else None
        found.append(JobStatus(job, config, following, runs.latest(job)))
    return found
