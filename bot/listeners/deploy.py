"""`/deploy SERVICE [commit]`: the checklist, Start canary, and the rollout's buttons.

Every listener is module-level and typed; `register` only wires (each with its parsed payload in
front of its role). The deploy tools and the rollouts' tasks are the request's (bot/acting.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Access
from bot.actions import ActionId, DeployStart, DriftExpand, RolloutAction
from bot.channels import cannot_post
from bot.deps import deps
from bot.listeners.acting import acked_then, rollout_tasks, with_tools
from bot.listeners.replies import HELP_WORDS, button, ephemeral, replacement, usage_answer
from bot.parsed import Parsed, payload, value
from bot.payloads import Click, Command
from bot.runtime import Runtime
from bot.views.deploy import checklist_view
from bot.views.messages import notice
from commands.deploy.abort import abort_rollout
from commands.deploy.checklist import prepare
from commands.deploy.lifecycle import promote, start
from commands.deploy.tools import DeployTools
from commands.errors import RequestError
from commands.requests import parse_commit_ref, select_services
from config import Profile
from infra.wording import said
from store.states import RolloutState
from store.views import RolloutView

COMMANDS = ("/deploy",)
RolloutStep = Callable[[Profile, DeployTools, RolloutAction, str], RolloutView | None]


def parse_deploy_args(text: str, runtime: Runtime) -> tuple[str, str | None]:
    words = text.split()
    if not words or any(w.lower() in HELP_WORDS for w in words):
        raise RequestError("" if words else "name the service to deploy")
    if len(words) > 2:
        raise RequestError(f"expected a service and at most one commit, got {len(words)} words")
    select_services(runtime.profile, words[:1])
    return words[0], parse_commit_ref(words[1]) if len(words) == 2 else None


async def on_deploy(
    ack: AsyncAck, respond: AsyncRespond, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """`/deploy SERVICE [commit]`: a placeholder at once, then the checklist in its place."""
    command, runtime = payload(context, Command), deps(context).runtime
    try:
        service, commit = parse_deploy_args(command.text, runtime)
    except RequestError as exc:
        known = [s.name for s in runtime.profile.services]
        await ack(**usage_answer("/deploy", str(exc), known))
        return
    await ack(**ephemeral(*notice(f"Preparing the checklist for {service}…")))
    await show_checklist(context, respond, client, command.user_id, (service, commit), True)


async def on_digest_deploy(
    ack: AsyncAck, respond: AsyncRespond, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """A digest's Deploy button: the same checklist as `/deploy SERVICE`, to the clicker."""
    click, wanted = payload(context, Click), value(context, DriftExpand)
    await ack()
    try:
        select_services(deps(context).runtime.profile, [wanted.service])
    except RequestError as exc:
        await respond(**ephemeral(*notice(str(exc))), replace_original=False)
        return
    await show_checklist(context, respond, client, click.user.id, (wanted.service, None), False)


async def show_checklist(
    context: AsyncBoltContext,
    respond: AsyncRespond,
    client: AsyncWebClient,
    user: str,
    wanted: tuple[str, str | None],
    in_place: bool,
) -> None:
    """The checklist of (service, commit), to `user` only: in place of the placeholder
    (`in_place`), or beside the message clicked."""
    profile = deps(context).runtime.profile
    service, commit = wanted

    async def checklist(tools: DeployTools) -> None:
        found = await asyncio.to_thread(prepare, profile, tools, service, commit)
        blockers = found.blockers(may_override_freeze=profile.slack.holds(user, "approver"))
        if unpostable := await cannot_post(client, profile.channels.canary):
            blockers.append(unpostable)  # a canary must never run without its message
        await respond(**ephemeral(*checklist_view(found, blockers)), replace_original=in_place)

    await with_tools(context, respond, "Deploy", checklist, replace_placeholder=in_place)


