"""`/health [YYYY-MM-DD]` and its Details buttons."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from opsbot.bot.actions import ActionId, CheckDetails, decode
from opsbot.bot.listeners.replies import HELP_WORDS, already_running, ephemeral, report_failure
from opsbot.bot.live_message import LiveMessage
from opsbot.bot.runtime import Runtime
from opsbot.bot.views.health import check_details, health_progress, health_report
from opsbot.bot.views.messages import notice, usage
from opsbot.checks.result import CheckResult
from opsbot.commands.errors import RequestError
from opsbot.commands.health import parse_game_date, resolve_as_of, run_health


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


def register(app: AsyncApp, runtime: Runtime) -> None:
    guard = runtime.access.middleware()

    @app.command(COMMANDS[0], middleware=[guard])
    async def on_health(
        ack: Any, command: dict[str, Any], client: AsyncWebClient, respond: Any
    ) -> None:
        try:
            as_of = parse_health_args(command.get("text", ""), runtime)
        except RequestError as exc:
            await ack(**ephemeral(*usage("/health", str(exc) or None)))
            return
        channel = command["channel_id"]
        key = ("health", channel, as_of)
        if not runtime.in_flight.claim(key):
            await ack(**ephemeral(*notice(already_running(f"/health for {as_of}"))))
            return
        await ack()
        try:
            await post_health(runtime, client, respond, channel, as_of)
        finally:
            runtime.in_flight.release(key)

    @app.action(ActionId.HEALTH_DETAILS, middleware=[guard])
    async def on_details(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        try:
            wanted = decode(CheckDetails, body["actions"][0].get("value"))
            result = await run_one_check(runtime, wanted)
            await respond(**ephemeral(*check_details(result, wanted.as_of)), replace_original=False)
        except Exception as exc:
            await report_failure(exc, respond, None, "Details")


async def run_one_check(runtime: Runtime, wanted: CheckDetails) -> CheckResult:
    if wanted.check not in runtime.profile.health.checks:
        raise RequestError(f"check {wanted.check!r} is no longer in the profile; run /health again")
    platform = runtime.platform()
    warehouse = await asyncio.to_thread(lambda: platform.warehouse)
    report = await run_health(
        runtime.profile,
        warehouse,
        now=platform.now,
        as_of=wanted.as_of,
        checks=[wanted.check],
        drift_sources=platform.drift_sources,
    )
    return report.results[0]


async def post_health(
    runtime: Runtime, client: AsyncWebClient, respond: Any, channel: str, as_of: date
) -> None:
    """Post "running N checks" at once, fill it in as results arrive, end with the scored report."""
    names = list(runtime.profile.health.checks)
    live: LiveMessage | None = None
    try:
        live = await LiveMessage.post(client, channel, *health_progress(as_of, names, {}))
        done: dict[str, CheckResult] = {}

        def on_result(result: CheckResult) -> None:
            done[result.name] = result
            assert live is not None
            live.show(*health_progress(as_of, names, done))

        platform = runtime.platform()
        warehouse = await asyncio.to_thread(lambda: platform.warehouse)
        report = await run_health(
            runtime.profile,
            warehouse,
            now=platform.now,
            as_of=as_of,
            on_result=on_result,
            drift_sources=platform.drift_sources,
        )
        await live.finish(*health_report(report))
    except Exception as exc:
        await report_failure(exc, respond, live, f"Health {as_of}")
