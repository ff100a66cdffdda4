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
from bot.regrade_planning import NothingToRegrade, planned, started, today_of
from bot.runtime import Runtime
from bot.views.regrade import followed_in
from bot.views.regrade_modal import (
    GRADED,
    WAITING,
    graded_only,
    left_out_lines,
    modal_view,
    planned_view,
    started_view,
    working_view,
)
from commands.errors import RequestError
from commands.regrade.plan import Choice, RangeError, RegradePlan, check_range, choose, narrow

log = logging.getLogger("opsbot.slack")
DATE = re.compile(r"\b(20\d\d-[01]\d-[0-3]\d)\b")
GRADED_NEEDED = "These dates are all fully graded: tick this to regrade them, or pick other dates"
ChannelId = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,32}$")]


class Opened(BaseModel):
    """Where the modal was opened (its `private_metadata`): access is checked there on submission,
    and the progress is posted there (in `thread` when it came from a message)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    channel: ChannelId | None = None
    channel_name: Annotated[str, StringConstraints(max_length=80)] | None = None
    thread: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}\.[0-9]{1,8}$")] | None = None
    graded_only: tuple[date, date] | None = None  # planned: nothing to regrade but graded dates


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


def _state(submission: Submission, block: str, key: str) -> Any:
    """What an input holds (`key` of its element's state), whatever its element's action id."""
    actions = submission.view.state.values.get(block, {})
    return next(iter(actions.values()), {}).get(key)


def read_form(submission: Submission) -> Form | dict[str, str]:
    """The form, or the errors to show under its fields."""
    picked: dict[str, date] = {}
    errors: dict[str, str] = {}
    for block in ("start", "end"):
        chosen = _state(submission, block, "selected_date")
        try:
            picked[block] = date.fromisoformat(chosen) if isinstance(chosen, str) else date.min
        except ValueError:
            picked[block] = date.min
        if picked[block] == date.min:
            errors[block] = "pick a date"
    if errors:
        return errors
    options = _state(submission, GRADED, "selected_options")
    reason = _state(submission, "reason", "value")
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
    choice: Choice,
    where: Opened,
    reason: str = "",
    *,
    asked: bool = False,
) -> None:
    """Open the modal at once with `choice`'s dates, then show their plan (views.update)."""
    # `asked`: a message's dates, narrowed once planned to those the plan regrades
    start, end = choice.span or (None, None)
    metadata = where.model_dump_json(exclude_none=True)
    waiting = [*left_out_lines(choice.left_out), WAITING]
    try:
        opened = await client.views_open(
            trigger_id=trigger_id,
            view=modal_view(start, end, reason=reason, said=waiting, metadata=metadata),
        )
    except SlackApiError as exc:  # a trigger_id missing, used or expired: nothing opened
        log.warning("could not open the regrade modal: %s", exc.response.get("error"))
        return
    if choice.span is None:
        return
    try:
        choice, plan = await asyncio.to_thread(_plan_choice, deps(context).runtime, choice, asked)
    except Exception as exc:
        plain = isinstance(exc, RequestError)
        problem = str(exc) if plain else f"could not plan yet: {describe(exc).text}"
        said = [f":warning: {problem}", *left_out_lines(choice.left_out)]
        view = modal_view(start, end, reason=reason, said=said, metadata=metadata)
    else:
        view = _planned(plan, choice, where, reason)
    await client.views_update(view_id=opened["view"]["id"], view=view)


def _plan_choice(runtime: Runtime, choice: Choice, asked: bool) -> tuple[Choice, RegradePlan]:
    """The plan of `choice`'s dates; of a message's, of only those it regrades (blocking)."""
    assert choice.span is not None
    _, plan = planned(runtime, *choice.span, False)
    if not asked:
        return choice, plan
    narrowed = narrow(choice, plan)
    if narrowed.span is not None and narrowed.span != choice.span:
        _, plan = planned(runtime, *narrowed.span, False)
    return narrowed, plan


def _planned(plan: RegradePlan, choice: Choice, where: Opened, reason: str) -> dict[str, Any]:
    """The planned modal, its metadata saying when Start needs Include fully graded dates."""
    only = (plan.start, plan.end) if graded_only(plan) else None
    metadata = where.model_copy(update={"graded_only": only}).model_dump_json(exclude_none=True)
    return planned_view(plan, choice, reason=reason, metadata=metadata)


async def on_command_modal(
    ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """`/regrade` alone: the modal, empty."""
    command = payload(context, Command)
    await ack()
    where = Opened(channel=command.channel_id, channel_name=command.channel_name)
    await open_modal(context, client, command.trigger_id or "", Choice(()), where)


async def on_open(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """The health report's Regrade button: the modal, prefilled with the failing dates."""
    click, wanted = payload(context, Click), value(context, RegradeStart)
    await ack()
    where = Opened(
        channel=click.channel_id, channel_name=click.channel.name if click.channel else None
    )
    span = Choice((wanted.start, wanted.end))
    await open_modal(context, client, click.trigger_id or "", span, where)


async def on_shortcut(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """ "Regrade dates in this message": its regradable dates prefilled, the rest said why."""
    shortcut = payload(context, MessageShortcut)
    await ack()
    runtime = deps(context).runtime
    choice = choose(runtime.profile, dates_in(shortcut.message), today_of(runtime))
    where = Opened(
        channel=shortcut.channel.id,
        channel_name=shortcut.channel.name,
        thread=shortcut.message.thread_ts or shortcut.message.ts,
    )
    link = await _permalink(client, shortcut.channel.id, shortcut.message.ts)
    reason = f"from {link}" if link else ""
    await open_modal(context, client, shortcut.trigger_id, choice, where, reason, asked=True)


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
    except RangeError as exc:  # under the date to change
        await ack(response_action="errors", errors={exc.field: str(exc)[:150]})
        return
    where = where or Opened()
    if where.graded_only == (form.start, form.end) and not form.include_graded:
        await ack(response_action="errors", errors={GRADED: GRADED_NEEDED})
        return
    await ack(response_action="update", view=working_view(form.start, form.end))
    try:
        backfill = await started(
            deps(context), submission, form, channel=where.channel, thread=where.thread
        )
        shown = followed_in(backfill.shown_in, backfill.place)
        said = started_view(backfill.id, shown, backfill.created)
    except NothingToRegrade as nothing:  # the plan again, saying why
        said = _planned(nothing.plan, Choice(()), where, form.reason)
    except Exception as exc:  # the form again, with what went wrong under it
        problem = str(exc) if isinstance(exc, RequestError) else describe(exc).text
        said = modal_view(
            form.start,
            form.end,
            include_graded=form.include_graded,
            reason=form.reason,
            said=[f":warning: {problem}"],
            metadata=where.model_dump_json(exclude_none=True),
        )
    await client.views_update(view_id=submission.view.id, view=said)