async def on_start(
    ack: AsyncAck, respond: AsyncRespond, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Start canary: the reviewed checklist, prepared again, becomes a rollout with one message."""
    await acked_then(ack, client, respond, context, "Deploy", start_canary)


async def start_canary(
    tools: DeployTools, context: AsyncBoltContext, client: AsyncWebClient, respond: AsyncRespond
) -> None:
    click, wanted = payload(context, Click), value(context, DeployStart)
    profile, tasks = deps(context).runtime.profile, rollout_tasks(context)
    if unpostable := await cannot_post(client, profile.channels.canary):
        await respond(
            **ephemeral(*notice(f"Cannot deploy: {unpostable}. Nothing was changed.")),
            replace_original=False,
        )
        return

    def started() -> RolloutView:
        checklist = prepare(profile, tools, wanted.service, wanted.commit)
        return start(profile, tools, checklist, click.user.id)

    rollout = await asyncio.to_thread(started)
    await tasks.show(rollout.id)  # its one message, in the canary channel
    tasks.arm(rollout.id)
    shown = await asyncio.to_thread(tools.rollout, rollout.id)
    if shown.state.terminal:
        text = f"Rollout #{rollout.id} {said(shown.state)}: {shown.reason}"
    else:
        where = f"<#{shown.slack_channel}>" if shown.slack_channel else profile.channels.canary
        text = f"Rollout #{rollout.id} started: follow it in {where}"
    await respond(**replacement(text))  # the checklist's buttons are gone with it


async def on_cancel(ack: AsyncAck, respond: AsyncRespond) -> None:
    await ack()
    await respond(**replacement("Cancelled: nothing was changed."))


def promote_step(
    profile: Profile, tools: DeployTools, wanted: RolloutAction, user: str
) -> RolloutView | None:
    return promote(profile, tools, wanted.rollout, user, seen=(wanted.state, wanted.step))


def promote_full(
    profile: Profile, tools: DeployTools, wanted: RolloutAction, user: str
) -> RolloutView | None:
    seen = (wanted.state, wanted.step)
    return promote(profile, tools, wanted.rollout, user, seen=seen, to_full=True)


def roll_back(
    profile: Profile, tools: DeployTools, wanted: RolloutAction, user: str
) -> RolloutView | None:
    reason = f"rolled back by <@{user}>"
    return abort_rollout(tools.cloud_run, tools.store, wanted.rollout, user, reason)


STEPS: dict[str, RolloutStep] = {
    ActionId.ROLLOUT_PROMOTE: promote_step,
    ActionId.ROLLOUT_PROMOTE_FULL: promote_full,
    ActionId.ROLLOUT_ROLL_BACK: roll_back,
}


async def on_rollout(
    ack: AsyncAck, client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """A button on the rollout message (STEPS): it acts once for the step the message showed."""
    await acked_then(ack, client, respond, context, "Rollout", act_on_rollout)


async def act_on_rollout(
    tools: DeployTools, context: AsyncBoltContext, client: AsyncWebClient, respond: AsyncRespond
) -> None:
    click, wanted = payload(context, Click), value(context, RolloutAction)
    profile, tasks, user = deps(context).runtime.profile, rollout_tasks(context), click.user.id
    action = click.actions[0].action_id
    rollout = await asyncio.to_thread(STEPS[action], profile, tools, wanted, user)
    if rollout is None:
        already = notice("Already done: someone acted on this step first.")
        await respond(**ephemeral(*already), replace_original=False)
        return
    await tasks.show(rollout.id)
    tasks.arm(rollout.id)
    if action == ActionId.ROLLOUT_ROLL_BACK:  # said where rollbacks go, with who
        done = rollout.state is RolloutState.ROLLED_BACK
        where = (
            f"100% of traffic on {rollout.stable_revision}"
            if done
            else "Cloud Run refused the change; opsbot keeps trying"
        )
        text = f":rewind: <@{user}> rolled back rollout #{rollout.id} of {rollout.service}: {where}"
        await client.chat_postMessage(channel=profile.channels.deployments, text=text)


def register(app: AsyncApp, access: Access) -> None:
    deployer, anyone_here = access.middleware("deployer"), access.middleware()
    app.command(COMMANDS[0], middleware=[Parsed(Command), deployer])(on_deploy)
    app.action(ActionId.DIGEST_DEPLOY, middleware=button(DriftExpand, deployer))(on_digest_deploy)
    app.action(ActionId.DEPLOY_START, middleware=button(DeployStart, deployer))(on_start)
    app.action(ActionId.DEPLOY_CANCEL, middleware=button(None, anyone_here))(on_cancel)
    # Promoting is anyone's here: the approver role and the two-person rule are the operation's.
    app.action(ActionId.ROLLOUT_PROMOTE, middleware=button(RolloutAction, anyone_here))(on_rollout)
    app.action(ActionId.ROLLOUT_PROMOTE_FULL, middleware=button(RolloutAction, anyone_here))(
        on_rollout
    )
    app.action(ActionId.ROLLOUT_ROLL_BACK, middleware=button(RolloutAction, deployer))(on_rollout)
