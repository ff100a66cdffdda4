"""One settings loader and one client factory: every entry point calls the same Slack Web API."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.web import base_client
from slack_sdk.web.async_base_client import AsyncBaseClient

from bot.settings import (
    SlackApi,
    SlackSettings,
    SlackSettingsMissing,
    load_slack_settings,
)
from bot.slack_clients import slack_api, sync_web_client, web_client
from config import ConfigError

VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "OPSBOT_SLACK_API_URL")


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def base_url_as_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk 3.33's clients (our pin allows it): the base URL kept as given, so the one
    that reaches slack_sdk is the one it calls."""
    for kind in (base_client.BaseClient, AsyncBaseClient):
        init = kind.__init__

        def as_given(
            self: Any, token: str | None = None, base_url: str = "", _init: Any = init, **kw: Any
        ) -> None:
            _init(self, token, base_url, **kw)
            self.base_url = base_url

        monkeypatch.setattr(kind, "__init__", as_given)


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/api", "http://127.0.0.1:9/api/"])
def test_every_client_calls_the_api_url_with_its_trailing_slash(
    url: str, environment: pytest.MonkeyPatch, base_url_as_given: None
) -> None:
    environment.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    environment.setenv("SLACK_SIGNING_SECRET", "shh")
    environment.setenv("OPSBOT_SLACK_API_URL", url)
    served = load_slack_settings()  # opsbot serve
    posting = load_slack_settings(SlackApi)  # opsbot schedule run, opsbot doctor
    given = slack_api("xoxb-1", url)  # an emulator's

    for settings in (served, posting, given):
        assert sync_web_client(settings).base_url == "http://127.0.0.1:9/api/"
        assert web_client(settings).base_url == "http://127.0.0.1:9/api/"


def test_without_a_url_the_clients_call_slack(
    environment: pytest.MonkeyPatch, base_url_as_given: None
) -> None:
    environment.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    settings = load_slack_settings(SlackApi)
    assert sync_web_client(settings).base_url == "https://slack.com/api/"
    assert web_client(settings).base_url == "https://slack.com/api/"


def test_the_app_and_the_workers_retry_alike() -> None:
    settings = slack_api("xoxb-1")
    sync, app = sync_web_client(settings), web_client(settings)

    def retries(client: Any) -> list[tuple[str, int]]:
        return [
            (type(h).__name__.removeprefix("Async"), h.max_retry_count)
            for h in client.retry_handlers
        ]

    assert (
        retries(sync)
        == retries(app)
        == [
            ("ConnectionErrorRetryHandler", 2),
            ("RateLimitErrorRetryHandler", 3),
        ]
    )
    assert sync.timeout == app.timeout == 15


def test_what_is_missing_or_wrong_is_named_and_no_secret_is_shown(
    environment: pytest.MonkeyPatch,
) -> None:
    environment.setenv("SLACK_BOT_TOKEN", "")  # empty is unset
    with pytest.raises(SlackSettingsMissing, match="set SLACK_BOT_TOKEN in the environment") as no:
        load_slack_settings(SlackApi)
    assert no.value.names == ["SLACK_BOT_TOKEN"] and "opsbot sandbox" not in str(no.value)
    environment.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    with pytest.raises(SlackSettingsMissing, match="set SLACK_SIGNING_SECRET") as serving:
        load_slack_settings()
    assert "opsbot sandbox" in str(serving.value)
    environment.setenv("OPSBOT_SLACK_API_URL", "slack.example/api")
    with pytest.raises(ConfigError, match=r"^OPSBOT_SLACK_API_URL is not valid"):
        load_slack_settings(SlackApi)
    environment.setenv("OPSBOT_SLACK_API_URL", "https://slack.example/api")
    settings = load_slack_settings(SlackApi)
    assert settings.api_url == "https://slack.example/api/"
    assert "xoxb-secret-value" not in repr(settings)
    assert not isinstance(settings, SlackSettings)
