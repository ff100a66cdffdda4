"""Whether the bot can post in a channel, asked of Slack before anything moves.

Slack refuses chat.postMessage with `not_in_channel` when the bot has not joined the channel
(unless the token has chat:write.public and the channel is public), and with
`channel_not_found` for a private channel it was never invited to, which it cannot even see.
"""

from __future__ import annotations

import logging
import re

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("opsbot.slack")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
PAGE = 200


async def cannot_post(client: AsyncWebClient, channel: str) -> str | None:
    """Why the bot cannot post in `channel` (a name or an id); None when it can.

    When Slack cannot say (a missing read scope, an outage), None: the post itself is then the
    check, and a rollout whose message cannot be posted is handled where it is posted.
    """
    name = channel.removeprefix("#")
    try:
        found, scopes = await _find(client, name)
    except SlackApiError as exc:
        log.warning(
            "cannot check whether opsbot may post in %s: %s", channel, exc.response.get("error")
        )
        return None
    if found is None:
        return (
            f"opsbot cannot see {channel} (a private channel it was not invited to?): "
            f"invite @opsbot to {channel}, then deploy"
        )
    if found.get("is_archived"):
        return f"{channel} is archived: name another canary channel in the profile"
    if found.get("is_member"):
        return None
    if not found.get("is_private") and "chat:write.public" in scopes:
        return None
    return (
        f"opsbot is not in {channel}, so it could not post the rollout there: invite @opsbot first"
    )


async def _find(client: AsyncWebClient, name: str) -> tuple[dict[str, object] | None, set[str]]:
    """The channel's conversation object (None if the bot cannot see it) and the token's scopes."""
    if CHANNEL_ID.match(name):
        try:
            answer = await client.conversations_info(channel=name)
        except SlackApiError as exc:
            if exc.response.get("error") == "channel_not_found":
                return None, set()
            raise
        return dict(answer["channel"]), _scopes(answer.headers)
    cursor: str | None = None
    while True:
        page = await client.conversations_list(
            types="public_channel,private_channel",
            exclude_archived=False,
            limit=PAGE,
            cursor=cursor,
        )
        channels: list[dict[str, object]] = page.get("channels", [])
        for found in channels:
            if found.get("name") == name:
                return dict(found), _scopes(page.headers)
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            return None, _scopes(page.headers)


def _scopes(headers: dict[str, object]) -> set[str]:
    for key, value in headers.items():
        if key.lower() == "x-oauth-scopes":
            return {s.strip() for s in str(value).split(",") if s.strip()}
    return set()
