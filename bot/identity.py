"""Who the bot is (auth.test), asked once per process and shared by every request.

Given to Bolt as its public `authorize` function. Bolt's own single-workspace authorization asks
on the first request and caches the answer, but every request that arrives before the answer asks
again: a burst right after a restart would send one auth.test per request in flight (and meet
Slack's rate limit) before any of them is acknowledged. Here the first caller asks and the rest
wait for its answer; the server asks once at start-up, before the first request.
"""

from __future__ import annotations

import asyncio

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient


class BotIdentity:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._result: AuthorizeResult | None = None
        self._asking: asyncio.Lock | None = None

    async def authorize(self) -> AuthorizeResult:
        """Bolt's `authorize`: the bot token with what auth.test said about it (asked once)."""
        if self._result is not None:
            return self._result
        if self._asking is None:  # made on the serving loop, at first use
            self._asking = asyncio.Lock()
        async with self._asking:
            if self._result is None:
                answer = await self._client.auth_test()
                self._result = AuthorizeResult.from_auth_test_response(
                    bot_token=self._client.token, auth_test_response=answer
                )
        return self._result
