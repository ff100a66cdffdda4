"""A postmortem's one message: posted where it was started, re-rendered after every change."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.views.kit import fallback
from bot.views.postmortem import draft_message
from commands.postmortem.model import Document
from commands.postmortem.tools import PostmortemTools
from store.postmortem_views import PostmortemView

log = logging.getLogger("opsbot.slack")
GONE = ("message_not_found", "channel_not_found")  # deleted in Slack, or the channel archived


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
    When its message was deleted in Slack, it is posted again where it is asked for now.
    """
    stored = await asyncio.to_thread(tools.postmortems.get, postmortem_id)
    if stored is None:
        return None
    text, blocks = draft_message(
        Document.of(stored), tools.profile.platform.human_timezone, local_today(tools)
    )
    gone: str | None = None
    if stored.slack_channel and stored.slack_ts:
        try:
            await client.chat_update(
                channel=stored.slack_channel, ts=stored.slack_ts, text=fallback(text), blocks=blocks
            )
            return stored
        except SlackApiError as exc:
            if exc.response.get("error") not in GONE or channel is None:
                raise
            log.warning("postmortem #%s: its message is gone; posting it again", postmortem_id)
            gone = stored.slack_ts
    if channel is None:
        return stored
    posted = await client.chat_postMessage(
        channel=channel, thread_ts=thread, text=fallback(text), blocks=blocks
    )
    where, ts = str(posted["channel"]), str(posted["ts"])
    postmortems = tools.postmortems
    kept = await asyncio.to_thread(
        lambda: (
            postmortems.move_message(postmortem_id, gone, where, ts)
            if gone is not None
            else postmortems.attach_message(postmortem_id, where, ts)
        )
    )
    if not kept:
        await client.chat_delete(channel=where, ts=ts)
    return await asyncio.to_thread(postmortems.get, postmortem_id)
