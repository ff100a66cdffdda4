"""slack_sdk's Web API clients, opened one way for every entry point.

The app's AsyncWebClient (`opsbot serve`) and the WebClient of worker threads and terminals
(scheduled jobs, `opsbot schedule run`, `opsbot doctor`) share the base URL (with its trailing
slash), the timeout, and the retries: rate limits honouring Retry-After, dropped connections.
"""

from __future__ import annotations

from pydantic import SecretStr
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.web import WebClient
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import SlackApi

TIMEOUT_S = 15
CONNECTION_RETRIES = 2  # a dropped connection, retried at once
RATE_LIMIT_RETRIES = 3  # a 429, retried after its Retry-After


def web_client(settings: SlackApi) -> AsyncWebClient:
    """The app's client (the Bolt app's, on the event loop)."""
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.api_url,
        timeout=TIMEOUT_S,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )


def sync_web_client(settings: SlackApi) -> WebClient:
    """The client of a worker thread or a terminal command."""
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.api_url,
        timeout=TIMEOUT_S,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )


def slack_api(token: str, api_url: str | None = None) -> SlackApi:
    """Settings given rather than read (an emulator's token and URL), checked as the environment's."""
    return SlackApi(slack_bot_token=SecretStr(token), opsbot_slack_api_url=api_url)
