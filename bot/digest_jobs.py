"""Scheduled jobs run by the bot: rendered with the digest views and posted to their channels.

Every way a job fires (APScheduler, Cloud Scheduler's POST /cron/<job>, "Post now", the catch-up
at start) comes here and runs commands.schedule.runner in a worker thread, posting with
slack_sdk's WebClient: the same code as `opsbot schedule run` in a terminal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from slack_sdk.web import WebClient

from bot.views.digests import render
from bot.views.kit import fallback
from bot.views.postmortem import draft_reminder, item_reminder, offer
from checks.result import HealthReport, Status
from commands.postmortem.reminders import Reminders
from commands.schedule.decide import Post
from commands.schedule.job import JobId
from commands.schedule.registry import JOBS
from commands.schedule.runner import (
    JobTools,
    Publication,
    RunResult,
    catch_up,
    replica_name,
    run_now,
    run_scheduled,
)
from config import Profile
from infra.once import Once

log = logging.getLogger("opsbot.schedule")


def slack_publisher(
    client: WebClient, profile: Profile | None = None
) -> Callable[[Publication], list[tuple[str, str]]]:
    """Posts a publication: its channel, and a CRITICAL one in full to the critical channel.

    With `profile` (the bot writes postmortems): reminders go to drafts' threads and owners, and
    a health digest where a CRITICAL check recovered offers "Start postmortem" in its thread.
    """

    def publish(publication: Publication) -> list[tuple[str, str]]:
        if isinstance(publication.report, Reminders):
            assert profile is not None, "postmortem reminders need the profile"
            return remind(client, profile, publication.config.channel, publication.report)
        text, blocks = render(publication)
        channels = [publication.config.channel]
        critical = publication.config.critical_channel
        if critical and publication.findings.critical and publication.post is Post.FULL:
            channels.append(critical)
        posted = []
        for channel in channels:
            answer = client.chat_postMessage(channel=channel, text=fallback(text), blocks=blocks)
            posted.append((str(answer["channel"]), str(answer["ts"])))
        if profile is not None and posted and isinstance(publication.report, HealthReport):
            offer_recovered(client, publication, publication.report, posted[0])
        return posted

    return publish


def offer_recovered(
    client: WebClient, publication: Publication, report: HealthReport, where: tuple[str, str]
) -> None:
    """Checks CRITICAL in the last digest and OK now: "Start postmortem" for that game day."""
    before = publication.previous.detail if publication.previous else {}
    was = before.get("checks", {})
    recovered = [
        r.name for r in report.results if r.status is Status.OK and was.get(r.name) == "CRITICAL"
    ]
    if not recovered or not before.get("as_of"):
        return
    text, blocks = offer(
        f"date:{before['as_of']}",
        f"{', '.join(recovered)} recovered (CRITICAL on {before['as_of']})",
    )
    client.chat_postMessage(channel=where[0], thread_ts=where[1], text=text, blocks=blocks)


def remind(
    client: WebClient, profile: Profile, channel: str, due: Reminders
) -> list[tuple[str, str]]:
    """Each reminder where its person sees it: a draft's thread (else the job's channel), an
    owner's direct messages."""
    timezone = profile.platform.human_timezone
    posted = []
    for stored, due_at in due.drafts:
        text = draft_reminder(stored, due_at, timezone)
        answer = client.chat_postMessage(
            channel=stored.slack_channel or channel, thread_ts=stored.slack_ts, text=text
        )
        posted.append((str(answer["channel"]), str(answer["ts"])))
    for reminder in due.items:
        text = item_reminder(reminder.item, reminder.which, reminder.postmortem)
        answer = client.chat_postMessage(channel=reminder.item.owner, text=text)
        posted.append((str(answer["channel"]), str(answer["ts"])))
    return posted


class DigestJobs:
    """The bot's scheduled jobs: fired by a scheduler, Cloud Scheduler or a person."""

    def __init__(
        self, tools_of: Once[JobTools], client: WebClient, profile: Profile | None = None
    ) -> None:
        self.tools_of = tools_of
        self.publish = slack_publisher(client, profile)  # profile: postmortems are on
        self.by = replica_name()

    async def fire(self, job: JobId, trigger: str, fired_at: datetime | None = None) -> RunResult:
        """The newest slot of `job` at `fired_at` (default: now), once across every replica."""
        tools = await asyncio.to_thread(self.tools_of)
        at = fired_at or tools.clock()
        return await asyncio.to_thread(
            lambda: run_scheduled(tools, job, at, self.publish, trigger=trigger, by=self.by)
        )

    async def post_now(self, job: JobId) -> RunResult:
        """A person's "Post now": in full, once per job and minute."""
        tools = await asyncio.to_thread(self.tools_of)
        return await asyncio.to_thread(
            lambda: run_now(tools, job, self.publish, by=self.by, force=True, full=True)
        )

    async def catch_up(self) -> list[RunResult]:
        """After a start: each job's newest slot, if it was missed within the grace, runs once."""
        tools = await asyncio.to_thread(self.tools_of)
        done = []
        for job in JOBS:
            try:
                found = await asyncio.to_thread(catch_up, tools, job.id, self.publish, by=self.by)
            except Exception:
                log.exception("catching up %s failed", job.id)
                continue
            if found is not None:
                done.append(found)
        return done
