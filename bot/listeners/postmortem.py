"""`/postmortem`, "Start postmortem", the edit modal, the Markdown file, and the message shortcut
"Add to postmortem timeline"."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ActionId, ActionItemRef, PostmortemRef, PostmortemStart, clicked
from bot.listeners.replies import HELP_WORDS, ephemeral, report_failure, usage_answer
from bot.postmortem_messages import local_today, show
from bot.runtime import Runtime
from bot.views.messages import notice
from bot.views.postmortem import EDIT_MODAL, SHORTCUT, TIMELINE_MODAL, edit_modal, timeline_modal
from commands.errors import RequestError
from commands.postmortem.build import Subject, parse_request, resolve, start
from commands.postmortem.model import Document
from commands.postmortem.render import markdown
from commands.postmortem.tools import PostmortemTools
from store.postmortem_views import SECTIONS, PostmortemView

COMMANDS = ("/postmortem",)
__all__ = ["COMMANDS", "SHORTCUT", "register"]


def _value(values: dict[str, Any], block: str, key: str = "value") -> Any:
    return values.get(block, {}).get(block, {}).get(key)


def parse_edit(
    values: dict[str, Any], doc: Document, today: date, severities: list[str]
) -> tuple[str, dict[str, str], tuple[str, str, date] | None]:
    """(severity, the sections people changed, a new item (text, owner, due) or None).

    A RequestError names the field to fix (as `block: message`).
    """
    severity = str(
        (_value(values, "severity", "selected_option") or {}).get("value") or doc.severity
    )
    if severity not in severities:
        raise RequestError(f"severity: one of {', '.join(severities)}")
    changed = {}
    for name in SECTIONS:
        if name not in values:  # not in the form that was submitted: left as it is
            continue
        text = str(_value(values, name) or "")  # a cleared section goes back to the draft's
        if text.strip() != doc.sections.get(name, "").strip():
            changed[name] = text
    what = str(_value(values, "item_text") or "").strip()
    owner = _value(values, "item_owner", "selected_user")
    due_text = _value(values, "item_due", "selected_date")
    if not (what or owner or due_text):
        return severity, changed, None
    for block, given in (("item_text", what), ("item_owner", owner), ("item_due", due_text)):
        if not given:
            raise RequestError(f"{block}: an action item needs what, an owner and a due date")
    try:
        due = date.fromisoformat(str(due_text))
    except ValueError:
        raise RequestError("item_due: pick a date") from None
    if due < today:
        raise RequestError(f"item_due: {due} is in the past; pick {today} or later")
    return severity, changed, (what, str(owner), due)


def register(app: AsyncApp, runtime: Runtime) -> None:
    assert runtime.postmortem_tools is not None
    tools_of = runtime.postmortem_tools
    profile = runtime.profile
    anyone_here = runtime.access.middleware()

    async def clicked_postmortem(body: dict[str, Any]) -> tuple[PostmortemTools, PostmortemView]:
        """The postmortem a button names, as stored now (a RequestError when it is gone)."""
        tools: PostmortemTools = await asyncio.to_thread(tools_of)
        wanted = clicked(body, PostmortemRef).postmortem
        stored = await asyncio.to_thread(tools.postmortems.get, wanted)
        if stored is None:
            raise RequestError("this postmortem no longer exists")
        return tools, stored

    async def open_postmortem(
        subject: Subject | None,
        user: str,
        client: AsyncWebClient,
        respond: AsyncRespond,
        channel: str,
        thread: str | None = None,
        *,
        replace: bool = False,
    ) -> None:
        """Start (or find) the postmortem and show it; tell the person where it is.

        `replace`: the answer takes the place of the "Drafting…" note (a command's); after a
        button, it is a note of its own (replacing would take the button's message).
        """
        tools: PostmortemTools = await asyncio.to_thread(tools_of)
        concrete = await asyncio.to_thread(resolve, tools, subject)
        found = await asyncio.to_thread(start, tools, concrete, user)
        if found is None:
            why = (
                "it never reached Cloud Run"
                if concrete.kind != "date"
                else "every check was fine that day"
            )
            await respond(
                **ephemeral(*notice(f"Nothing to write about for {concrete.text}: {why}.")),
                replace_original=replace,
            )
            return
        stored, created = found
        shown = await show(tools, client, stored.id, channel=channel, thread=thread)
        if shown is None or not shown.slack_channel or not shown.slack_ts:
            return
        try:
            found_link = await client.chat_getPermalink(
                channel=shown.slack_channel, message_ts=shown.slack_ts
            )
            where = f"at {found_link['permalink']}"
        except SlackApiError:  # deleted meanwhile: the next /postmortem posts it again
            where = f"in <#{shown.slack_channel}>"
        said = "Started" if created else "Already started"
        await respond(
            **ephemeral(f"{said}: the postmortem of {concrete.text} is {where}", []),
            replace_original=replace,
        )

    @app.command(COMMANDS[0], middleware=[anyone_here])
    async def on_postmortem(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        text = command.get("text", "")
        try:
            if not text.strip() or any(w.lower() in HELP_WORDS for w in text.split()):
                raise RequestError("")
            subject = parse_request(text)
        except RequestError as exc:
            await ack(**usage_answer("/postmortem", str(exc)))
            return
        await ack(
            **ephemeral(
                *notice(
                    "Drafting the postmortem from the audit log, Cloud Run, logs, git and the checks…"
                )
            )
        )
        try:
            await open_postmortem(
                subject, command["user_id"], client, respond, command["channel_id"], replace=True
            )
        except Exception as exc:
            await report_failure(exc, respond, None, "Postmortem")

    @app.action(ActionId.POSTMORTEM_START, middleware=[anyone_here])
    async def on_start(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            subject = Subject.of(clicked(body, PostmortemStart).subject)
            container = body.get("container", {})
            message = body.get("message", {})
            # the offer is a reply: the draft joins its thread (Slack: never a reply's ts)
            thread = (
                container.get("thread_ts")
                or message.get("thread_ts")
                or container.get("message_ts")
            )
            await respond(
                **ephemeral(*notice(f"Drafting the postmortem of {subject.text}…")),
                replace_original=False,
            )
            await open_postmortem(
                subject, body["user"]["id"], client, respond, container["channel_id"], thread
            )
        except Exception as exc:
            await report_failure(exc, respond, None, "Postmortem")

    @app.action(ActionId.POSTMORTEM_EDIT, middleware=[anyone_here])
    async def on_edit(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            _, stored = await clicked_postmortem(body)
            channel = body.get("channel") or {}
            opened_in = {"channel": channel.get("id", ""), "channel_name": channel.get("name", "")}
            view = edit_modal(stored, Document.of(stored), profile.postmortem.severities, opened_in)
            await client.views_open(trigger_id=body["trigger_id"], view=view)
        except Exception as exc:
            await report_failure(exc, respond, None, "Edit postmortem")

    @app.view(EDIT_MODAL, middleware=[anyone_here])
    async def on_save(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        user = body["user"]["id"]
        tools = await asyncio.to_thread(tools_of)
        stored = await asyncio.to_thread(tools.postmortems.get, int(meta.get("id", 0)))
        if stored is None:
            await ack(
                response_action="errors", errors={"summary": "this postmortem no longer exists"}
            )
            return
        try:
            values = view.get("state", {}).get("values", {})
            severity, changed, item = parse_edit(
                values, Document.of(stored), local_today(tools), profile.postmortem.severities
            )
        except RequestError as exc:
            block, _, message = str(exc).partition(": ")
            await ack(response_action="errors", errors={block: message[:150]})
            return
        edited = await asyncio.to_thread(
            lambda: tools.postmortems.edit(
                stored.id, int(meta.get("version", 0)), user, severity=severity, sections=changed
            )
        )
        if edited is None:
            await ack(
                response_action="errors",
                errors={
                    "summary": "someone saved this postmortem meanwhile: close, then press Edit again"
                },
            )
            return
        if item is not None:
            what, owner, due = item
            await asyncio.to_thread(
                lambda: tools.postmortems.add_item(
                    stored.id, text=what, owner=owner, due=due, actor=user
                )
            )
        await ack()
        await show(tools, client, stored.id)

    @app.action(ActionId.POSTMORTEM_FINAL, middleware=[anyone_here])
    async def on_final(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            tools, stored = await clicked_postmortem(body)
            status = "draft" if stored.status == "final" else "final"
            await asyncio.to_thread(
                lambda: tools.postmortems.edit(
                    stored.id, stored.version, body["user"]["id"], status=status
                )
            )
            await show(tools, client, stored.id)
        except Exception as exc:
            await report_failure(exc, respond, None, "Postmortem")

    @app.action(ActionId.ACTION_ITEM_DONE, middleware=[anyone_here])
    async def on_item_done(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            tools = await asyncio.to_thread(tools_of)
            item = await asyncio.to_thread(
                tools.postmortems.close_item, clicked(body, ActionItemRef).item, body["user"]["id"]
            )
            if item is None:
                await respond(**ephemeral(*notice("Already done.")), replace_original=False)
                return
            await show(tools, client, item.postmortem_id)
        except Exception as exc:
            await report_failure(exc, respond, None, "Action item")

    @app.action(ActionId.POSTMORTEM_EXPORT, middleware=[anyone_here])
    async def on_export(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            tools, stored = await clicked_postmortem(body)
            if not stored.slack_channel:
                raise RequestError("this postmortem has no message to attach the file to")
            doc = Document.of(stored)
            text = markdown(doc, profile.platform.human_timezone, local_today(tools))
            await client.files_upload_v2(
                channel=stored.slack_channel,
                thread_ts=stored.slack_ts,
                content=text,
                filename=f"postmortem-{stored.subject.replace(':', '-')}.md",
                title=f"Postmortem: {doc.draft.title}",
                initial_comment=f"<@{body['user']['id']}> exported the postmortem as Markdown.",
            )
        except Exception as exc:
            await report_failure(exc, respond, None, "Markdown export")

    @app.shortcut(SHORTCUT, middleware=[anyone_here])
    async def on_shortcut(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """ "Add to postmortem timeline": pick the postmortem; the message joins at its own time."""
        await ack()
        tools = await asyncio.to_thread(tools_of)
        drafts = await asyncio.to_thread(tools.postmortems.drafts)
        message = body.get("message", {})
        channel = body.get("channel") or {}
        picked = {
            "channel": str(channel.get("id", "")),
            "channel_name": str(channel.get("name", "")),
            "ts": str(message.get("ts", "")),
            "user": str(message.get("user") or message.get("bot_id") or ""),
            "text": str(message.get("text", ""))[:1500],
        }
        await client.views_open(trigger_id=body["trigger_id"], view=timeline_modal(drafts, picked))

    @app.view(TIMELINE_MODAL, middleware=[anyone_here])
    async def on_add(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        message = json.loads(view.get("private_metadata") or "{}")
        chosen = (
            _value(view.get("state", {}).get("values", {}), "postmortem", "selected_option") or {}
        )
        if not message.get("ts") or not str(chosen.get("value", "")).isdigit():
            await ack()
            return
        tools = await asyncio.to_thread(tools_of)
        postmortem_id = int(chosen["value"])
        link = None
        try:
            found = await client.chat_getPermalink(
                channel=message["channel"], message_ts=message["ts"]
            )
            link = str(found["permalink"])
        except SlackApiError:
            link = None
        at = datetime.fromtimestamp(float(message["ts"]), UTC)
        added = await asyncio.to_thread(
            lambda: tools.postmortems.add_event(
                postmortem_id,
                message_key=f"{message['channel']}:{message['ts']}",
                at=at,
                author=message.get("user", ""),
                text=message.get("text", ""),
                permalink=link,
                added_by=body["user"]["id"],
            )
        )
        if not added:
            await ack(
                response_action="errors",
                errors={"postmortem": "this message is in that timeline already"},
            )
            return
        await ack()
        shown = await show(tools, client, postmortem_id)
        if shown is not None and shown.slack_channel and shown.slack_ts:
            await client.chat_postMessage(
                channel=shown.slack_channel,
                thread_ts=shown.slack_ts,
                text=f":pushpin: <@{body['user']['id']}> added a message of {at:%Y-%m-%d %H:%M:%S} UTC to the timeline.",
            )
