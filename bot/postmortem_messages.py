"""A postmortem's one message: posted where it was started, re-rendered after every change."""

from __future__ import annotations

import asyncio
from datetime import date
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient

from bot.views.kit import fallback
from bot.views.postmortem import draft_message
from commands.postmortem.model import Document
from commands.postmortem.tools import PostmortemTools
from store.postmortem_views import PostmortemView


def local_today(tools: PostmortemTools) -> date:
    return tools.clock().astimezone(ZoneInfo(tools.profile.platform.human_timezone)).date()


async def show(
    tools: PostmortemTools,
    client: AsyncWebClient,
    postmortem_id: int,
    *,
    channel: str | None = None,
    thread: str | None = None,
) -> PostmortemView | None:
    """Update the postmortem's message, or post it in `channel` (`thread`) when it has none.

    When another replica or click posted first, ours is deleted: one message per postmortem.
    """
    stored = await asyncio.to_thread(tools.postmortems.get, postmortem_id)
    if stored is None:
        return None
    text, blocks = draft_message(
        Document.of(stored), tools.profile.platform.human_timezone, local_today(tools)
    )
    if stored.slack_channel and stored.slack_ts:
        await client.chat_update(
            channel=stored.slack_channel, ts=stored.slack_ts, text=fallback(text), blocks=blocks
        )
        return stored
    if channel is None:
        return stored
    posted = await client.chat_postMessage(
        channel=channel, thread_ts=thread, text=fallback(text), blocks=blocks
    )
    where, ts = str(posted["channel"]), str(posted["ts"])
    if not await asyncio.to_thread(tools.postmortems.attach_message, postmortem_id, where, ts):
        await client.chat_delete(channel=where, ts=ts)
    return await asyncio.to_thread(tools.postmortems.get, postmortem_id)
