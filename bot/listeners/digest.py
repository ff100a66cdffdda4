"""`/digest [drift|health|weekly]` with "Post now", and the App Home (`app_home_opened`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ActionId, DigestJob, clicked
from bot.digest_jobs import DigestJobs
from bot.listeners.replies import HELP_WORDS, ephemeral, report_failure, usage_answer
from bot.runtime import Runtime
from bot.views.messages import notice
from bot.views.schedule import home_view, schedule_list
from commands.errors import RequestError
from commands.schedule.runner import JobTools
from commands.schedule.status import job_statuses, parse_job
from config import JOB_IDS, JobId
from store.schedule_views import OUTCOMES_DONE

COMMANDS = ("/digest",)
log = logging.getLogger("opsbot.slack")
SAID = {
    "full": "posted in full",
    "taken": "already posted this minute (by another click or replica)",
    "failed": "failed",
}


def parse_digest_args(text: str) -> list[JobId]:
    words = text.split()
    if any(w.lower() in HELP_WORDS for w in words):
        raise RequestError("")
    if len(words) > 1:
        raise RequestError("name at most one job: drift, health or weekly")
    return [parse_job(words[0])] if words else list(JOB_IDS)


def register(app: AsyncApp, runtime: Runtime, jobs: DigestJobs) -> None:
    assert runtime.schedule_tools is not None
    tools_of = runtime.schedule_tools
    anyone_here = runtime.access.middleware()

    @app.command(COMMANDS[0], middleware=[anyone_here])
    async def on_digest(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        try:
            only = parse_digest_args(command.get("text", ""))
        except RequestError as exc:
            await ack(**usage_answer("/digest", str(exc)))
            return
        await ack()
        try:
            tools = await asyncio.to_thread(tools_of)
            statuses = await asyncio.to_thread(
                job_statuses, runtime.profile, tools.runs, tools.clock(), only
            )
            await respond(**ephemeral(*schedule_list(statuses)))
        except Exception as exc:
            await report_failure(exc, respond, None, "Digests")

    @app.action(ActionId.DIGEST_POST_NOW, middleware=[anyone_here])
    async def on_post_now(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        try:
            job = parse_job(clicked(body, DigestJob).job)
            await respond(**ephemeral(*notice(f"Posting the {job} now…")), replace_original=False)
            done = await jobs.post_now(job)
            where = runtime.profile.schedule.jobs[job].channel
            said = SAID.get(done.outcome, done.outcome)
            await respond(
                **ephemeral(*notice(f"{job}: {said} in {where}. {done.summary}".strip())),
                replace_original=False,
            )
        except Exception as exc:
            await report_failure(exc, respond, None, "Post now")

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        tools = await asyncio.to_thread(tools_of)
        view = await _home(tools, client)
        await client.views_publish(user_id=event["user"], view=view)


async def _home(tools: JobTools, client: AsyncWebClient) -> dict[str, object]:
    """Gathered off the loop from the store; links to running work asked of Slack."""

    def gather() -> tuple[Any, ...]:
        return (
            job_statuses(tools.profile, tools.runs, tools.clock()),
            tools.runs.latest("health-digest", outcomes=OUTCOMES_DONE),
            tools.runs.latest("drift-digest", outcomes=OUTCOMES_DONE),
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
