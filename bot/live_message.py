"""A channel message updated in place as work progresses, one chat.update at a time."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.views.kit import fallback

log = logging.getLogger("opsbot.slack")


class LiveMessage:
    """Posted once; later states replace it. Intermediate states may be skipped, never the last."""

    def __init__(self, client: AsyncWebClient, channel: str, ts: str) -> None:
        self.client, self.channel, self.ts = client, channel, ts
        self._pending: tuple[str, list[Block]] | None = None
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    async def post(
        cls, client: AsyncWebClient, channel: str, text: str, blocks: list[Block]
    ) -> LiveMessage:
        posted = await client.chat_postMessage(channel=channel, text=fallback(text), blocks=blocks)
        return cls(client, str(posted["channel"]), str(posted["ts"]))

    def show(self, text: str, blocks: list[Block]) -> None:
        """Show this state soon (coalescing with any newer one); never waits."""
        self._pending = (text, blocks)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self._pending is not None:
            text, blocks = self._pending
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

    async def finish(self, text: str, blocks: list[Block]) -> None:
        """Show the final state, after any progress update still in flight."""
        self._pending = None
        if self._flusher is not None:
            await self._flusher
        await self._update(text, blocks)

    async def _update(self, text: str, blocks: list[Block]) -> None:
        await self.client.chat_update(
            channel=self.channel, ts=self.ts, text=fallback(text), blocks=blocks
        )
