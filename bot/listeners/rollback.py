"""`/rollback SERVICE [revision]`: choose a revision, confirm, traffic moves, the result is posted."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import REVISION_NAME, ActionId, RollbackTo, clicked
from bot.listeners.acting import with_tools
from bot.listeners.replies import HELP_WORDS, ephemeral, replacement, usage_answer
from bot.rollout_tasks import RolloutTasks
from bot.runtime import Runtime
from bot.views.messages import notice
from bot.views.postmortem import offer
from bot.views.rollback import candidates_view, confirm_view
from commands import rollback
from commands.deploy.tools import DeployTools
from commands.errors import RequestError
from commands.requests import select_services

COMMANDS = ("/rollback",)


def parse_rollback_args(text: str, runtime: Runtime) -> tuple[str, str | None]:
    words = text.split()
    if not words or any(w.lower() in HELP_WORDS for w in words):
        raise RequestError("" if words else "name the service to roll back")
    if len(words) > 2:
        raise RequestError(f"expected a service and at most one revision, got {len(words)} words")
    select_services(runtime.profile, words[:1])
    if len(words) == 2 and not re.fullmatch(REVISION_NAME, words[1]):
        shown = words[1] if len(words[1]) <= 40 else words[1][:40] + "…"
        raise RequestError(
            f"bad revision {shown!r}: expected a Cloud Run revision name, "
            "e.g. nba-grading-service-00083-499 (lowercase letters, digits and dashes)"
        )
    return words[0], words[1] if len(words) == 2 else None


def register(app: AsyncApp, runtime: Runtime, tasks: RolloutTasks) -> None:
    profile = runtime.profile
    assert runtime.deploy_tools is not None
    tools_of = runtime.deploy_tools
    deployer = runtime.access.middleware("deployer")

    @app.command(COMMANDS[0], middleware=[deployer])
    async def on_rollback(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        try:
            service, revision = parse_rollback_args(command.get("text", ""), runtime)
        except RequestError as exc:
            await ack(**usage_answer("/rollback", str(exc), [s.name for s in profile.services]))
            return
        if revision is not None:
            await ack(**ephemeral(*confirm_view(service, revision)))
            return
        await ack(**ephemeral(*notice(f"Reading {service}'s revisions…")))

        async def listed(tools: DeployTools) -> None:
            found = await asyncio.to_thread(
                rollback.candidates, tools.cloud_run, tools.repo, service
            )
            view = candidates_view(service, found, tools.clock())
            await respond(**ephemeral(*view), replace_original=True)  # for "Reading …'s revisions…"

        await with_tools(tools_of, respond, "Rollback", listed, replace_placeholder=True)

    @app.action(ActionId.ROLLBACK_TO, middleware=[deployer])
    async def on_roll_back(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        user = body["user"]["id"]

        async def rolled_back(tools: DeployTools) -> None:
            wanted = clicked(body, RollbackTo)
            container = body.get("container", {})
            once = f"rollback:{container.get('channel_id')}:{container.get('message_ts')}:{wanted.service}:{wanted.revision}"
            done = await asyncio.to_thread(
                lambda: rollback.roll_back(
                    profile,
                    tools.cloud_run,
                    tools.store,
                    wanted.service,
                    wanted.revision,
                    user,
                    once_key=once,
                )
            )
            if done is None:
                already = notice("Already done: this rollback was confirmed once already.")
                await respond(**ephemeral(*already), replace_original=False)
                return
            aborted = f" (rollout #{done.aborted_rollout} aborted)" if done.aborted_rollout else ""
            text = f":rewind: <@{user}> rolled {done.service} back: 100% of traffic on {done.revision}, verified{aborted}"
            said = await client.chat_postMessage(channel=profile.channels.deployments, text=text)
            await respond(**replacement(f"Done: {done.service} serves {done.revision}."))
            if done.audit_id is not None and runtime.postmortem_tools is not None:
                note, blocks = offer(f"rollback:{done.audit_id}", f"{done.service} was rolled back")
                await client.chat_postMessage(
                    channel=str(said["channel"]),
                    thread_ts=str(said["ts"]),
                    text=note,
                    blocks=blocks,
                )
            if done.aborted_rollout is not None:
                await tasks.show(done.aborted_rollout)

        await with_tools(tools_of, respond, "Rollback", rolled_back)
