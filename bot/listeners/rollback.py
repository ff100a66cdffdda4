"""`/rollback SERVICE [revision]`: choose a revision, confirm, traffic moves, the result is posted."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ActionId, RollbackTo, decode
from bot.listeners.replies import HELP_WORDS, ephemeral, report_failure, usage_answer
from bot.rollout_tasks import RolloutTasks
from bot.runtime import Runtime
from bot.views.messages import notice
from bot.views.rollback import candidates_view, confirm_view
from commands import rollback
from commands.drift import select_services
from commands.errors import RequestError

COMMANDS = ("/rollback",)


def parse_rollback_args(text: str, runtime: Runtime) -> tuple[str, str | None]:
    words = text.split()
    if not words or any(w.lower() in HELP_WORDS for w in words):
        raise RequestError("" if words else "name the service to roll back")
    if len(words) > 2:
        raise RequestError(f"expected a service and at most one revision, got {len(words)} words")
    select_services(runtime.profile, words[:1])
    return words[0], words[1] if len(words) == 2 else None


def register(app: AsyncApp, runtime: Runtime, tasks: RolloutTasks) -> None:
    profile = runtime.profile
    assert runtime.deploy_tools is not None
    tools_of = runtime.deploy_tools
    deployer = runtime.access.middleware("deployer")

    @app.command(COMMANDS[0], middleware=[deployer])
    async def on_rollback(ack: Any, command: dict[str, Any], respond: Any) -> None:
        try:
            service, revision = parse_rollback_args(command.get("text", ""), runtime)
        except RequestError as exc:
            await ack(**usage_answer("/rollback", str(exc), [s.name for s in profile.services]))
            return
        if revision is not None:
            await ack(**ephemeral(*confirm_view(service, revision)))
            return
        await ack(**ephemeral(*notice(f"Reading {service}'s revisions…")))
        try:
            tools = await asyncio.to_thread(
                tools_of
            )  # opens clients and waits for the store: off the loop
            found = await asyncio.to_thread(
                rollback.candidates, tools.cloud_run, tools.repo, service
            )
            await respond(
                **ephemeral(*candidates_view(service, found, tools.clock())), replace_original=False
            )
        except Exception as exc:
            await report_failure(exc, respond, None, "Rollback")

    @app.action(ActionId.ROLLBACK_TO, middleware=[deployer])
    async def on_roll_back(
        ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        await ack()
        user = body["user"]["id"]
        try:
            wanted = decode(RollbackTo, body["actions"][0].get("value"))
            tools = await asyncio.to_thread(
                tools_of
            )  # opens clients and waits for the store: off the loop
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
                await respond(
                    **ephemeral(*notice("Already done: this rollback was confirmed once already.")),
                    replace_original=False,
                )
                return
            aborted = f" (rollout #{done.aborted_rollout} aborted)" if done.aborted_rollout else ""
            text = f":rewind: <@{user}> rolled {done.service} back: 100% of traffic on {done.revision}, verified{aborted}"
            await client.chat_postMessage(channel=profile.channels.deployments, text=text)
            await respond(
                text=f"Done: {done.service} serves {done.revision}.", replace_original=True
            )
            if done.aborted_rollout is not None:
                ended = await asyncio.to_thread(tools.store.get, done.aborted_rollout)
                if ended is not None:
                    await tasks.show(ended)
        except Exception as exc:
            await report_failure(exc, respond, None, "Rollback")
