"""`/digest [job]` with "Post now", and the App Home (`app_home_opened`).

Every listener here is module-level and typed; `register` only wires (each with its parsed
payload in front of the access check). The jobs are the registry's (commands/schedule/registry.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Access
from bot.actions import ActionId, DigestJob
from bot.deps import deps
from bot.listeners.replies import HELP_WORDS, ephemeral, report_failure, usage_answer
from bot.parsed import Parsed, payload, value
from bot.payloads import Click, Command, EventEnvelope, HomeOpened
from bot.views.kit import escape
from bot.views.messages import notice
from bot.views.schedule import home_view, schedule_list
from commands.errors import RequestError
from commands.schedule.job import Job
from commands.schedule.jobs import drift_digest, health_digest
from commands.schedule.registry import JOBS, job_named, listing
from commands.schedule.runner import JobTools, RunResult
from commands.schedule.status import job_statuses
from store.schedule_views import OUTCOMES_DONE, OUTCOMES_POSTED, Outcome

COMMANDS = ("/digest",)
log = logging.getLogger("opsbot.slack")


def parse_digest_args(text: str) -> list[Job[Any]]:
    """The jobs `/digest` lists: the one named, else every job."""
    words = text.split()
    if any(w.lower() in HELP_WORDS for w in words):
        raise RequestError("")
    if len(words) > 1:
        raise RequestError(f"name at most one job: {listing(short=True)}")
    return [job_named(words[0])] if words else list(JOBS)


async def on_digest(ack: AsyncAck, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    """Each job's schedule, next and last run, with Post now (ephemeral)."""
    try:
        only = parse_digest_args(payload(context, Command).text)
    except RequestError as exc:
        await ack(**usage_answer("/digest", str(exc)))
        return
    await ack()
    runtime = deps(context).runtime
    assert runtime.schedule_tools is not None
    try:
        tools = await asyncio.to_thread(runtime.schedule_tools)
        statuses = await asyncio.to_thread(
            job_statuses, runtime.profile, tools.runs, tools.clock(), only
        )
        await respond(**ephemeral(*schedule_list(statuses)))
    except Exception as exc:
        await report_failure(exc, respond, None, "Digests")


async def on_post_now(
    ack: AsyncAck, respond: AsyncRespond, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Post now: the job's message at once, in full, once per job and minute."""
    wanted = value(context, DigestJob)
    await ack()
    found = deps(context)
    assert found.digests is not None
    try:
        job = job_named(wanted.job)
        await respond(**ephemeral(*notice(f"Posting the {job.id} now…")), replace_original=False)
        done = await found.digests.post_now(job.id)
        where = job.config(found.runtime.profile.schedule).channel
        shown = _shown(done)
        link = await _permalink(client, shown[0]) if shown else None
        said = post_now_said(done, where, link)
        await respond(**ephemeral(said, []), replace_original=False)
    except Exception as exc:
        await report_failure(exc, respond, None, "Post now")


def _shown(done: RunResult) -> list[tuple[str, str]]:
    """The posts the answer links to: this run's, or those of the run that had the minute."""
    if done.outcome is Outcome.TAKEN and done.holder is not None:
        return list(done.holder.posted)
    return list(done.posted)


def post_now_said(done: RunResult, where: str, link: str | None) -> str:
    """What the person who clicked Post now is told (mrkdwn): what happened, truly.

    "Already posted" only of a run that posted and recorded its message (linked); "being
    posted" of a run whose holder is alive; a takeover when the holder had died."""
    job, summary = escape(done.job), escape(done.summary)
    seen = f": <{escape(link)}|see it>" if link else ""
    if done.outcome in OUTCOMES_POSTED:
        said = f"{job}: posted in full in {escape(where)}{seen}. {summary}"
        if done.took_over:
            said += (
                f" (another replica, {escape(done.took_over)}, had claimed this minute's post "
                "and stopped; this one took it over)"
            )
        return said.strip()
    if done.busy:
        by = f" ({escape(done.holder.claimed_by)})" if done.holder is not None else ""
        return (
            f"{job}: being posted by another replica{by} right now; it will show in "
            f"{escape(where)}. If that replica stops, its post is taken over."
        )
    if done.outcome is Outcome.TAKEN:
        if done.holder is not None and done.holder.posted:
            return f"{job}: already posted this minute{seen or ' in ' + escape(where)}."
        return f"{job}: already ran this minute, with nothing to post."
    if done.outcome is Outcome.QUIET:
        return f"{job}: nothing to post right now."
    return f"{job}: {escape(done.outcome)}. {summary}".strip()


async def _permalink(client: AsyncWebClient, where: tuple[str, str]) -> str | None:
    """A link to a posted message; None when Slack cannot give one (the answer says where)."""
    try:
        found = await client.chat_getPermalink(channel=where[0], message_ts=where[1])
        return str(found["permalink"])
    except Exception:  # a link is a nicety: the answer still says what happened
        log.warning("no permalink for %s %s", *where, exc_info=True)
        return None


async def on_home(client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """The App Home tab, published for the person who opened it."""
    opened = payload(context, HomeOpened)
    if opened.tab != "home":
        return
    tools_of = deps(context).runtime.schedule_tools
    assert tools_of is not None
    tools = await asyncio.to_thread(tools_of)
    view = await _home(tools, client)
    await client.views_publish(user_id=opened.user, view=view)


async def _home(tools: JobTools, client: AsyncWebClient) -> dict[str, object]:
    """Gathered off the loop from the store; links to running work asked of Slack."""

    def gather() -> tuple[Any, ...]:
        return (
            job_statuses(tools.profile, tools.runs, tools.clock()),
            tools.runs.latest(health_digest.JOB.id, outcomes=OUTCOMES_DONE),
            tools.runs.latest(drift_digest.JOB.id, outcomes=OUTCOMES_DONE),
            list(tools.active_rollouts()),
            list(tools.running_backfills()),
        )

    statuses, health, drift, rollouts, backfills = await asyncio.to_thread(gather)
    links: dict[str, str] = {}
    for kind, items in (("rollout", rollouts), ("backfill", backfills)):
        for item in items:
            if item.slack_channel and item.slack_ts:
                try:
                    found = await client.chat_getPermalink(
                        channel=item.slack_channel, message_ts=item.slack_ts
                    )
                    links[f"{kind}:{item.id}"] = str(found["permalink"])
                except Exception:  # a link is a nicety: the home still shows
                    log.warning("no permalink for %s #%s", kind, item.id, exc_info=True)
    return home_view(statuses, health, drift, rollouts, backfills, links, tools.clock())


def register(app: AsyncApp, access: Access) -> None:
    anyone_here = access.middleware()
    app.command(COMMANDS[0], middleware=[Parsed(Command), anyone_here])(on_digest)
    app.action(ActionId.DIGEST_POST_NOW, middleware=[Parsed(Click, DigestJob), anyone_here])(
        on_post_now
    )
    app.event("app_home_opened", middleware=[Parsed(EventEnvelope)])(on_home)
