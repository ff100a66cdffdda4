"""The scheduled jobs opsbot runs, one module each in commands/schedule/jobs/.

Adding a job: its module (a JOB: names, default schedule and channel, what a run finds) and its
line here. The profile, `opsbot schedule`, `/digest`, the App Home, the in-process scheduler,
Cloud Scheduler's /cron/<job> and the sandbox's compressed schedule all read this list; the
profile's [schedule.jobs.<id>] overrides a job's default schedule or channel.
"""

from __future__ import annotations

from typing import Any

from commands.errors import RequestError
from commands.schedule.job import Job, JobId
from commands.schedule.jobs import drift_digest, health_digest, postmortem_reminders, weekly_report

JOBS: tuple[Job[Any], ...] = (
    drift_digest.JOB,
    health_digest.JOB,
    weekly_report.JOB,
    postmortem_reminders.JOB,
)
JOB_IDS: tuple[JobId, ...] = tuple(job.id for job in JOBS)
BY_ID: dict[JobId, Job[Any]] = {job.id: job for job in JOBS}
_NAMED = {name: job for job in JOBS for name in (job.id, job.short)}
assert len(_NAMED) == 2 * len(JOBS), "two jobs share an id or a short name"


def job_named(name: str) -> Job[Any]:
    """The job called `name` (its id or its short name), or a RequestError listing them."""
    found = _NAMED.get(name.strip().lower())
    if found is None:
        raise RequestError(f"unknown job {name!r}: expected {listing()} (or {listing(short=True)})")
    return found


def listing(*, short: bool = False) -> str:
    """'drift-digest, health-digest, weekly-report or postmortem-reminders' (help and errors)."""
    names = [job.short if short else job.id for job in JOBS]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
