"""`/health [YYYY-MM-DD]` and its Details buttons.

Every listener is module-level and typed; `register` only wires (each with its parsed payload in
front of the access check).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Access
from bot.actions import ActionId, CheckDetails
from bot.deps import deps
from bot.health_message import ShownReport, show_report
from bot.in_flight import Claim
from bot.listeners.replies import (
    HELP_WORDS,
    already_running,
    button,
    ephemeral,
    report_failure,
    usage_answer,
)
from bot.live_message import LiveMessage
from bot.parsed import Parsed, payload, value
from bot.payloads import Command
from bot.runtime import Runtime
from bot.views.health import check_details, health_progress
from bot.views.messages import notice
from checks.registry import enabled_checks
from checks.result import CheckResult, HealthReport
from checks.runner import OnResult
from commands.errors import RequestError
from commands.health import parse_game_date, resolve_as_of, run_health
from commands.health_causes.records import Records
from commands.health_worker import HealthJob


def parse_health_args(text: str, runtime: Runtime) -> date:
    """The game day asked for, or a RequestError; `help` is a RequestError with no problem."""
    words = text.split()
    if any(word.lower() in HELP_WORDS for word in words):
        raise RequestError("")
    if len(words) > 1:
        raise RequestError(f"expected at most one date, got {len(words)} words")
    as_of = parse_game_date(words[0]) if words else None
    return resolve_as_of(runtime.profile, runtime.platform().now, as_of)


COMMANDS = ("/health",)
log = logging.getLogger("opsbot.slack")


async def on_health(
    ack: AsyncAck, client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """`/health [date]`: acked at once (nothing but parsing before it), then the live report."""
    command, runtime = payload(context, Command), deps(context).runtime
    try:
        as_of = parse_health_args(command.text, runtime)
    except RequestError as exc:
        await ack(**usage_answer("/health", str(exc)))
        return
    channel = command.channel_id
    claim = runtime.in_flight.claim(("health", channel, as_of))
    if claim is None:
        await ack(**ephemeral(*notice(already_running(f"/health for {as_of}"))))
        return
    await ack()
    await post_health(runtime, client, respond, channel, as_of, claim)


async def on_details(ack: AsyncAck, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    """A failing check's Details: its breakdown for the game day the report judged, ephemeral."""
    wanted = value(context, CheckDetails)
    await ack()
    try:
        result = await run_one_check(deps(context).runtime, wanted)
        await respond(**ephemeral(*check_details(result, wanted.as_of)), replace_original=False)
    except Exception as exc:
        await report_failure(exc, respond, None, "Details")


def register(app: AsyncApp, access: Access) -> None:
    anyone_here = access.middleware()
    app.command(COMMANDS[0], middleware=[Parsed(Command), anyone_here])(on_health)
    app.action(ActionId.HEALTH_DETAILS, middleware=button(CheckDetails, anyone_here))(on_details)


async def run_one_check(runtime: Runtime, wanted: CheckDetails) -> CheckResult:
    if wanted.check not in enabled_checks(runtime.profile):
        raise RequestError(f"check {wanted.check!r} is no longer in the profile; run /health again")
    report = await build_report(runtime, wanted.as_of, None, [wanted.check])
    return report.results[0]


async def post_health(
    runtime: Runtime,
    client: AsyncWebClient,
    respond: AsyncRespond,
    channel: str,
    as_of: date,
    claim: Claim,
) -> None:
    """Post "running N checks" at once; the report fills it in as results arrive, then scores it.

    With a report worker, the worker builds the report and draws and sends every later state
    (bot/report_worker.py); otherwise this process does (bot/health_message.py). `claim` (on
    runtime.in_flight) is released just before the final state is shown, so that whoever sees
    the report finished can ask for a new one.
    """
    names = enabled_checks(runtime.profile)
    live: LiveMessage | None = None
    try:
        queued = runtime.slots.full
        live = await LiveMessage.post(client, channel, *health_progress(as_of, names, {}, queued))
        async with runtime.slots.semaphore:
            worker = runtime.health_worker
            if worker is not None:
                now = runtime.platform().now
                shown = ShownReport(as_of, now, live.channel, live.ts, queued, runtime.store_url)
                await worker.show(shown, claim.release)
            else:
                build = partial(build_report, runtime, as_of)
                await show_report(live, as_of, names, queued, build, claim.release)
    except Exception as exc:
        claim.release()  # whoever reads the failure may ask again at once
        await report_failure(exc, respond, live, f"Health {as_of}")
    finally:
        claim.release()


async def build_report(
    runtime: Runtime, as_of: date, on_result: OnResult | None, checks: list[str] | None = None
) -> HealthReport:
    """The checks of `as_of`, in the worker process when there is one, else in this one."""
    platform = runtime.platform()
    if runtime.health_worker is not None:
        job = HealthJob(as_of, platform.now, checks, runtime.store_url)
        return await runtime.health_worker.report(job, on_result)
    warehouse = await asyncio.to_thread(lambda: platform.warehouse)
    return await run_health(
        runtime.profile,
        warehouse,
        now=platform.now,
        as_of=as_of,
        on_result=on_result,
        drift_sources=platform.drift_sources,
        checks=checks,
        records=await asyncio.to_thread(store_records, runtime),
    )


def store_records(runtime: Runtime) -> Records | None:
    """What the bot's own store remembers of causes; None while it cannot be read (blocking)."""
    if runtime.rollout_store is None and runtime.backfill_store is None:
        return None
    try:
        rollouts = runtime.rollout_store() if runtime.rollout_store is not None else None
        backfills = runtime.backfill_store() if runtime.backfill_store is not None else None
    except Exception:  # a store still opening: the causes come from the platform alone
        log.warning("the store could not be read for likely causes", exc_info=True)
        return None
    return Records(rollouts=rollouts, backfills=backfills)
