"""How listeners answer: ephemeral usage in the ack, failures where the person will see them,
and nothing at all to a click that has nowhere to be answered."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

from slack_bolt.async_app import AsyncRespond
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.actions import ButtonValue
from bot.errors import describe
from bot.live_message import LiveMessage
from bot.parsed import Parsed
from bot.payloads import Click
from bot.views.kit import fallback, section
from bot.views.messages import could_not_finish, notice, usage

HELP_WORDS = {"help", "-h", "--help", "?"}
log = logging.getLogger("opsbot.slack")


def ephemeral(text: str, blocks: Sequence[Block | dict[str, Any]]) -> dict[str, Any]:
    """Arguments for ack() or respond() that show a message to the caller only."""
    answer: dict[str, Any] = {"text": fallback(text), "response_type": "ephemeral"}
    if blocks:
        answer["blocks"] = list(blocks)
    return answer


@functools.lru_cache(maxsize=256)
def _usage_answer(command: str, problem: str | None, known: tuple[str, ...]) -> dict[str, Any]:
    text, blocks = usage(command, problem, list(known) or None)
    return ephemeral(text, [block.to_dict() for block in blocks])


def usage_answer(command: str, problem: str | None, known: Sequence[str] = ()) -> dict[str, Any]:
    """The ack for help or a bad argument (built once per distinct answer: it is on the ack path)."""
    return dict(_usage_answer(command, problem or None, tuple(known)))


def already_running(what: str) -> str:
    return f"{what} is already running in this channel; its message above updates when it is done"


def replacement(text: str) -> dict[str, Any]:
    """Arguments for respond() that replace the original message with this text, and only it.

    Slack replaces the whole message with what is sent; the blocks are sent explicitly (a
    section with the text), so no earlier button stays behind whatever a client makes of it.
    """
    return {"text": fallback(text), "blocks": [section(text)], "replace_original": True}


async def report_failure(
    error: BaseException,
    respond: AsyncRespond,
    live: LiveMessage | None,
    title: str,
    *,
    replace: bool = False,
) -> None:
    """Tell the person what failed: in the message being built, or else ephemerally.

    `replace`: the failure takes the place of the command's placeholder ("Preparing…").
    """
    said = describe(error)
    text = said.text
    if live is not None:
        try:
            await live.finish(*could_not_finish(title, said.text))
            return
        except SlackApiError as exc:  # the message is gone (deleted, channel archived): tell them
            log.warning("%s: its message could not show the failure: %s", title, exc)
            text = f"{title}: {said.text}"
    await respond(**ephemeral(*notice(text)), replace_original=replace)


def button(kind: type[ButtonValue] | None, role: AsyncMiddleware) -> list[AsyncMiddleware]:
    """The middleware of a button's listener: its payload (and value) parsed, then `role`."""
    return [Parsed(Click, kind), role]
