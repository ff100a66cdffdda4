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
from bot.views.messages import notice
from bot.views.schedule import home_view, schedule_list
from commands.errors import RequestError
from commands.schedule.job import Job
from commands.schedule.jobs import drift_digest, health_digest
from commands.schedule.registry import JOBS, job_named, listing
from commands.schedule.runner import JobTools
from commands.schedule.status import job_statuses
from store.schedule_views import OUTCOMES_DONE, Outcome

COMMANDS = ("/digest",)
log = logging.getLogger("opsbot.slack")
SAID = {
    Outcome.FULL: "posted in full",
    Outcome.TAKEN: "already posted this minute (by another click or replica)",
    Outcome.FAILED: "failed",
}


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


async def on_post_now(ack: AsyncAck, respond: AsyncRespond, context: AsyncBoltContext) -> None:
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
        said = f"{job.id}: {SAID.get(done.outcome, done.outcome)} in {where}. {done.summary}"
        await respond(**ephemeral(*notice(said.strip())), replace_original=False)
    except Exception as exc:
        await report_failure(exc, respond, None, "Post now")


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
