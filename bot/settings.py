"""Slack secrets and endpoints, only from the environment (never from the profile, never logged).

One loader for every entry point: `opsbot serve` reads SlackSettings (it also verifies Slack's
requests), `opsbot schedule run` and `opsbot doctor` read SlackApi (they only call the Web API).
Each then opens its client with bot/slack_clients.py.
"""

from __future__ import annotations

from typing import Annotated, TypeVar, overload

from pydantic import AfterValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from config import ConfigError

SLACK_API_URL = "https://slack.com/api/"
WHERE_TO_FIND = (
    "from the Slack app's settings page: Basic Information → Signing Secret, "
    "OAuth & Permissions → Bot User OAuth Token"
)


def with_trailing_slash(url: str) -> str:
    """The Web API's base URL as slack_sdk joins it: `http://host/api` is `http://host/api/`
    (urljoin would otherwise drop `api`, and slack_sdk before 3.34 does not add the slash)."""
    return url.rstrip("/") + "/"


ApiUrl = Annotated[str, Field(pattern=r"^https?://\S+$"), AfterValidator(with_trailing_slash)]


class SlackApi(BaseSettings):
    """What calling Slack's Web API needs: the bot token and, for another Slack, its URL."""

    # an empty variable is an unset one: SLACK_BOT_TOKEN= is "set SLACK_BOT_TOKEN", not a token
    model_config = SettingsConfigDict(extra="ignore", frozen=True, env_ignore_empty=True)

    slack_bot_token: SecretStr = Field(description="xoxb-… bot token")
    opsbot_slack_api_url: ApiUrl | None = Field(
        default=None, description="another Slack-compatible Web API base URL"
    )

    @property
    def api_url(self) -> str:
        """The Web API's base URL, with its trailing slash (slack.com's unless set)."""
        return self.opsbot_slack_api_url or SLACK_API_URL


class SlackSettings(SlackApi):
    """What serving the Slack app needs besides: the signing secret, and Socket Mode's token."""

    slack_signing_secret: SecretStr = Field(description="the app's signing secret")
    slack_app_token: SecretStr | None = Field(default=None, description="xapp-… for Socket Mode")


class SlackSettingsMissing(ConfigError):
    """Variables that must be set are not (`names`, as the environment spells them)."""

    def __init__(self, message: str, names: list[str]) -> None:
        super().__init__(message)
        self.names = names


S = TypeVar("S", bound=SlackApi)


@overload
def load_slack_settings() -> SlackSettings: ...
@overload
def load_slack_settings(kind: type[S]) -> S: ...
def load_slack_settings(kind: type[SlackApi] = SlackSettings) -> SlackApi:
    """The settings `kind` reads, or a ConfigError naming the variables to set or to fix."""
    try:
        return kind()
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        missing = sorted({str(e["loc"][0]).upper() for e in errors if e["type"] == "missing"})
        if missing:
            sandbox = ", or run `opsbot sandbox`" if issubclass(kind, SlackSettings) else ""
            raise SlackSettingsMissing(
                f"set {', '.join(missing)} in the environment ({WHERE_TO_FIND}){sandbox}", missing
            ) from None
        wrong = errors[0]
        raise ConfigError(
            f"{str(wrong['loc'][0]).upper()} is not valid: {wrong['msg']} "
            "(e.g. https://slack.com/api/)"
        ) from None
