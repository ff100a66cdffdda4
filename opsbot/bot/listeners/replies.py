"""How listeners answer: ephemeral usage in the ack, failures where the person will see them."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from opsbot.bot.errors import describe
from opsbot.bot.live_message import LiveMessage
from opsbot.bot.views.kit import context, fallback, header, section
from opsbot.bot.views.messages import notice

HELP_WORDS = {"help", "-h", "--help", "?"}


def ephemeral(text: str, blocks: list[Block]) -> dict[str, Any]:
    """Arguments for ack() or respond() that show a message to the caller only."""
    answer: dict[str, Any] = {"text": fallback(text), "response_type": "ephemeral"}
    if blocks:
        answer["blocks"] = blocks
    return answer


def already_running(what: str) -> str:
    return f"{what} is already running in this channel; its message above updates when it is done"


async def report_failure(
    error: BaseException, respond: Any, live: LiveMessage | None, title: str
) -> None:
    """Tell the person what failed: in the message being built, or else ephemerally."""
    said = describe(error)
    if live is not None:
        await live.finish(
            f"{title}: failed",
            [
                header(f"{title} · could not finish"),
                section(f":x: {said.text}"),
                context("run the command again once fixed"),
            ],
        )
        return
    await respond(**ephemeral(*notice(said.text)), replace_original=False)
