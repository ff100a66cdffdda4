"""One task per running backfill: pulls completions, publishes what is due, keeps its message."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from slack_sdk.web.async_client import AsyncWebClient

from adapters.pubsub import Received
from bot.open_patiently import open_patiently
from bot.runtime import Runtime
from bot.views.kit import fallback
from bot.views.regrade import progress_view
from commands.regrade.engine import RegradeTools, absorb, pump, take_completions

log = logging.getLogger("opsbot.regrade")


class RegradeTasks:
    def __init__(self, runtime: Runtime, client: AsyncWebClient) -> None:
        assert runtime.regrade_tools is not None
        self.runtime = runtime
        self.client = client
        self.tools_of = runtime.regrade_tools
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._showing: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    def arm(self, backfill_id: int) -> None:
        """Drive the backfill from now on (once: arming twice keeps the one task)."""
        running = self._tasks.get(backfill_id)
        if running is None or running.done():
            self._tasks[backfill_id] = asyncio.create_task(
                self._drive(backfill_id), name=f"backfill-{backfill_id}"
            )

    async def resume(self) -> list[int]:
        """After a (re)start: every running backfill is driven again, and shown.

        With none running (the store says so), Pub/Sub and the warehouse are not opened. When
        they cannot be opened yet (credentials granted later), this says so in one line and
        tries again every minute.
        """
        opener = self.runtime.backfill_store
        if opener is not None:
            try:
                backfills = await asyncio.to_thread(opener)
                if not await asyncio.to_thread(backfills.running):
                    return []
            except Exception:
                pass  # the store is not open yet: the tools' loop below says why
        tools = await open_patiently(self.tools_of, "backfills", log)
        found = await asyncio.to_thread(tools.backfills.running)
        for backfill in found:
            self.arm(backfill.id)
        return [b.id for b in found]

    async def completions(self, messages: list[Received]) -> None:
        """Completions pushed by Pub/Sub: absorbed, their backfills pumped and shown."""
        tools = await asyncio.to_thread(self.tools_of)
        touched = await asyncio.to_thread(absorb, tools, messages)
        for backfill_id in touched:
            await asyncio.to_thread(pump, self.runtime.profile, tools, backfill_id)
            await self.show(backfill_id)

    async def show(
        self, backfill_id: int, channel: str | None = None, thread: str | None = None
    ) -> None:
        """Render the backfill as the store has it: post its message if it has none yet."""
        async with self._showing[backfill_id]:
            tools = await asyncio.to_thread(self.tools_of)
            backfill = await asyncio.to_thread(tools.backfills.get, backfill_id)
            if backfill is None:
                return
            text, blocks = progress_view(backfill, tools.clock())
            if backfill.slack_channel and backfill.slack_ts:
                await self.client.chat_update(
                    channel=backfill.slack_channel,
                    ts=backfill.slack_ts,
                    text=fallback(text),
                    blocks=blocks,
                )
                return
            if channel is None:
                return  # started from a terminal: no message to keep
            posted = await self.client.chat_postMessage(
                channel=channel, text=fallback(text), blocks=blocks, thread_ts=thread
            )
            attached = await asyncio.to_thread(
                tools.backfills.attach_message,
                backfill_id,
                str(posted["channel"]),
                str(posted["ts"]),
            )
            if not attached:  # another replica posted it first
                await self.client.chat_delete(channel=str(posted["channel"]), ts=str(posted["ts"]))

    async def _drive(self, backfill_id: int) -> None:
        profile = self.runtime.profile
        shown = None
        while True:
            try:
                tools: RegradeTools = await asyncio.to_thread(self.tools_of)
                await asyncio.to_thread(take_completions, profile, tools)
                backfill = await asyncio.to_thread(pump, profile, tools, backfill_id)
                state = (backfill.state, tuple((d.state, d.graded_count) for d in backfill.dates))
                if state != shown:
                    await self.show(backfill_id)
                    shown = state
                if backfill.ended:
                    return
            except Exception:
                log.exception("backfill #%s: a round failed; trying again", backfill_id)
            await asyncio.sleep(profile.regrade.poll_s)
