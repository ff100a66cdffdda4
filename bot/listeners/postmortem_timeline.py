"""The message shortcut "Add to postmortem timeline": pick a postmortem; the message joins its
timeline at the time it was posted.

The modal opens ("Loading…") before the store is read (a trigger_id lives 3 s) and lists the
drafts after; the submission is answered at once (`errors` under a choice that is not one, or
"Adding…"), and the message is added after, with the outcome (or the form again) in the modal.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import deps
from bot.errors import describe
from bot.parsed import payload
from bot.payloads import MessageShortcut, Submission
from bot.postmortem_messages import ID_MAX, NO_SUCH_POSTMORTEM, show, tools_of, update_modal
from bot.runtime import Runtime
from bot.views.postmortem import TIMELINE_MODAL, TIMELINE_TITLE, status_modal, timeline_modal
from commands.postmortem.tools import PostmortemTools
from store.postmortem_views import PostmortemView

log = logging.getLogger("opsbot.slack")
METADATA_LIMIT = 3000  # Slack's limit for a view's private_metadata
TEXT_LIMIT = 1500  # of the message's text carried in it
CANNOT_READ = (
    "This form is not one opsbot can read (it may be from an older version): close it, then "
    "use “Add to postmortem timeline” on the message again."
)
CANNOT_ADD = "This message cannot be added to a timeline: Slack gave no time opsbot can read."


class Picked(BaseModel):
    """The message the shortcut was used on: the timeline modal's `private_metadata`.

    Its `ts` is a Slack timestamp opsbot can place in time (seconds up to 10 digits: before the
    year 2286), and its channel is the one the access check reads on submission.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    channel: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,32}$")]
    channel_name: Annotated[str, StringConstraints(max_length=80)] = ""
    ts: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}\.[0-9]{1,8}$")]
    user: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9_]{0,32}$")] = ""
    text: Annotated[str, StringConstraints(max_length=TEXT_LIMIT)] = ""

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(float(self.ts), UTC)

    def metadata(self) -> str:
        """As private_metadata: its text cut until the whole fits Slack's limit."""
        text = self.text
        while True:
            found = self.model_copy(update={"text": text}).model_dump_json()
            if len(found) <= METADATA_LIMIT or not text:
                return found
            text = text[: len(text) - (len(found) - METADATA_LIMIT)]


class Choice(BaseModel):
    """The postmortem picked: one of the options the modal offered (a store id)."""

    value: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,9}$")]

    @property
    def postmortem(self) -> int | None:
        found = int(self.value)
        return found if found <= ID_MAX else None


def picked_in(shortcut: MessageShortcut) -> Picked | None:
    message = shortcut.message
    try:
        return Picked(
            channel=shortcut.channel.id,
            channel_name=(shortcut.channel.name or "")[:80],
            ts=message.ts,
            user=message.user or message.bot_id or "",
            text=message.text[:TEXT_LIMIT],
        )
    except ValidationError:
        return None


