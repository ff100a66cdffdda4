"""`/regrade START [END]`: the plan, Start, and the backfill's progress message with its buttons."""

from __future__ import annotations

import asyncio
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.actions import ActionId, BackfillAction, RegradeStart, clicked
from bot.listeners.replies import HELP_WORDS, ephemeral, replacement, report_failure, usage_answer
from bot.regrade_tasks import RegradeTasks
from bot.runtime import Runtime
from bot.views.messages import notice
from bot.views.regrade import plan_view
from commands.errors import RequestError
from commands.regrade.engine import RegradeTools, cancel, retry_failed, submit
from commands.regrade.plan import RegradePlan, parse_range, plan_regrade

COMMANDS = ("/regrade",)


def register(app: AsyncApp, runtime: Runtime, tasks: RegradeTasks) -> None:
    profile = runtime.profile
    assert runtime.regrade_tools is not None
    tools_of = runtime.regrade_tools
    regrader = runtime.access.middleware("regrader")

    def planned(start: Any, end: Any, include_graded: bool) -> tuple[RegradeTools, RegradePlan]:
        tools = tools_of()
        platform = runtime.platform()
        today = platform.now.astimezone(ZoneInfo(profile.platform.game_timezone)).date()
        warehouse = tools.warehouse
        plan = plan_regrade(
            profile,
            warehouse,
            start,
            end,
            today=today,
            include_graded=include_graded,
            in_flight=tools.backfills.in_flight,
            estimate=getattr(warehouse, "estimate", lambda query: 0),
        )
        return tools, plan

    @app.command(COMMANDS[0], middleware=[regrader])
    async def on_regrade(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        words = command.get("text", "").split()
        include_graded = "--include-graded" in words
        words = [w for w in words if w != "--include-graded"]
        try:
            if not words or any(w.lower() in HELP_WORDS for w in words):
                raise RequestError("" if words else "give the dates to regrade: START [END]")
            start, end = parse_range(words)
        except RequestError as exc:
            await ack(**usage_answer("/regrade", str(exc)))
            return
        await ack(**ephemeral(*notice(f"Planning the regrade of {start}..{end}…")))
        try:
            _, plan = await asyncio.to_thread(planned, start, end, include_graded)
            await respond(**ephemeral(*plan_view(plan)), replace_original=True)
        except Exception as exc:
            await report_failure(exc, respond, None, "Regrade", replace=True)

    @app.action(ActionId.REGRADE_START, middleware=[regrader])
    async def on_start(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = body["user"]["id"]
        try:
            wanted = clicked(body, RegradeStart)

            def started() -> Any:
                tools, plan = planned(wanted.start, wanted.end, wanted.include_graded)
                return submit(profile, tools, plan, user, reason="/regrade in Slack")

            backfill, created = await asyncio.to_thread(started)
            if created:
                channel = body.get("channel", {}).get("id")
                await tasks.show(backfill.id, channel=channel)
                tasks.arm(backfill.id)
            said = "started" if created else "was already started by this request"
            await respond(
                **replacement(f"Backfill #{backfill.id} {said}: its progress is in the channel.")
            )
        except Exception as exc:
            await report_failure(exc, respond, None, "Regrade")

    @app.action(ActionId.REGRADE_DISMISS, middleware=[regrader])
    async def on_dismiss(ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack()
        await respond(**replacement("Cancelled: nothing was published."))

    @app.action(ActionId.BACKFILL_CANCEL, middleware=[regrader])
    async def on_cancel(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = body["user"]["id"]
        try:
            wanted = clicked(body, BackfillAction)
            tools = await asyncio.to_thread(tools_of)
            await asyncio.to_thread(cancel, tools, wanted.backfill, user)
            await tasks.show(wanted.backfill)
            await respond(
                **ephemeral(
                    *notice(
                        f"Backfill #{wanted.backfill}: the dates not yet published are canceled; the published ones finish."
                    )
                ),
                replace_original=False,
            )
        except Exception as exc:
            await report_failure(exc, respond, None, "Cancel")

    @app.action(ActionId.BACKFILL_RETRY, middleware=[regrader])
    async def on_retry(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = body["user"]["id"]
        try:
            wanted = clicked(body, BackfillAction)
            tools = await asyncio.to_thread(tools_of)
            backfill, created = await asyncio.to_thread(
                retry_failed, profile, tools, wanted.backfill, user
            )
            if created:
                await tasks.show(backfill.id, channel=body.get("channel", {}).get("id"))
                tasks.arm(backfill.id)
        except Exception as exc:
            await report_failure(exc, respond, None, "Retry")
