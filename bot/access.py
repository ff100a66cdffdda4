"""Who may run what where, checked once as Bolt listener middleware for every entry point."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from config import Role, SlackConfig

log = logging.getLogger("opsbot.slack")


@dataclass(frozen=True)
class Caller:
    user_id: str
    channel_id: str
    channel_name: str | None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def caller_of(body: dict[str, Any]) -> Caller:
    """The user and channel of a slash command or an interaction payload (empty when a field is
    missing or of a type Slack never sends: such a caller is refused, never a crash)."""
    if "command" in body:
        return Caller(
            _text(body.get("user_id")),
            _text(body.get("channel_id")),
            _text(body.get("channel_name")) or None,
        )
    user = _text(_object(body.get("user")).get("id"))
    if body.get("type") == "view_submission":  # the channel the modal was opened from: ours
        try:
            opened_in = json.loads(_text(_object(body.get("view")).get("private_metadata")) or "{}")
        except ValueError:
            opened_in = {}
        opened_in = _object(opened_in)
        return Caller(
            user, _text(opened_in.get("channel")), _text(opened_in.get("channel_name")) or None
        )
    channel = _object(body.get("channel")) or _object(body.get("container"))
    return Caller(
        user,
        _text(channel.get("id")) or _text(channel.get("channel_id")),
        _text(channel.get("name")) or None,
    )


class Access:
    """Read-only commands in the profile's channels; mutating ones for the users in a role."""

    def __init__(self, config: SlackConfig) -> None:
        self.config = config
        self._channels = {c.removeprefix("#") for c in config.command_channels}

    def refusal(
        self, caller: Caller, role: Role | None = None, *, in_dm: bool = False
    ) -> str | None:
        """Why `caller` may not run this here, or None when they may. `in_dm`: also in the
        person's direct messages with opsbot (where a message the channel refused was sent)."""
        if not (self.in_command_channel(caller) or (in_dm and is_direct_message(caller))):
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

    def middleware(self, role: Role | None = None, *, in_dm: bool = False) -> AccessGuard:
        """Bolt listener middleware: refuse with an ephemeral reason, or let the listener run."""
        return AccessGuard(self, role, in_dm=in_dm)


def is_direct_message(caller: Caller) -> bool:
    """A direct message conversation: Slack's ids of those start with D."""
    return (caller.channel_id or "").startswith("D")


class AccessGuard(AsyncMiddleware):
    """The one check in front of every listener (a class, so Bolt injects nothing per request)."""

    def __init__(self, access: Access, role: Role | None, *, in_dm: bool = False) -> None:
        self.access, self.role, self.in_dm = access, role, in_dm

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        body = req.body
        reason = self.access.refusal(caller_of(body), self.role, in_dm=self.in_dm)
        if reason is None:
            return await next()
        if "command" in body:  # the slash command's HTTP answer is shown to its caller only
            payload = {"response_type": "ephemeral", "text": f":no_entry: {reason}"}
            return BoltResponse(
                status=200,
                body=json.dumps(payload),
                headers={"content-type": "application/json;charset=utf-8"},
            )
        if body.get("type") == "view_submission":  # said in the modal, in place of its form
            said: dict[str, Any] = {"response_action": "update", "view": refusal_view(reason)}
            return BoltResponse(
                status=200,
                body=json.dumps(said),
                headers={"content-type": "application/json;charset=utf-8"},
            )
        respond = req.context.respond
        if respond is not None and isinstance(body.get("response_url"), str):
            await respond(
                text=f":no_entry: {reason}", response_type="ephemeral", replace_original=False
            )
        else:  # from a view, an event: nowhere to say it
            log.warning("refused an interaction (nowhere to say why): %s", reason)
        return BoltResponse(status=200, body="")


def refusal_view(reason: str) -> dict[str, Any]:
    """A modal that says why its submission was refused (whatever form it replaces)."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Not allowed"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f":no_entry: {reason[:2900]}"}}
        ],
    }
