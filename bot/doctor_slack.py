"""The Slack half of `opsbot doctor`: the token's scopes and the channels the bot must post in."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from commands.doctor import SLACK_SCOPES, Finding
from config import Profile


def slack_findings(profile: Profile, client: WebClient | None) -> list[Finding]:
    """auth.test's granted scopes (X-OAuth-Scopes), then membership of each profile channel.

    `client`: bot/slack_clients.py's, on the environment's token and URL; None without a token.
    """
    if client is None:
        return [
            Finding("Slack: bot token", False, "SLACK_BOT_TOKEN is not set", "the app's install")
        ]
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        return [
            Finding("Slack: bot token", False, str(exc.response.get("error")), "reinstall the app")
        ]
    headers = {key.lower(): str(value) for key, value in answer.headers.items()}
    granted = {s.strip() for s in headers.get("x-oauth-scopes", "").split(",") if s.strip()}
    found = [
        Finding(
            f"Slack: scope {scope} ({why})",
            scope in granted,
            "" if scope in granted else "not granted to the token",
            "" if scope in granted else "add it in manifest.yml and reinstall the app",
        )
        for scope, why in SLACK_SCOPES.items()
    ]
    try:
        listed = _channels(client)
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        return [*found, Finding("Slack: channel membership", False, error, "grant channels:read")]
    channels = profile.channels
    for channel in dict.fromkeys((channels.canary, channels.deployments, channels.health)):
        member = listed.get(channel.removeprefix("#"))
        ok = bool(member)
        detail = "" if ok else ("not a member" if member is False else "not visible to the bot")
        found.append(
            Finding(
                f"Slack: post in {channel}",
                ok,
                detail,
                "" if ok else f"/invite @opsbot in {channel}",
            )
        )
    return found


def _channels(client: WebClient) -> dict[str, bool]:
    """Channel name → whether the bot is a member, over every page."""
    members: dict[str, bool] = {}
    cursor: str | None = None
    while True:
        page = client.conversations_list(
            types="public_channel,private_channel", limit=200, cursor=cursor
        )
        channels: list[dict[str, object]] = page.get("channels", [])
        for channel in channels:
            members[str(channel["name"])] = members[str(channel["id"])] = bool(
                channel.get("is_member")
            )
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            return members
