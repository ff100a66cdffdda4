"""People named in what opsbot wrote: Slack's mention markup outside Slack becomes a name."""

from __future__ import annotations

import re
from collections.abc import Mapping

# Slack's user mention, as opsbot writes it (`<@U0LEEAPPRV>`) or Slack sends it with a label
MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|([^<>]*))?>")
USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")

Names = Mapping[str, str]  # a Slack user id → the name people know them by


def person(user_id: str, names: Names) -> str:
    """`@name` (the profile's or Slack's name for the id), else `@U0LEEAPPRV`."""
    return f"@{names.get(user_id) or user_id}"


def named(text: str, names: Names) -> str:
    """The rule for Markdown and the terminal: every Slack mention `<@U…>` (or `<@U…|label>`)
    reads as the person's name, `@lee`, from `names`, else the label Slack gave, else the bare
    `@U…`; never as markup. In Slack the markup stays, so Slack shows a live mention."""

    def said(found: re.Match[str]) -> str:
        user_id, label = found.group(1), found.group(2)
        return f"@{names.get(user_id) or label or user_id}"

    return MENTION.sub(said, text)


def mention(user_id: str) -> str:
    """A person as opsbot's drafts write them: Slack's mention of a user id (named outside
    Slack by `named`); anything else (a system actor such as `opsbot`) as it is."""
    return f"<@{user_id}>" if USER_ID.fullmatch(user_id) else user_id
