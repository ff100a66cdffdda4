"""The /regrade modal: opened by `/regrade`, the health report's Regrade button or the message
shortcut, planned after it opens, and submitted into a backfill.

The skeleton of every interaction: cheap validation, `ack()`, then the work. The modal opens
before any tool is touched (a `trigger_id` lives 3 s); the submission is answered at once, with
`errors` under a field the person can fix or a "Starting…" view, and the plan and the backfill
are made after (Slack gives a view submission 3 s).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError
from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import RegradeStart
from bot.deps import deps
from bot.errors import describe
from bot.parsed import payload, value
from bot.payloads import Click, Command, MessageShortcut, PostedMessage, Submission
from bot.regrade_planning import planned, started, today_of
from bot.views.regrade import modal_view, plan_summary, started_view, working_view
from commands.errors import RequestError
from commands.regrade.plan import check_range

log = logging.getLogger("opsbot.slack")
DATE = re.compile(r"\b(20\d\d-[01]\d-[0-3]\d)\b")
ChannelId = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,32}$")]


class Opened(BaseModel):
    """Where the modal was opened (its `private_metadata`): access is checked there on submission,
    and the progress is posted there (in `thread` when it came from a message)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    channel: ChannelId | None = None
    channel_name: Annotated[str, StringConstraints(max_length=80)] | None = None
    thread: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}\.[0-9]{1,8}$")] | None = None


class Form(BaseModel):
    """What the person submitted."""

    start: date
    end: date
    include_graded: bool
    reason: str


def dates_in(message: PostedMessage) -> list[date]:
    """Every YYYY-MM-DD in a message's text and blocks, sorted (a range is its two ends)."""
    found = set()
    for day in DATE.findall(f"{message.text} {json.dumps(message.blocks)}"):
        try:
            found.add(date.fromisoformat(day))
        except ValueError:
            continue
    return sorted(found)


def read_form(submission: Submission) -> Form | dict[str, str]:
    """The form, or the errors to show under its fields."""
    view = submission.view
    picked: dict[str, date] = {}
    errors: dict[str, str] = {}
    for block in ("start", "end"):
        chosen = view.field(block, "selected_date")
        try:
            picked[block] = date.fromisoformat(chosen) if isinstance(chosen, str) else date.min
        except ValueError:
            picked[block] = date.min
        if picked[block] == date.min:
            errors[block] = "pick a date"
    if errors:
        return errors
    options = view.field("graded", "selected_options")
    reason = view.field("reason")
    return Form(
        start=picked["start"],
        end=picked["end"],
        include_graded=bool(options) and isinstance(options, list),
        reason=reason[:3000] if isinstance(reason, str) else "",
    )


def opened_in(submission: Submission) -> Opened | None:
    try:
        return Opened.model_validate_json(submission.view.private_metadata or "{}")
    except ValidationError:
        return None


async def open_modal(
    context: AsyncBoltContext,
    client: AsyncWebClient,
    trigger_id: str,
    days: tuple[date | None, date | None],
    where: Opened,
    reason: str = "",
) -> None:
    """Open the modal at once, then fill in the plan (views.update) when there are dates."""
    start, end = days
    metadata = where.model_dump_json(exclude_none=True)
    try:
        opened = await client.views_open(
            trigger_id=trigger_id, view=modal_view(start, end, reason=reason, metadata=metadata)
        )
    except SlackApiError as exc:  # a trigger_id missing, used or expired: nothing opened
        log.warning("could not open the regrade modal: %s", exc.response.get("error"))
        return
    if start is None or end is None:
        return
    try:
        _, plan = await asyncio.to_thread(planned, deps(context).runtime, start, end, False)
        summary = plan_summary(plan)
    except RequestError as exc:
        summary = f":warning: {exc}"
    except Exception as exc:
        summary = f":warning: could not plan yet: {describe(exc).text}"
    await client.views_update(
        view_id=opened["view"]["id"],
        view=modal_view(start, end, reason=reason, summary=summary, metadata=metadata),
    )


async def on_command_modal(
    ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """`/regrade` alone: the modal, empty."""
    command = payload(context, Command)
    await ack()
    where = Opened(channel=command.channel_id, channel_name=command.channel_name)
    await open_modal(context, client, command.trigger_id or "", (None, None), where)


async def on_open(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """The health report's Regrade button: the modal, prefilled with the failing dates."""
    click, wanted = payload(context, Click), value(context, RegradeStart)
    await ack()
    where = Opened(
        channel=click.channel_id, channel_name=click.channel.name if click.channel else None
    )
    await open_modal(context, client, click.trigger_id or "", (wanted.start, wanted.end), where)


async def on_shortcut(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """ "Regrade dates in this message": its dates, prefilled; progress in its thread."""
    shortcut = payload(context, MessageShortcut)
    await ack()
    days = dates_in(shortcut.message)
    where = Opened(
        channel=shortcut.channel.id,
        channel_name=shortcut.channel.name,
        thread=shortcut.message.thread_ts or shortcut.message.ts,
    )
    link = await _permalink(client, shortcut.channel.id, shortcut.message.ts)
    span = (days[0], days[-1]) if days else (None, None)
    await open_modal(
        context, client, shortcut.trigger_id, span, where, f"from {link}" if link else ""
    )


async def _permalink(client: AsyncWebClient, channel: str, ts: str) -> str:
    try:
        found = await client.chat_getPermalink(channel=channel, message_ts=ts)
    except SlackApiError:
        return ""
    return str(found.get("permalink", ""))


async def on_submit(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """Start: errors under the dates when they cannot be regraded, else "Starting…", then the
    backfill (one per submission, however often Slack retries it) and where to follow it."""
    submission = payload(context, Submission)
    runtime = deps(context).runtime
    form, where = read_form(submission), opened_in(submission)
    if isinstance(form, dict):
        await ack(response_action="errors", errors=form)
        return
    try:
        check_range(runtime.profile, form.start, form.end, today_of(runtime))
    except RequestError as exc:
        await ack(response_action="errors", errors={"start": str(exc)[:150]})
        return
    await ack(response_action="update", view=working_view(form.start, form.end))
    where = where or Opened()
    try:
        backfill = await started(
            deps(context), submission, form, channel=where.channel, thread=where.thread
        )
        said = started_view(backfill.id, where.channel, backfill.created)
    except Exception as exc:  # the form again, with what went wrong above it
        problem = str(exc) if isinstance(exc, RequestError) else describe(exc).text
        said = _form_again(form, where, f":warning: {problem}")
    await client.views_update(view_id=submission.view.id, view=said)


def _form_again(form: Form, where: Opened, summary: str) -> dict[str, Any]:
    return modal_view(
        form.start,
        form.end,
        include_graded=form.include_graded,
        reason=form.reason,
        summary=summary,
        metadata=where.model_dump_json(exclude_none=True),
    )
