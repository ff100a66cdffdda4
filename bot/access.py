"""Who may run what where, checked once as Bolt listener middleware for every entry point."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from config import Role, SlackConfig


@dataclass(frozen=True)
class Caller:
    user_id: str
    channel_id: str
    channel_name: str | None


def caller_of(body: dict[str, Any]) -> Caller:
    """The user and channel of a slash command or an interaction payload."""
    if "command" in body:
        return Caller(body.get("user_id", ""), body.get("channel_id", ""), body.get("channel_name"))
    if body.get("type") == "view_submission":  # the channel the modal was opened from: ours
        try:
            opened_in = json.loads((body.get("view") or {}).get("private_metadata") or "{}")
        except ValueError:
            opened_in = {}
        if not isinstance(opened_in, dict):
            opened_in = {}
        return Caller(
            (body.get("user") or {}).get("id", ""),
            str(opened_in.get("channel") or ""),
            opened_in.get("channel_name"),
        )
    channel = body.get("channel") or body.get("container") or {}
    return Caller(
        (body.get("user") or {}).get("id", ""),
        channel.get("id") or channel.get("channel_id", ""),
        channel.get("name"),
    )


class Access:
    """Read-only commands in the profile's channels; mutating ones for the users in a role."""

    def __init__(self, config: SlackConfig) -> None:
        self.config = config
        self._channels = {c.removeprefix("#") for c in config.command_channels}

    def refusal(self, caller: Caller, role: Role | None = None) -> str | None:
        """Why `caller` may not run this here, or None when they may."""
        if not self.in_command_channel(caller):
            where = ", ".join(
                c if c.startswith("#") else f"<#{c}>" for c in self.config.command_channels
            )
            return f"opsbot answers in {where}; run it there (or invite opsbot to this channel and add it to the profile)"
        if role is not None and not self.config.holds(caller.user_id, role):
            holders = ", ".join(f"<@{u}>" for u in self.config.holders(role)) or "nobody yet"
            return f"this needs the {role} role, which you do not have (it is held by {holders})"
        return None

    def in_command_channel(self, caller: Caller) -> bool:
        return caller.channel_id in self._channels or (caller.channel_name or "") in self._channels

    def middleware(self, role: Role | None = None) -> AccessGuard:
        """Bolt listener middleware: refuse with an ephemeral reason, or let the listener run."""
        return AccessGuard(self, role)


class AccessGuard(AsyncMiddleware):
    """The one check in front of every listener (a class, so Bolt injects nothing per request)."""

    def __init__(self, access: Access, role: Role | None) -> None:
        self.access, self.role = access, role

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        body = req.body
        reason = self.access.refusal(caller_of(body), self.role)
        if reason is None:
            return await next()
        if "command" in body:  # the slash command's HTTP answer is shown to its caller only
            payload = {"response_type": "ephemeral", "text": f":no_entry: {reason}"}
            return BoltResponse(
                status=200,
                body=json.dumps(payload),
                headers={"content-type": "application/json;charset=utf-8"},
            )
        if body.get("type") == "view_submission":  # said in the modal, which stays open
            said: dict[str, Any] = {
                "response_action": "errors",
                "errors": {"start": reason[:150]},
            }
            return BoltResponse(
                status=200,
                body=json.dumps(said),
                headers={"content-type": "application/json;charset=utf-8"},
            )
        respond = req.context.respond
        assert respond is not None, "an interaction without a response_url"
        await respond(
            text=f":no_entry: {reason}", response_type="ephemeral", replace_original=False
        )
        return BoltResponse(status=200, body="")
