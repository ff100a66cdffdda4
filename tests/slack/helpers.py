"""Waiting on the Slack emulator, and checking what the bot sent against Slack's rules."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from slack_sdk.models.blocks import Block

from sandbox.slack_workspace import Message, Workspace

T = TypeVar("T")
IN_PROGRESS = re.compile(r": (running|checking) ")
ONCALL, DEPLOYER, APPROVER = "U0DANAONCL", "U0SAMDEPLY", "U0LEEAPPRV"  # as in the profile's roles
HEALTH_CHANNEL = "#orchestration-health"


def wait_until(workspace: Workspace, found: Callable[[], T | None], timeout_s: float = 30.0) -> T:
    """The first truthy `found()`, re-checked on every change in the workspace; bounded."""
    version = -1
    for _ in range(1000):
        value = found()
        if value:
            return value
        newer = workspace.wait_for_change(version, timeout_s)
        if newer == version:
            break
        version = newer
    messages = "\n".join(
        f"  {m.ts} {m.ephemeral_to or 'channel'}: {m.text[:120]}" for m in workspace.messages
    )
    raise AssertionError(f"not seen within {timeout_s:g}s; messages:\n{messages}")


def finished(
    workspace: Workspace, prefix: str, channel: str = HEALTH_CHANNEL
) -> Callable[[], Message | None]:
    """The bot's channel message whose text starts with `prefix`, once no longer in progress."""

    def find() -> Message | None:
        return next(
            (
                m
                for m in workspace.bot_messages(channel)
                if m.text.startswith(prefix) and not IN_PROGRESS.search(m.text)
            ),
            None,
        )

    return find


def ephemeral_for(workspace: Workspace, user: str, contains: str) -> Callable[[], Message | None]:
    def find() -> Message | None:
        return next(
            (m for m in workspace.messages if m.ephemeral_to == user and contains in m.text), None
        )

    return find


def showing(workspace: Workspace, message: Message, words: str) -> Callable[[], Message | None]:
    """`message` as it is now, once what it shows has `words`."""

    def find() -> Message | None:
        current = workspace.find(message.channel, message.ts)
        return current if words in block_text(current) else None

    return find


def block_text(message: Message) -> str:
    """Every text in a message's blocks, in order (what a person reads)."""
    parts: list[str] = []
    for block in message.blocks:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                parts.append(block[key]["text"])
        parts += [
            e.get("text", "") for e in block.get("elements", []) if isinstance(e.get("text"), str)
        ]
        parts += [f["text"] for f in block.get("fields", [])]
    return "\n".join(parts)


def buttons(message: Message) -> list[dict[str, Any]]:
    found = []
    for block in message.blocks:
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") == "button":
            found.append(accessory)
        found += [e for e in block.get("elements", []) if e.get("type") == "button"]
    return found


def assert_slack_would_accept(workspace: Workspace) -> None:
    """No call was refused, and every message parses as Block Kit within Slack's limits."""
    refused = [(method, error) for method, error in workspace.rejections if error != "ratelimited"]
    assert refused == [], f"Slack refused: {refused}"
    for message in workspace.messages:
        assert len(message.blocks) <= 50, message.text
        assert len(message.text) <= 40_000
        for raw in message.blocks:
            parsed = Block.parse(raw)
            assert parsed is not None and type(parsed) is not Block, raw
            parsed.validate_json()  # raises on a text over 3,000 characters, a bad button, ...
