"""`/postmortem`, "Start postmortem", Mark final, Done on an action item and the Markdown file.

Every listener here is module-level and typed; `register` only wires (each with its parsed
payload in front of the access check). The edit modal's listeners are in postmortem_edit.py,
the message shortcut "Add to postmortem timeline" and its modal in postmortem_timeline.py.
"""

from __future__ import annotations

import asyncio
from datetime import date

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import (
    ActionId,
    ActionItemRef,
    PostmortemRef,
    PostmortemStart,
    PostmortemStatus,
)
from bot.deps import deps
from bot.listeners import postmortem_edit, postmortem_timeline
from bot.listeners.postmortem_edit import parse_edit
from bot.listeners.replies import HELP_WORDS, button, ephemeral, report_failure, usage_answer
from bot.parsed import Parsed, payload, value
from bot.payloads import Click, Command, MessageShortcut, Submission
from bot.postmortem_messages import (
    ID_MAX,
    local_today,
    open_postmortem,
    show,
    stored,
    today_in,
    tools_of,
)
from bot.runtime import Runtime
from bot.views.messages import notice
from bot.views.postmortem import (
    EDIT_MODAL,
    SHORTCUT,
    TIMELINE_MODAL,
    drafting_text,
    file_name,
)
from commands.errors import RequestError
from commands.postmortem.build import EARLIEST_DAY, ROLLOUT_ID_MAX, Subject, parse_request
from commands.postmortem.model import Document
from commands.postmortem.render import markdown
from commands.postmortem.tools import PostmortemTools

COMMANDS = ("/postmortem",)
DRAFTING = "Drafting the postmortem from the audit log, Cloud Run, logs, git and the checks…"
__all__ = ["COMMANDS", "SHORTCUT", "parse_edit", "register"]


