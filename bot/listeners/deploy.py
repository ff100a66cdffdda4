"""`/deploy SERVICE [commit]`: the checklist, Start canary, and the rollout's buttons."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ActionId, DeployStart, DriftExpand, RolloutAction, clicked
from bot.channels import cannot_post
from bot.listeners.acting import with_tools
from bot.listeners.replies import HELP_WORDS, ephemeral, replacement, usage_answer
from bot.rollout_tasks import RolloutTasks
from bot.runtime import Runtime
from bot.views.deploy import checklist_view
from bot.views.messages import notice
from commands.deploy.abort import abort_rollout
from commands.deploy.checklist import prepare
from commands.deploy.lifecycle import promote, start
from commands.deploy.tools import DeployTools
from commands.errors import RequestError
from commands.requests import parse_commit_ref, select_services
from store.states import RolloutState
from store.views import RolloutView

COMMANDS = ("/deploy",)
RolloutStep = Callable[[DeployTools, RolloutAction, str], RolloutView | None]


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
    async def on_deploy(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        try:
            service, commit = parse_deploy_args(command.get("text", ""), runtime)
        except RequestError as exc:
            await ack(**usage_answer("/deploy", str(exc), [s.name for s in profile.services]))
            return
        await ack(**ephemeral(*notice(f"Preparing the checklist for {service}…")))
        await show_checklist(respond, client, command["user_id"], service, commit, in_place=True)

    async def show_checklist(
        respond: AsyncRespond,
        client: AsyncWebClient,
        user: str,
        service: str,
        commit: str | None,
        *,
        in_place: bool,
    ) -> None:
        """The checklist, to `user` only: in place of the placeholder, or beside the message."""

        async def checklist(tools: DeployTools) -> None:
            found = await asyncio.to_thread(prepare, profile, tools, service, commit)
            blockers = found.blockers(may_override_freeze=profile.slack.holds(user, "approver"))
            if unpostable := await cannot_post(client, profile.channels.canary):
                blockers.append(unpostable)  # a canary must never run without its message
            await respond(**ephemeral(*checklist_view(found, blockers)), replace_original=in_place)

        await with_tools(tools_of, respond, "Deploy", checklist, replace_placeholder=in_place)

    @app.action(ActionId.DIGEST_DEPLOY, middleware=[deployer])
    async def on_digest_deploy(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        """A digest's Deploy button: the same checklist as `/deploy SERVICE`, to the clicker."""
        await ack()
        try:
            service = clicked(body, DriftExpand).service
            select_services(profile, [service])
        except RequestError as exc:
            await respond(**ephemeral(*notice(str(exc))), replace_original=False)
            return
        await show_checklist(respond, client, body["user"]["id"], service, None, in_place=False)

    @app.action(ActionId.DEPLOY_START, middleware=[deployer])
    async def on_start(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        user = body["user"]["id"]

        async def start_canary(tools: DeployTools) -> None:
            wanted = clicked(body, DeployStart)
            if unpostable := await cannot_post(client, profile.channels.canary):
                await respond(
                    **ephemeral(*notice(f"Cannot deploy: {unpostable}. Nothing was changed.")),
                    replace_original=False,
                )
                return

            def started() -> RolloutView:
                checklist = prepare(profile, tools, wanted.service, wanted.commit)
                return start(profile, tools, checklist, user)

            rollout = await asyncio.to_thread(started)
            await tasks.show(rollout.id)  # its one message, in the canary channel
            tasks.arm(rollout.id)
            shown = await asyncio.to_thread(tools.rollout, rollout.id)
            if shown.state.terminal:
                text = (
                    f"Rollout #{rollout.id} {shown.state.value.replace('_', ' ')}: {shown.reason}"
                )
            else:
                where = (
                    f"<#{shown.slack_channel}>" if shown.slack_channel else profile.channels.canary
                )
                text = f"Rollout #{rollout.id} started: follow it in {where}"
            await respond(**replacement(text))  # the checklist's buttons are gone with it

        await with_tools(tools_of, respond, "Deploy", start_canary)

    @app.action(ActionId.DEPLOY_CANCEL, middleware=[anyone_here])
    async def on_cancel(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(**replacement("Cancelled: nothing was changed."))

    def on_rollout(action: ActionId, step: RolloutStep, *, role: Any) -> None:
        """A button on the rollout message: `step` acts once for the step the message showed."""

        @app.action(action, middleware=[role])
        async def on_click(
            ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
        ) -> None:
            await ack()
            user = body["user"]["id"]

            async def act(tools: DeployTools) -> None:
                wanted = clicked(body, RolloutAction)
                rollout = await asyncio.to_thread(step, tools, wanted, user)
                if rollout is None:
                    already = notice("Already done: someone acted on this step first.")
                    await respond(**ephemeral(*already), replace_original=False)
                    return
                await tasks.show(rollout.id)
                tasks.arm(rollout.id)
                if action is ActionId.ROLLOUT_ROLL_BACK:  # said where rollbacks go, with who
                    done = rollout.state is RolloutState.ROLLED_BACK
                    where = (
                        f"100% of traffic on {rollout.stable_revision}"
                        if done
                        else "Cloud Run refused the change; opsbot keeps trying"
                    )
                    text = f":rewind: <@{user}> rolled back rollout #{rollout.id} of {rollout.service}: {where}"
                    await client.chat_postMessage(channel=profile.channels.deployments, text=text)

            await with_tools(tools_of, respond, "Rollout", act)

    on_rollout(
        ActionId.ROLLOUT_PROMOTE,
        lambda t, w, u: promote(profile, t, w.rollout, u, seen=(w.state, w.step)),
        role=anyone_here,  # the approver role and the two-person rule are the operation's
    )
    on_rollout(
        ActionId.ROLLOUT_PROMOTE_FULL,
        lambda t, w, u: promote(profile, t, w.rollout, u, seen=(w.state, w.step), to_full=True),
        role=anyone_here,
    )
    on_rollout(
        ActionId.ROLLOUT_ROLL_BACK,
        lambda t, w, u: abort_rollout(t.cloud_run, t.store, w.rollout, u, f"rolled back by <@{u}>"),
        role=deployer,
    )
