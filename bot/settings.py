"""Slack secrets and endpoints, only from the environment (never from the profile, never logged)."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from config import ConfigError


class SlackSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    slack_bot_token: SecretStr = Field(description="xoxb-… bot token")
    slack_signing_secret: SecretStr = Field(description="the app's signing secret")
    slack_app_token: SecretStr | None = Field(default=None, description="xapp-… for Socket Mode")
    opsbot_slack_api_url: str | None = Field(
        default=None, pattern=r"^https?://", description="another Slack-compatible Web API base URL"
    )

    @property
    def api_url(self) -> str | None:
        """The Web API base URL for slack_sdk (which expects the trailing slash)."""
        url = self.opsbot_slack_api_url
        return None if url is None else url.rstrip("/") + "/"


def load_slack_settings() -> SlackSettings:
    """The settings, or a ConfigError naming the variables to set."""
    try:
        return SlackSettings()
    except ValidationError as exc:
        names = sorted({str(e["loc"][0]).upper() for e in exc.errors()})
        raise ConfigError(
            f"set {', '.join(names)} in the environment (from the Slack app's settings page: "
            "Basic Information → Signing Secret, OAuth & Permissions → Bot User OAuth Token), "
            "or run `opsbot sandbox`"
        ) from None