async def on_postmortem(
    ack: AsyncAck, respond: AsyncRespond, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """`/postmortem rollout N | YYYY-MM-DD | last`: the draft, posted in this channel."""
    command, runtime = payload(context, Command), deps(context).runtime
    text = command.text
    try:
        if not text.strip() or any(w.lower() in HELP_WORDS for w in text.split()):
            raise RequestError("")
        subject = parse_request(text, today=today_in(runtime, _game_timezone(runtime)))
    except RequestError as exc:
        await ack(**usage_answer("/postmortem", str(exc)))
        return
    await ack(**ephemeral(*notice(DRAFTING)))
    try:
        where = (command.channel_id, None)
        await open_postmortem(
            runtime, subject, command.user_id, client, respond, where, replace=True
        )
    except Exception as exc:
        await report_failure(exc, respond, None, "Postmortem", replace=True)


def _game_timezone(runtime: Runtime) -> str:
    return runtime.profile.platform.game_timezone


def _offered(wanted: PostmortemStart, today: date) -> Subject:
    """The incident a Start button names, within what /postmortem would accept."""
    subject = Subject.of(wanted.subject)
    if subject.kind == "date":
        if not EARLIEST_DAY <= date.fromisoformat(subject.key) <= today:
            raise RequestError(f"no incident on {subject.key}")
    elif not 1 <= int(subject.key) <= ROLLOUT_ID_MAX:
        raise RequestError(f"no incident {subject.words}")
    return subject


def _thread_of(click: Click) -> str | None:
    """The thread a draft started by `click` joins: the thread the offer is in (Slack: never a
    reply's ts), else the offer's own message. None (the channel itself) for an ephemeral
    offer outside a thread: its ts names no message in the channel (the block_actions reference
    sends no `message` for one), and chat.postMessage refuses a thread_ts that names none."""
    container, message = click.container, click.message
    if container.is_ephemeral:
        return container.thread_ts
    return container.thread_ts or (message.thread_ts if message else None) or container.message_ts


async def on_start(
    ack: AsyncAck, respond: AsyncRespond, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Start postmortem (offered in the thread of what happened): the draft joins that thread;
    from an ephemeral message (/health's Details) it is posted in the channel."""
    click, wanted = payload(context, Click), value(context, PostmortemStart)
    await ack()
    runtime = deps(context).runtime
    try:
        subject = _offered(wanted, today_in(runtime, _game_timezone(runtime)))
        if click.channel_id is None:
            raise RequestError("this button is not in a channel opsbot can post in")
        said = notice(drafting_text(subject.words))
        await respond(**ephemeral(*said), replace_original=False)
        where = (click.channel_id, _thread_of(click))
        await open_postmortem(runtime, subject, click.user.id, client, respond, where)
    except Exception as exc:
        await report_failure(exc, respond, None, "Postmortem")


async def on_final(
    ack: AsyncAck, respond: AsyncRespond, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Mark final (or Reopen as draft), once, from the version the message showed: a double
    click, or a click on a message drawn before another change, changes nothing and says so."""
    click, wanted = payload(context, Click), value(context, PostmortemStatus)
    await ack()
    try:
        tools, found = await stored(deps(context).runtime, wanted.postmortem)
        edited = await asyncio.to_thread(
            lambda: tools.postmortems.edit(
                found.id, wanted.version, click.user.id, status=wanted.to
            )
        )
        already = f"Already done: this postmortem changed since its message was drawn (it is {found.status} now)."
        changed = None if edited is None else found.id
        await shown_or_already(tools, client, respond, changed, already)
    except Exception as exc:
        await report_failure(exc, respond, None, "Postmortem")


async def on_item_done(
    ack: AsyncAck, respond: AsyncRespond, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Done on an action item: closed once, its postmortem re-rendered."""
    click, wanted = payload(context, Click), value(context, ActionItemRef)
    await ack()
    try:
        if wanted.item > ID_MAX:
            raise RequestError("this action item no longer exists")
        tools = await tools_of(deps(context).runtime)
        item = await asyncio.to_thread(tools.postmortems.close_item, wanted.item, click.user.id)
        changed = None if item is None else item.postmortem_id
        await shown_or_already(tools, client, respond, changed, "Already done.")
    except Exception as exc:
        await report_failure(exc, respond, None, "Action item")


async def shown_or_already(
    tools: PostmortemTools,
    client: AsyncWebClient,
    respond: AsyncRespond,
    changed: int | None,
    already: str,
) -> None:
    """After a click that changes a postmortem once: its message re-rendered (`changed`: its
    id), or, when the click changed nothing, the clicker told `already`."""
    if changed is None:
        await respond(**ephemeral(*notice(already)), replace_original=False)
        return
    await show(tools, client, changed)


async def on_export(
    ack: AsyncAck, respond: AsyncRespond, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """Markdown file: the postmortem as a file in its message's thread."""
    click, wanted = payload(context, Click), value(context, PostmortemRef)
    await ack()
    runtime = deps(context).runtime
    try:
        tools, found = await stored(runtime, wanted.postmortem)
        # its recorded message, else the one clicked (its button is on it; a click may come
        # before the message it was just posted in is recorded)
        channel = found.slack_channel or click.container.channel_id
        thread = found.slack_ts or click.container.message_ts
        if not channel or not thread:
            raise RequestError("this postmortem has no message to attach the file to")
        doc = Document.of(found)
        profile = runtime.profile  # a file is read outside Slack: people named, not mentioned
        text = markdown(
            doc, profile.platform.human_timezone, local_today(tools), profile.slack.people
        )
        await client.files_upload_v2(
            channel=channel,
            thread_ts=thread,
            content=text,
            filename=file_name(doc),
            title=f"Postmortem: {doc.draft.title}",
            initial_comment=f"<@{click.user.id}> exported the postmortem as Markdown.",
        )
    except Exception as exc:
        await report_failure(exc, respond, None, "Markdown export")


def register(app: AsyncApp, runtime: Runtime) -> None:
    assert runtime.postmortem_tools is not None, "wired only when the bot writes postmortems"
    here = runtime.access.middleware()  # anyone, in the profile's channels

    app.command(COMMANDS[0], middleware=[Parsed(Command), here])(on_postmortem)
    app.action(ActionId.POSTMORTEM_START, middleware=button(PostmortemStart, here))(on_start)
    app.action(ActionId.POSTMORTEM_EDIT, middleware=button(PostmortemRef, here))(
        postmortem_edit.on_edit
    )
    app.action(ActionId.POSTMORTEM_FINAL, middleware=button(PostmortemStatus, here))(on_final)
    app.action(ActionId.ACTION_ITEM_DONE, middleware=button(ActionItemRef, here))(on_item_done)
    app.action(ActionId.POSTMORTEM_EXPORT, middleware=button(PostmortemRef, here))(on_export)
    app.shortcut(SHORTCUT, middleware=[Parsed(MessageShortcut), here])(
        postmortem_timeline.on_shortcut
    )
    app.view(EDIT_MODAL, middleware=[Parsed(Submission), here])(postmortem_edit.on_save)
    app.view(TIMELINE_MODAL, middleware=[Parsed(Submission), here])(postmortem_timeline.on_add)
