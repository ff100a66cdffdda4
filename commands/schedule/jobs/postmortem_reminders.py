"""Postmortem reminders: drafts near their due mark (in their threads), action items due (to
their owners). Said only when something is due, never as a digest or a heartbeat."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from commands.postmortem.reminders import Reminders, due_reminders, mark_sent
from commands.schedule.decide import Post
from commands.schedule.digests import Findings
from commands.schedule.job import Job
from config import JobConfig

if TYPE_CHECKING:
    from commands.schedule.runner import JobTools


def find(tools: JobTools, now: datetime) -> tuple[Findings, Reminders]:
    if tools.postmortems is None:
        return Findings(None, "no postmortems here", False), Reminders()
    due = due_reminders(tools.profile, tools.postmortems, now)
    return Findings(None, due.summary, False), due


def decide(due: Reminders) -> Post:
    return Post.FULL if due.count else Post.QUIET


def posted(tools: JobTools, due: Reminders) -> None:
    """Each reminder recorded as sent, so the next run does not repeat it."""
    if tools.postmortems is not None:
        mark_sent(tools.postmortems, due)


JOB = Job(
    id="postmortem-reminders",
    short="reminders",
    title="Postmortem reminders",
    about="drafts near their due mark and action items due, in threads and to their owners",
    # a draft without a message of its own is reminded in this channel
    default=JobConfig(cron="0 * * * *", channel="#deployment-alerts"),
    sandbox_cron="*/10 * * * *",
    find=find,
    decide=decide,
    posted=posted,
)
