"""Scheduled jobs run by the bot: rendered with the digest views and posted to their channels.

Every way a job fires (APScheduler, Cloud Scheduler's POST /cron/<job>, "Post now", the catch-up
at start, the takeover sweep) comes here and runs commands.schedule.runner in a worker thread,
posting with slack_sdk's WebClient: the same code as `opsbot schedule run` in a terminal.

Each message of a run (a part: the channel's, the critical channel's, a reminder) carries the run
in its metadata and is recorded as soon as Slack answers. chat.postMessage has no idempotency key
(`client_msg_id` is not one of its arguments), so a post made by a replica killed before it
recorded it is found afterwards: a replica taking the run over reads the channel's recent history
(conversations.history with include_all_metadata, as the rollouts do) and records the post it
finds instead of posting again. Where Slack cannot say (a thread reply, a direct message, no
channels:history), the part is posted again: a repeated digest is better than a missing one.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web import WebClient

from bot.views.digests import render
from bot.views.kit import fallback
from bot.views.postmortem import draft_reminder, item_reminder, offer
from checks.result import HealthReport, Status
from commands.postmortem.reminders import Reminders
from commands.schedule.decide import Post
from commands.schedule.drift_rollouts import DriftDigest
from commands.schedule.job import JobId
from commands.schedule.registry import JOBS
from commands.schedule.runner import (
    Delivery,
    JobTools,
    Publication,
    Publish,
    RunResult,
    catch_up,
    replica_name,
    run_now,
    run_scheduled,
    take_over,
)
from config import Profile
from infra.once import Once

log = logging.getLogger("opsbot.schedule")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
Sweep = Callable[..., list[RunResult]]  # (tools, job, publish, by=): what ran
HISTORY_SCAN = 200  # the channel's newest messages searched for a run's post (a digest is recent)
CHANNEL_PAGES = 20  # conversations.list pages read to find a channel named in the profile


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
            return remind(client, profile, publication)
        text, blocks = render(publication, rollout_links(client, publication.report))
        targets = [("channel", publication.config.channel)]
        critical = publication.config.critical_channel
        if critical and publication.findings.critical and publication.post is Post.FULL:
            targets.append(("critical", critical))
        posted = [
            post_once(
                client, publication.delivery, part, channel, text=fallback(text), blocks=blocks
            )
            for part, channel in targets
        ]
        if profile is not None and isinstance(publication.report, HealthReport):
            offer_recovered(client, publication, publication.report, posted[0])
        return posted

    return publish


def rollout_links(client: WebClient, report: object) -> dict[int, str]:
    """Each rollout a drift digest shows under way: its message's permalink, by rollout id."""
    if not isinstance(report, DriftDigest):
        return {}
    links = {}
    for running in report.rollouts.values():
        if running.where is None:
            continue
        try:
            found = client.chat_getPermalink(channel=running.where[0], message_ts=running.where[1])
            links[running.id] = str(found["permalink"])
        except Exception:  # a link is a nicety
            log.warning("no permalink for rollout #%s", running.id, exc_info=True)
    return links


def post_once(
    client: WebClient,
    delivery: Delivery,
    part: str,
    channel: str,
    *,
    findable: bool = True,
    **message: Any,
) -> tuple[str, str]:
    """One part of a run, posted once: not again when recorded, nor when found in the channel
    (`findable`: a top-level message, which conversations.history lists) after a takeover."""
    if part in delivery.posted:
        return delivery.posted[part]
    if delivery.look and findable:
        found = posted_before(client, delivery, part, channel)
        if found is not None:
            log.info("%s: %s was posted by the replica that stopped; recorded", part, found)
            delivery.record(part, *found)
            return found
    answer = client.chat_postMessage(channel=channel, metadata=delivery.metadata(part), **message)
    where = (str(answer["channel"]), str(answer["ts"]))
    delivery.record(part, *where)
    return where


def posted_before(
    client: WebClient, delivery: Delivery, part: str, channel: str
) -> tuple[str, str] | None:
    """The run's `part` among the channel's newest messages, by its metadata; None when absent
    or when Slack cannot say (then it is posted again, and the reason logged)."""
    try:
        channel_id = channel_id_of(client, channel)
        if channel_id is None:
            return None
        answer = client.conversations_history(
            channel=channel_id, limit=HISTORY_SCAN, include_all_metadata=True
        )
    except SlackApiError as exc:
        log.warning(
            "cannot look in %s for a post a stopped replica made (%s): posting it again; "
            "grant channels:history and groups:history",
            channel,
            exc.response.get("error"),
        )
        return None
    for message in answer.get("messages") or []:
        if isinstance(message, dict) and delivery.shows(message, part):
            return channel_id, str(message["ts"])
    return None


def channel_id_of(client: WebClient, channel: str) -> str | None:
    """The ID of a channel the profile names (by ID, or #name); None when the bot cannot see it."""
    name = channel.removeprefix("#")
    if CHANNEL_ID.match(name):
        return name
    cursor = None
    for _ in range(CHANNEL_PAGES):
        page = client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
        )
        for found in page.get("channels") or []:
            if found.get("name") == name:
                return str(found["id"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return None


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
    post_once(
        client,
        publication.delivery,
        "offer",
        where[0],
        findable=False,  # a thread reply: not in conversations.history
        thread_ts=where[1],
        text=text,
        blocks=blocks,
    )


def remind(client: WebClient, profile: Profile, publication: Publication) -> list[tuple[str, str]]:
    """Each reminder where its person sees it: a draft's thread (else the job's channel), an
    owner's direct messages."""
    due: Reminders = publication.report
    channel, delivery = publication.config.channel, publication.delivery
    timezone = profile.platform.human_timezone
    posted = []
    for stored, due_at in due.drafts:
        posted.append(
            post_once(
                client,
                delivery,
                f"draft:{stored.id}",
                stored.slack_channel or channel,
                findable=stored.slack_ts is None,  # a thread reply is not in the history
                thread_ts=stored.slack_ts,
                text=draft_reminder(stored, due_at, timezone),
            )
        )
    for reminder in due.items:
        posted.append(
            post_once(
                client,
                delivery,
                f"item:{reminder.item.id}:{reminder.which}",
                reminder.item.owner,
                findable=False,  # a direct message
                text=item_reminder(reminder.item, reminder.which, reminder.postmortem),
            )
        )
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

    async def take_over(self) -> list[RunResult]:
        """The sweep: each job's newest slot whose holder died (killed mid-run), run to its end."""
        return await self._each_job(take_over, "taking over")

    async def catch_up(self) -> list[RunResult]:
        """After a start: each job's newest slot, if it was missed within the grace or its holder
        died, runs once."""
        return await self._each_job(_caught_up, "catching up")

    async def _each_job(self, step: Sweep, doing: str) -> list[RunResult]:
        """`step` for every job of the registry, in a worker thread; one failing spares the rest."""
        tools = await asyncio.to_thread(self.tools_of)
        done = []
        for job in JOBS:
            try:
                found = await asyncio.to_thread(step, tools, job.id, self.publish, by=self.by)
            except Exception:
                log.exception("%s %s failed", doing, job.id)
                continue
            done += found
        return done


def _caught_up(tools: JobTools, job: JobId, publish: Publish, *, by: str) -> list[RunResult]:
    """The catch-up of one job at start, as a sweep gives it."""
    found = catch_up(tools, job, publish, by=by)
    return [] if found is None else [found]
