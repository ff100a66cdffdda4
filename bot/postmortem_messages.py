"""A postmortem's one message: posted where it was started, re-rendered after every change;
what the postmortem listeners share (the tools, a stored postmortem by id, the start)."""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners.replies import ephemeral
from bot.runtime import Runtime
from bot.views.kit import fallback
from bot.views.messages import notice
from bot.views.postmortem import draft_message, no_incident_text, started_text
from commands.errors import RequestError
from commands.postmortem.build import Subject, resolve, start
from commands.postmortem.model import Document
from commands.postmortem.signals import NOT_AN_INCIDENT
from commands.postmortem.tools import PostmortemTools
from store.postmortem_views import PostmortemView

log = logging.getLogger("opsbot.slack")
GONE = ("message_not_found", "channel_not_found")  # deleted in Slack, or the channel archived
ID_MAX = 2**31 - 1  # a store id (PostgreSQL's integer): a larger one names nothing of ours
NO_SUCH_POSTMORTEM = "this postmortem no longer exists"
NOTHING_BECAUSE = {  # why an incident asked for has nothing to draft, by its kind
    "date": "every check was fine that day",
    "rollout": "it is unknown, or it never reached Cloud Run",
    "rollback": NOT_AN_INCIDENT,
}


def local_today(tools: PostmortemTools) -> date:
    return tools.clock().astimezone(ZoneInfo(tools.profile.platform.human_timezone)).date()


def today_in(runtime: Runtime, timezone: str) -> date:
    """Today in `timezone`, without opening any tool (cheap enough for an acknowledgement)."""
    return runtime.platform().now.astimezone(ZoneInfo(timezone)).date()


async def tools_of(runtime: Runtime) -> PostmortemTools:
    """The postmortem tools, opened on first use (git, Cloud Run, the store: seconds, once)."""
    assert runtime.postmortem_tools is not None, "wired only when the bot writes postmortems"
    return await asyncio.to_thread(runtime.postmortem_tools)


async def stored(runtime: Runtime, postmortem_id: int) -> tuple[PostmortemTools, PostmortemView]:
    """The tools and the postmortem as stored now; a RequestError when there is no such one."""
    tools = await tools_of(runtime)
    found = (
        await asyncio.to_thread(tools.postmortems.get, postmortem_id)
        if 1 <= postmortem_id <= ID_MAX
        else None
    )
    if found is None:
        raise RequestError(NO_SUCH_POSTMORTEM)
    return tools, found


async def update_modal(client: AsyncWebClient, view_id: str, view: dict[str, Any]) -> None:
    """Show `view` in an open modal; one the person closed meanwhile is left closed."""
    try:
        await client.views_update(view_id=view_id, view=view)
    except SlackApiError as exc:
        if exc.response.get("error") != "not_found":
            raise
        log.warning("modal %s was closed before opsbot could show what happened", view_id)


async def open_postmortem(
    runtime: Runtime,
    subject: Subject | None,
    user: str,
    client: AsyncWebClient,
    respond: AsyncRespond,
    where: tuple[str, str | None],
    *,
    replace: bool = False,
) -> None:
    """Start (or find) the postmortem and show it in `where` (channel, thread); tell the person.

    `replace`: the answer takes the place of the "Drafting…" note (a command's); after a
    button, it is a note of its own (replacing would take the button's message).
    """
    tools = await tools_of(runtime)
    concrete = await asyncio.to_thread(resolve, tools, subject)
    found = await asyncio.to_thread(start, tools, concrete, user)
    if found is None:
        nothing = notice(no_incident_text(concrete.words, NOTHING_BECAUSE[concrete.kind]))
        await respond(**ephemeral(*nothing), replace_original=replace)
        return
    channel, thread = where
    shown = await show(tools, client, found[0].id, channel=channel, thread=thread)
    if shown is None or not shown.slack_channel or not shown.slack_ts:
        return
    link: str | None = None
    try:
        answer = await client.chat_getPermalink(
            channel=shown.slack_channel, message_ts=shown.slack_ts
        )
        link = str(answer.get("permalink") or "") or None
    except SlackApiError:  # deleted meanwhile: the next /postmortem posts it again
        pass
    said = started_text(found[1], shown.title, link, shown.slack_channel)
    await respond(**ephemeral(said, []), replace_original=replace)


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
