"""What a user is told when something fails: known errors say what to do; others get a reference."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from adapters.errors import AdapterError
from adapters.git import RepoNotFound
from commands.errors import RequestError
from commands.platform import PlatformUnavailable
from config import ConfigError

CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
log = logging.getLogger("opsbot.errors")
JSON: dict[str, str | Sequence[str]] = {"content-type": "application/json;charset=utf-8"}


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
    if isinstance(error, SlackApiError) and error.response.get("error") == "message_not_found":
        return UserFacingError(
            "the message this was being shown in was deleted before it finished: "
            "run the command again"
        )
    if isinstance(error, SlackApiError) and error.response.get("error") == "ratelimited":
        # Slack's rate-limits page: past a method's limit it answers HTTP 429 `ratelimited`
        # with a Retry-After; slack_sdk's handlers have already waited and retried 3 times.
        return UserFacingError(
            "Slack is rate-limiting opsbot's messages right now: try again in a minute"
        )
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


async def last_resort(
    error: Exception, body: dict[str, Any], response: BoltResponse | None, respond: AsyncRespond
) -> BoltResponse | None:
    """Bolt's error handler: a listener that raised is never answered with a 500.

    Before its ack (`response` is Bolt's 500 then), a command's caller is told what to do (or
    given a reference to the logged traceback), anything else gets a 400; after it, the person
    is told through the response_url when there is one.
    """
    said = describe(error)
    if response is not None:
        if isinstance(body, dict) and "command" in body:
            answer = {"response_type": "ephemeral", "text": f":warning: {said.text}"}
            return BoltResponse(status=200, body=json.dumps(answer), headers=JSON)
        return BoltResponse(status=400, body="opsbot could not handle this request")
    if isinstance(body, dict) and isinstance(body.get("response_url"), str):
        await respond(
            text=f":warning: {said.text}", response_type="ephemeral", replace_original=False
        )
    return None
