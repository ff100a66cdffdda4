"""A channel message updated in place as work progresses, one chat.update at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.views.kit import fallback

log = logging.getLogger("opsbot.slack")

# Slack's rate-limit page: apps should send about one message per second per channel (bursts
# tolerated), and chat.update is a Tier 3 method (about 50 a minute per workspace). Progress is
# shown at most this often per message; the final state is shown at once.
PROGRESS_INTERVAL_S = 1.0
Render = Callable[[], tuple[str, list[Block]]]  # a state, drawn only when it is shown


class LiveMessage:
    """Posted once; later states replace it. Intermediate states may be skipped, never the last."""

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        ts: str,
        interval_s: float = PROGRESS_INTERVAL_S,
    ) -> None:
        self.client, self.channel, self.ts = client, channel, ts
        self._interval = interval_s
        self._loop = asyncio.get_running_loop()
        self._last_shown = self._loop.time()  # the post itself is the first state shown
        self._pending: Render | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._finishing = asyncio.Event()

    @classmethod
    async def post(
        cls, client: AsyncWebClient, channel: str, text: str, blocks: list[Block]
    ) -> LiveMessage:
        posted = await client.chat_postMessage(channel=channel, text=fallback(text), blocks=blocks)
        return cls(client, str(posted["channel"]), str(posted["ts"]))

    def show(self, render: Render) -> None:
        """Show the state `render` draws soon (coalescing with any newer one); never waits.

        It is drawn only if it is shown: a state replaced within the interval costs nothing.
        """
        self._pending = render
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self._pending is not None:
            await self._wait_for_turn()
            if self._pending is None:  # finish() came first: its state replaces this one
                return
            text, blocks = self._pending()
            self._pending = None
            try:
                await self._update(text, blocks)
            except SlackApiError as exc:  # progress is best effort; the final state is not
                log.warning(
                    "progress update of %s/%s failed: %s",
                    self.channel,
                    self.ts,
                    exc.response.get("error"),
                )

    async def _wait_for_turn(self) -> None:
        """Until PROGRESS_INTERVAL_S after the last state shown, or until finish() is called."""
        wait_s = self._last_shown + self._interval - self._loop.time()
        if wait_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._finishing.wait(), wait_s)

    async def finish(self, text: str, blocks: list[Block]) -> None:
        """Show the final state now, after any progress update already in flight."""
        self._pending = None
        self._finishing.set()
        if self._flusher is not None:
            await self._flusher
        await self._update(text, blocks)

    async def _update(self, text: str, blocks: list[Block]) -> None:
        try:
            await self.client.chat_update(
                channel=self.channel, ts=self.ts, text=fallback(text), blocks=blocks
            )
        finally:
            self._last_shown = self._loop.time()
