"""`/regrade START [END]`: the plan, Start, and the backfill's progress message with its buttons.

Every listener here is module-level and typed; `register` only wires (each with its parsed
payload in front of the regrader role). The modal's listeners are in regrade_modal.py.
"""

from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Access
from bot.actions import ActionId, BackfillAction, RegradeStart
from bot.deps import deps
from bot.listeners import regrade_modal
from bot.listeners.replies import HELP_WORDS, ephemeral, replacement, report_failure, usage_answer
from bot.parsed import Parsed, payload, value
from bot.payloads import Click, Command, MessageShortcut, Submission
from bot.regrade_planning import begin, planned
from bot.views.messages import notice
from bot.views.regrade import MODAL, followed_in, plan_view
from commands.errors import RequestError
from commands.regrade.engine import cancel, retry_failed
from commands.regrade.plan import parse_range
from store.backfill_views import Place

COMMANDS = ("/regrade",)
SHORTCUT = "regrade.from_message"  # manifest.yml: "Regrade dates in this message"
GRADED_FLAG = "--include-graded"


async def on_regrade(
    ack: AsyncAck, respond: AsyncRespond, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """`/regrade` alone opens the modal; with dates, an ephemeral plan with Start."""
    command = payload(context, Command)
    words = [w for w in command.text.split() if w != GRADED_FLAG]
    if not words:
        await regrade_modal.on_command_modal(ack, client, context)
        return
    try:
        if any(w.lower() in HELP_WORDS for w in words):
            raise RequestError("")
        start, end = parse_range(words)
    except RequestError as exc:
        await ack(**usage_answer("/regrade", str(exc)))
        return
    await ack(**ephemeral(*notice(f"Planning the regrade of {start}..{end}…")))
    runtime, graded = deps(context).runtime, GRADED_FLAG in command.text.split()
    try:
        _, plan = await asyncio.to_thread(planned, runtime, start, end, graded)
        await respond(**ephemeral(*plan_view(plan)), replace_original=True)
    except Exception as exc:
        await report_failure(exc, respond, None, "Regrade", replace=True)


async def on_start(ack: AsyncAck, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    """The plan's Start: the backfill, its progress in the channel."""
    click, wanted = payload(context, Click), value(context, RegradeStart)
    await ack()
    try:
        span = (wanted.start, wanted.end, wanted.include_graded)
        # one backfill per plan message, however often its Start is clicked or retried; a later
        # /regrade of the same dates is another plan, so another backfill
        done = await begin(
            deps(context),
            click.user.id,
            span,
            reason="/regrade in Slack",
            salt=f"plan:{click.container.message_ts or ''}",
            channel=click.channel_id,
        )
        said = "started" if done.created else "was already started by this request"
        where = followed_in(done.shown_in, done.place)
        await respond(**replacement(f"Backfill #{done.id} {said}: its progress is {where}."))
    except Exception as exc:
        await report_failure(exc, respond, None, "Regrade")


async def on_dismiss(ack: AsyncAck, respond: AsyncRespond) -> None:
    await ack()
    await respond(**replacement("Cancelled: nothing was published."))


async def on_cancel(ack: AsyncAck, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    """Cancel: the dates not yet published are canceled; the published ones finish."""
    click, wanted = payload(context, Click), value(context, BackfillAction)
    await ack()
    found = deps(context)
    assert found.runtime.regrade_tools is not None and found.backfills is not None
    try:
        tools = await asyncio.to_thread(found.runtime.regrade_tools)
        await asyncio.to_thread(cancel, tools, wanted.backfill, click.user.id)
        await found.backfills.show(wanted.backfill)
        said = f"Backfill #{wanted.backfill}: the dates not yet published are canceled; the published ones finish."
        await respond(**ephemeral(*notice(said)), replace_original=False)
    except Exception as exc:
        await report_failure(exc, respond, None, "Cancel")


async def on_retry(ack: AsyncAck, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    """Retry failed: a new backfill of the failed and timed-out dates, and where to follow it."""
    click, wanted = payload(context, Click), value(context, BackfillAction)
    await ack()
    found = deps(context)
    assert found.runtime.regrade_tools is not None and found.backfills is not None
    place = Place(click.channel_id) if click.channel_id else None
    try:
        tools = await asyncio.to_thread(found.runtime.regrade_tools)
        backfill, created = await asyncio.to_thread(
            retry_failed, found.runtime.profile, tools, wanted.backfill, click.user.id, place
        )
        if not created:
            return  # a double click: the first one said where
        found.backfills.arm(backfill.id)  # driven to its end whatever happens to its message
        where = followed_in(await found.backfills.show(backfill.id), place)
        said = f"Backfill #{backfill.id} retries the failed dates: its progress is {where}."
        await respond(**ephemeral(*notice(said)), replace_original=False)
    except Exception as exc:
        await report_failure(exc, respond, None, "Retry")


def register(app: AsyncApp, access: Access) -> None:
    regrader = access.middleware("regrader")
    # a backfill's message goes to its starter's DM when its channel refuses it: its buttons too
    on_its_message = access.middleware("regrader", in_dm=True)

    def clicked(kind: type[RegradeStart] | type[BackfillAction]) -> list[AsyncMiddleware]:
        return [Parsed(Click, kind), regrader]

    app.command(COMMANDS[0], middleware=[Parsed(Command), regrader])(on_regrade)
    app.action(ActionId.REGRADE_START, middleware=clicked(RegradeStart))(on_start)
    app.action(ActionId.REGRADE_DISMISS, middleware=[Parsed(Click), regrader])(on_dismiss)
    backfill_button = [Parsed(Click, BackfillAction), on_its_message]
    app.action(ActionId.BACKFILL_CANCEL, middleware=backfill_button)(on_cancel)
    app.action(ActionId.BACKFILL_RETRY, middleware=backfill_button)(on_retry)
    app.action(ActionId.REGRADE_OPEN, middleware=clicked(RegradeStart))(regrade_modal.on_open)
    app.shortcut(SHORTCUT, middleware=[Parsed(MessageShortcut), regrader])(
        regrade_modal.on_shortcut
    )
    app.view(MODAL, middleware=[Parsed(Submission), regrader])(regrade_modal.on_submit)
