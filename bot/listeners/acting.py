"""The one skeleton of an action on deploy tools: open them off the loop, act, report failure.

Every failure reaches the person who clicked (ephemeral); the event loop never blocks on opening
clients or waiting for the store. The tools and the rollouts' tasks are the request's
(`deps(context)`): they are there when the deploy listeners are wired.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import deps
from bot.listeners.replies import report_failure
from bot.rollout_tasks import RolloutTasks
from commands.deploy.tools import DeployTools


async def with_tools(
    context: AsyncBoltContext,
    respond: AsyncRespond,
    title: str,
    work: Callable[[DeployTools], Awaitable[None]],
    *,
    replace_placeholder: bool = False,
) -> None:
    """Run `work` with the deploy tools, opened (clients, store) off the event loop.

    Whatever fails is told to the person, under `title`; unexpected errors with a reference,
    in place of the command's placeholder when `replace_placeholder`.
    """
    tools_of = deps(context).runtime.deploy_tools
    assert tools_of is not None, "a deploy listener wired without deploy tools"
    try:
        tools = await asyncio.to_thread(tools_of)
        await work(tools)
    except Exception as exc:
        await report_failure(exc, respond, None, title, replace=replace_placeholder)


Act = Callable[[DeployTools, AsyncBoltContext, AsyncWebClient, AsyncRespond], Awaitable[None]]


async def acked_then(
    ack: AsyncAck,
    client: AsyncWebClient,
    respond: AsyncRespond,
    context: AsyncBoltContext,
    title: str,
    act: Act,
) -> None:
    """A button that acts on deploy tools: acknowledged first, then `act` (failures told under
    `title`)."""
    await ack()
    await with_tools(context, respond, title, lambda tools: act(tools, context, client, respond))


def rollout_tasks(context: AsyncBoltContext) -> RolloutTasks:
    """The tasks that drive rollouts and keep their messages current."""
    tasks = deps(context).rollouts
    assert tasks is not None, "a deploy listener wired without the rollouts' tasks"
    return tasks
