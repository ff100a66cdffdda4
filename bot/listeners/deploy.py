"""`/deploy SERVICE [commit]`: the checklist, Start canary, and the rollout's buttons."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ActionId, DeployStart, RolloutAction, decode
from bot.listeners.replies import HELP_WORDS, ephemeral, report_failure, usage_answer
from bot.rollout_tasks import RolloutTasks
from bot.runtime import Runtime
from bot.views.deploy import checklist_view, rollout_view
from bot.views.kit import fallback
from bot.views.messages import notice
from commands import deploy
from commands.drift import parse_commit_ref, select_services
from commands.errors import RequestError

COMMANDS = ("/deploy",)


def parse_deploy_args(text: str, runtime: Runtime) -> tuple[str, str | None]:
    words = text.split()
    if not words or any(w.lower() in HELP_WORDS for w in words):
        raise RequestError("" if words else "name the service to deploy")
    if len(words) > 2:
        raise RequestError(f"expected a service and at most one commit, got {len(words)} words")
    select_services(runtime.profile, words[:1])
    return words[0], parse_commit_ref(words[1]) if len(words) == 2 else None


def register(app: AsyncApp, runtime: Runtime, tasks: RolloutTasks) -> None:
    profile = runtime.profile
    assert runtime.deploy_tools is not None
    tools_of = runtime.deploy_tools
    deployer = runtime.access.middleware("deployer")
    anyone_here = runtime.access.middleware()

    @app.command(COMMANDS[0], middleware=[deployer])
    async def on_deploy(ack: Any, command: dict[str, Any], respond: Any) -> None:
        try:
            service, commit = parse_deploy_args(command.get("text", ""), runtime)
        except RequestError as exc:
            await ack(**usage_answer("/deploy", str(exc), [s.name for s in profile.services]))
            return
        await ack(**ephemeral(*notice(f"Preparing the checklist for {service}…")))
        user = command["user_id"]
        try:
            checklist = await asyncio.to_thread(
                lambda: deploy.prepare(profile, tools_of(), service, commit)
            )
            blockers = checklist.blockers(
                may_override_freeze=user in profile.slack.roles.get("approver", [])
            )
            await respond(**ephemeral(*checklist_view(checklist, blockers)), replace_original=False)
        except Exception as exc:
            await report_failure(exc, respond, None, "Deploy")

    @app.action(ActionId.DEPLOY_START, middleware=[deployer])
    async def on_start(
        ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        await ack()
        user = body["user"]["id"]
        try:
            wanted = decode(DeployStart, body["actions"][0].get("value"))
            tools = await asyncio.to_thread(
                tools_of
            )  # opens clients and waits for the store: off the loop

            def start() -> Any:
                checklist = deploy.prepare(profile, tools, wanted.service, wanted.commit)
                rollout = deploy.begin(profile, tools, checklist, user)
                return deploy.start_canary(profile, tools, rollout.id, user) or tools.store.get(
                    rollout.id
                )

            rollout = await asyncio.to_thread(start)
            text, blocks = rollout_view(rollout, profile.deploy)
            posted = await client.chat_postMessage(
                channel=profile.channels.canary, text=fallback(text), blocks=blocks
            )
            await asyncio.to_thread(
                tools.store.attach_message, rollout.id, str(posted["channel"]), str(posted["ts"])
            )
            tasks.arm(rollout.id)
            await respond(
                text=f"Rollout #{rollout.id} started: follow it in {profile.channels.canary}",
                replace_original=True,
            )
        except Exception as exc:
            await report_failure(exc, respond, None, "Deploy")

    @app.action(ActionId.DEPLOY_CANCEL, middleware=[anyone_here])
    async def on_cancel(ack: Any, respond: Any) -> None:
        await ack()
        await respond(text="Cancelled: nothing was changed.", replace_original=True)

    async def act(body: dict[str, Any], respond: Any, do: Any) -> None:
        user = body["user"]["id"]
        try:
            wanted = decode(RolloutAction, body["actions"][0].get("value"))
            tools = await asyncio.to_thread(
                tools_of
            )  # opens clients and waits for the store: off the loop
            rollout = await asyncio.to_thread(do, tools, wanted, user)
            if rollout is None:
                await respond(
                    **ephemeral(*notice("Already done: someone acted on this step first.")),
                    replace_original=False,
                )
                return
            await tasks.show(rollout)
            tasks.arm(rollout.id)
        except Exception as exc:
            await report_failure(exc, respond, None, "Rollout")

    @app.action(ActionId.ROLLOUT_PROMOTE, middleware=[anyone_here])
    async def on_promote(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        await act(
            body,
            respond,
            lambda t, w, u: deploy.promote(profile, t, w.rollout, u, seen_version=w.version),
        )

    @app.action(ActionId.ROLLOUT_PROMOTE_FULL, middleware=[anyone_here])
    async def on_promote_full(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        await act(
            body,
            respond,
            lambda t, w, u: deploy.promote(
                profile, t, w.rollout, u, seen_version=w.version, to_full=True
            ),
        )

    @app.action(ActionId.ROLLOUT_ROLL_BACK, middleware=[deployer])
    async def on_roll_back(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        await act(
            body,
            respond,
            lambda t, w, u: deploy.roll_back(
                t.cloud_run, t.store, w.rollout, u, f"rolled back by <@{u}>"
            ),
        )
