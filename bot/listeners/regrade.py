"""`/regrade START [END]`: the plan, Start, and the backfill's progress message with its buttons."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ActionId, BackfillAction, RegradeStart, clicked
from bot.errors import describe
from bot.listeners.replies import HELP_WORDS, ephemeral, replacement, report_failure, usage_answer
from bot.regrade_tasks import RegradeTasks
from bot.runtime import Runtime
from bot.views.messages import notice
from bot.views.regrade import MODAL, modal_view, plan_summary, plan_view
from commands.errors import RequestError
from commands.regrade.engine import RegradeTools, cancel, request_key, retry_failed, submit
from commands.regrade.plan import RegradePlan, parse_range, plan_regrade

COMMANDS = ("/regrade",)
SHORTCUT = "regrade.from_message"  # manifest.yml: "Regrade dates in this message"
DATE = re.compile(r"\b(20\d\d-[01]\d-[0-3]\d)\b")


def dates_in(message: dict[str, Any]) -> list[date]:
    """Every YYYY-MM-DD in a message's text and blocks, sorted (a range is its two ends)."""
    text = f"{message.get('text', '')} {json.dumps(message.get('blocks') or [])}"
    found = set()
    for day in DATE.findall(text):
        try:
            found.add(date.fromisoformat(day))
        except ValueError:
            continue
    return sorted(found)


def _picked(values: dict[str, Any], block: str) -> date | None:
    chosen = values.get(block, {}).get(block, {}).get("selected_date")
    try:
        return date.fromisoformat(chosen) if chosen else None
    except ValueError:
        return None


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

    async def open_modal(
        client: AsyncWebClient,
        trigger_id: str,
        start: date | None,
        end: date | None,
        channel: dict[str, Any],
        *,
        thread: str | None = None,
        reason: str = "",
    ) -> None:
        """Open the modal at once (the trigger lasts 3 s), then fill in the plan (views.update).

        `channel` ({"id", "name"}) is where it was opened: access is checked there on submission,
        and the progress is posted there."""
        metadata = json.dumps(
            {"channel": channel.get("id"), "channel_name": channel.get("name"), "thread": thread}
        )
        opened = await client.views_open(
            trigger_id=trigger_id,
            view=modal_view(start, end, reason=reason, metadata=metadata),
        )
        if start is None or end is None:
            return
        try:
            _, plan = await asyncio.to_thread(planned, start, end, False)
            summary = plan_summary(plan)
        except RequestError as exc:
            summary = f":warning: {exc}"
        except Exception as exc:
            summary = f":warning: could not plan yet: {describe(exc).text}"
        await client.views_update(
            view_id=opened["view"]["id"],
            view=modal_view(start, end, reason=reason, summary=summary, metadata=metadata),
        )

    @app.shortcut(SHORTCUT, middleware=[regrader])
    async def on_shortcut(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """ "Regrade dates in this message": its dates, prefilled; progress in its thread."""
        await ack()
        message = body.get("message", {})
        days = dates_in(message)
        channel = body.get("channel") or {}
        link = ""
        if channel.get("id") and message.get("ts"):
            try:
                found = await client.chat_getPermalink(
                    channel=channel["id"], message_ts=message["ts"]
                )
                link = str(found.get("permalink", ""))
            except SlackApiError:
                link = ""
        await open_modal(
            client,
            body["trigger_id"],
            days[0] if days else None,
            days[-1] if days else None,
            channel,
            thread=message.get("ts"),
            reason=f"from {link}" if link else "",
        )

    @app.action(ActionId.REGRADE_OPEN, middleware=[regrader])
    async def on_open(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The health report's Regrade button: the modal, prefilled with the failing dates."""
        await ack()
        wanted = clicked(body, RegradeStart)
        await open_modal(
            client, body["trigger_id"], wanted.start, wanted.end, body.get("channel") or {}
        )

    @app.view(MODAL, middleware=[regrader])
    async def on_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view.get("state", {}).get("values", {})
        start = _picked(values, "start")
        end = _picked(values, "end")
        if start is None or end is None:
            missing = "start" if start is None else "end"
            await ack(response_action="errors", errors={missing: "pick a date"})
            return
        graded = bool(values.get("graded", {}).get("graded", {}).get("selected_options"))
        reason = str(values.get("reason", {}).get("reason", {}).get("value") or "")
        user = body["user"]["id"]
        try:
            tools, plan = await asyncio.to_thread(planned, start, end, graded)
            backfill, created = await asyncio.to_thread(
                lambda: submit(
                    profile,
                    tools,
                    plan,
                    user,
                    reason=reason or "/regrade in Slack",
                    key=request_key(user, plan, salt=view.get("id", "")),
                )
            )
        except RequestError as exc:
            await ack(response_action="errors", errors={"start": str(exc)[:150]})
            return
        await ack()  # the modal closes; the progress is posted where it was asked for
        where = json.loads(view.get("private_metadata") or "{}")
        if created:
            await tasks.show(backfill.id, channel=where.get("channel"), thread=where.get("thread"))
            tasks.arm(backfill.id)

    @app.command(COMMANDS[0], middleware=[regrader])
    async def on_regrade(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        words = command.get("text", "").split()
        include_graded = "--include-graded" in words
        words = [w for w in words if w != "--include-graded"]
        if not words:  # the modal: dates, options and a reason, the plan filled in after
            await ack()
            here = {"id": command.get("channel_id"), "name": command.get("channel_name")}
            await open_modal(client, command["trigger_id"], None, None, here)
            return
        try:
            if any(w.lower() in HELP_WORDS for w in words):
                raise RequestError("")
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