async def on_shortcut(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """ "Add to postmortem timeline": the modal at once, then the drafts to pick from."""
    shortcut = payload(context, MessageShortcut)
    await ack()
    picked = picked_in(shortcut)
    first = status_modal(
        TIMELINE_MODAL,
        TIMELINE_TITLE,
        "Loading the postmortems being written…" if picked else CANNOT_ADD,
    )
    try:
        opened = await client.views_open(trigger_id=shortcut.trigger_id, view=first)
    except SlackApiError as exc:
        log.warning("could not open the timeline modal: %s", exc.response.get("error"))
        return
    if picked is None:
        return
    try:
        view = await _form(deps(context).runtime, picked)
    except Exception as exc:
        view = status_modal(TIMELINE_MODAL, TIMELINE_TITLE, f":warning: {describe(exc).text}")
    await update_modal(client, opened["view"]["id"], view)


async def _form(runtime: Runtime, picked: Picked, warning: str = "") -> dict[str, Any]:
    tools = await tools_of(runtime)
    drafts = await asyncio.to_thread(tools.postmortems.drafts)
    return timeline_modal(drafts, picked.text, picked.metadata(), warning=warning)


def _read(submission: Submission) -> tuple[Picked | None, int | None]:
    """The message (None: not one opsbot put there) and the postmortem chosen (None: not one)."""
    try:
        picked: Picked | None = Picked.model_validate_json(submission.view.private_metadata)
    except ValidationError as exc:
        log.warning("refused a timeline form opsbot did not draw: %s", exc.error_count())
        picked = None
    try:
        chosen = Choice.model_validate(submission.view.field("postmortem", "selected_option"))
    except ValidationError:
        return picked, None
    return picked, chosen.postmortem


async def on_add(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """Add: "Adding…" at once; then the message in the timeline, at its own time, its
    postmortem re-rendered and a note in its thread; or the form again saying why not."""
    submission = payload(context, Submission)
    picked, chosen = _read(submission)
    if picked is None:
        await ack(
            response_action="update", view=status_modal(TIMELINE_MODAL, TIMELINE_TITLE, CANNOT_READ)
        )
        return
    if chosen is None:
        await ack(
            response_action="errors", errors={"postmortem": "pick one of the postmortems listed"}
        )
        return
    await ack(
        response_action="update",
        view=status_modal(TIMELINE_MODAL, TIMELINE_TITLE, "Adding the message…"),
    )
    runtime = deps(context).runtime
    try:
        said = await _add(runtime, client, submission.user.id, picked, chosen)
    except Exception as exc:
        said = status_modal(TIMELINE_MODAL, TIMELINE_TITLE, f":warning: {describe(exc).text}")
    await update_modal(client, submission.view.id, said)


async def _add(
    runtime: Runtime, client: AsyncWebClient, user: str, picked: Picked, postmortem_id: int
) -> dict[str, Any]:
    """Add the message once; the view that says so, or the form again saying why not."""
    tools = await tools_of(runtime)
    if await asyncio.to_thread(tools.postmortems.get, postmortem_id) is None:
        return await _form(runtime, picked, f":warning: {NO_SUCH_POSTMORTEM}: pick another.")
    link = await _permalink(client, picked)
    added = await asyncio.to_thread(
        lambda: tools.postmortems.add_event(
            postmortem_id,
            message_key=f"{picked.channel}:{picked.ts}",
            at=picked.at,
            author=picked.user,
            text=picked.text,
            permalink=link,
            added_by=user,
        )
    )
    if not added:
        return await _form(runtime, picked, ":warning: this message is in that timeline already.")
    try:
        shown = await _noted(tools, client, postmortem_id, user, picked)
    except Exception as exc:
        said = f"Added; the postmortem's message could not be updated: {describe(exc).text}"
        return status_modal(TIMELINE_MODAL, TIMELINE_TITLE, said)
    title = f"“{shown.title}”" if shown is not None else "the postmortem"
    return status_modal(
        TIMELINE_MODAL, TIMELINE_TITLE, f":white_check_mark: Added to the timeline of {title}."
    )


async def _noted(
    tools: PostmortemTools, client: AsyncWebClient, postmortem_id: int, user: str, picked: Picked
) -> PostmortemView | None:
    """The postmortem's message re-rendered, and a note of the addition in its thread."""
    shown = await show(tools, client, postmortem_id)
    if shown is not None and shown.slack_channel and shown.slack_ts:
        await client.chat_postMessage(
            channel=shown.slack_channel,
            thread_ts=shown.slack_ts,
            text=f":pushpin: <@{user}> added a message of {picked.at:%Y-%m-%d %H:%M:%S} UTC "
            "to the timeline.",
        )
    return shown


async def _permalink(client: AsyncWebClient, picked: Picked) -> str | None:
    try:
        found = await client.chat_getPermalink(channel=picked.channel, message_ts=picked.ts)
    except SlackApiError:
        return None
    return str(found.get("permalink") or "") or None
