"""What a user is told when something fails: known errors say what to do; others get a reference."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from adapters.errors import AdapterError
from adapters.git import RepoNotFound
from commands.errors import RequestError
from commands.platform import PlatformUnavailable
from config import ConfigError

CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
log = logging.getLogger("opsbot.errors")


@dataclass(frozen=True)
class UserFacingError:
    text: str
    reference: str | None = None  # a correlation id, logged with the traceback


def describe(error: BaseException) -> UserFacingError:
    """The message for the person who asked; unexpected errors are logged under a reference."""
    if isinstance(error, RequestError):
        return UserFacingError(str(error))
    if isinstance(error, ConfigError):
        return UserFacingError(f"opsbot's profile is invalid, tell its maintainers: {error}")
    if isinstance(error, RepoNotFound | PlatformUnavailable | AdapterError):
        return UserFacingError(f"cannot reach the platform: {error}. Try again in a minute.")
    if isinstance(error, SlackApiError) and error.response.get("error") in CANNOT_POST:
        return UserFacingError(
            "opsbot cannot post in this channel: invite it with `/invite @opsbot` and try again"
        )
    reference = secrets.token_hex(4)
    log.error(
        "unexpected error [ref %s]", reference, exc_info=error, extra={"error_ref": reference}
    )
    return UserFacingError(
        f"something went wrong on opsbot's side (ref `{reference}`); "
        "the logs have the details under that reference",
        reference,
    )
