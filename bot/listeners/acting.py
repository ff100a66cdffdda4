"""The one skeleton of an action on deploy tools: open them off the loop, act, report failure.

Every failure reaches the person who clicked (ephemeral); the event loop never blocks on opening
clients or waiting for the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncRespond

from bot.listeners.replies import report_failure
from bot.once import Once
from commands.deploy.tools import DeployTools


async def with_tools(
    tools_of: Once[DeployTools],
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
    try:
        tools = await asyncio.to_thread(tools_of)
        await work(tools)
    except Exception as exc:
        await report_failure(exc, respond, None, title, replace=replace_placeholder)
