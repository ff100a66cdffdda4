"""Small Block Kit helpers that keep every message inside Slack's limits."""

from __future__ import annotations

import re
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

MAX_BLOCKS = 50
MAX_TEXT = 3000  # a section's text, a context element's text
MAX_HEADER = 150
MAX_BUTTON_TEXT = 75
MAX_FALLBACK_TEXT = 4000  # the notification text beside blocks (Slack truncates beyond 40k)


def escape(text: str) -> str:
    """User or git text made safe for mrkdwn (Slack's three control characters)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


USER_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,})&gt;")


USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")  # a Slack user id, the only thing a mention names


def mention(user_id: str) -> str:
    """`<@U…>` for a Slack user id; anything else (a forged `U1> <!channel`, a channel id) is
    shown as the text it is, escaped, and mentions nobody."""
    return f"<@{user_id}>" if USER_ID.fullmatch(user_id) else escape(user_id)


def escape_but_mentions(text: str) -> str:
    """Text opsbot wrote that names people (`<@U…>`): escaped, with the mentions kept live."""
    return USER_MENTION.sub(r"<@\1>", escape(text))


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """`text`, or its start and how much was left out, within `limit` characters."""
    if len(text) <= limit:
        return text
    marker = f"… ({len(text) - limit + 40} more characters)"
    return text[: limit - len(marker)] + marker


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=clip(text, MAX_HEADER), emoji=True))


def section(text: str, accessory: ButtonElement | None = None) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text)), accessory=accessory)


def context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(t)) for t in texts[:10]])


def button(
    text: str,
    action_id: str,
    value: str,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=clip(text, MAX_BUTTON_TEXT), emoji=True),
        action_id=action_id,
        value=value,
        style=style,
        confirm=confirm,
    )


def lines_section(lines: Sequence[str], limit: int = MAX_TEXT) -> SectionBlock:
    """As many whole lines as fit in one section, then "and N more"."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        more = f"_and {len(lines) - index} more_"
        if used + len(line) + 1 > limit - len(more) - 1:
            kept.append(more)
            break
        kept.append(line)
        used += len(line) + 1
    return section("\n".join(kept) if kept else " ")


def within_limits(blocks: Sequence[Block], what: str = "items") -> list[Block]:
    """At most 50 blocks: the first 49 and a line saying how many more were left out."""
    if len(blocks) <= MAX_BLOCKS:
        return list(blocks)
    kept = list(blocks[: MAX_BLOCKS - 1])
    left_out = len(blocks) - len(kept)
    said = f"{left_out} more {what}" if left_out > 1 else f"one more of the {what}"
    kept.append(context(f"_and {said} not shown_"))
    return kept


def fallback(text: str) -> str:
    """The plain notification text sent beside blocks."""
    return clip(text, MAX_FALLBACK_TEXT)


def fix_command(command: str) -> Block:
    """The command that fixes something: inline when one line, a code block when several."""
    if "\n" in command:
        return section(f"fix:\n```{escape(command)}```")
    return context(f"fix: `{escape(command)}`")
