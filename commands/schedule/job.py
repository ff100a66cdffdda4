"""A scheduled job, as its module declares it (commands/schedule/jobs/): its names, its default
schedule and channel, and what a run finds. The registry (commands/schedule/registry.py) lists
them; the runner runs any of them the same way; each face reads their names from the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar

from commands.schedule.decide import Post
from commands.schedule.digests import Findings
from config import JobConfig, ScheduleConfig

if TYPE_CHECKING:
    from commands.schedule.runner import JobTools

JobId = str
"""A job's id, one of the registry's JOB_IDS: the profile's [schedule.jobs.<id>], the store's
runs, Cloud Scheduler's /cron/<id>, `opsbot schedule run <id>`."""

R = TypeVar("R")  # the job's report: what its run found, rendered by the face that posts it


@dataclass(frozen=True)
class Job(Generic[R]):
    id: JobId
    short: str  # `/digest drift`, `opsbot schedule run drift`
    title: str  # "Drift digest": its heartbeat line, the App Home
    about: str  # what it posts, in one line (help texts)
    default: JobConfig  # its cron, time zone and channel where the profile names none
    sandbox_cron: str  # the sandbox's schedule: minutes instead of hours, so it shows
    find: Callable[[JobTools, datetime], tuple[Findings, R]]
    # A job that speaks only when something is due (reminders) decides by its report, never
    # by comparing digests; None: post in full on a change, else one heartbeat line a day.
    decide: Callable[[R], Post] | None = None
    # After its post: what the job records so the next run does not repeat it.
    posted: Callable[[JobTools, R], None] | None = None

    def config(self, schedule: ScheduleConfig) -> JobConfig:
        """Its schedule and channel: the profile's [schedule.jobs.<id>], else its default."""
        return schedule.jobs.get(self.id, self.default)
