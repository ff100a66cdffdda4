"""The door of /slack/events: verified and well-formed before Bolt reads any field of a request.

Slack signs each request: `X-Slack-Signature` is `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}`
under the app's signing secret, and `X-Slack-Request-Timestamp` is a Unix time; a request older
than five minutes is treated as a replay (Slack's "Verifying requests from Slack"). Until both
hold, nothing in the request is trusted: no `response_url`, `trigger_id` or channel is used, and
the answer is a bare 401. A verified request whose body is not one Slack sends is a 400.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() accepts much more
MAX_AGE_S = 300
FORM = "application/x-www-form-urlencoded"
EVENT_TYPES = {"url_verification", "event_callback"}  # what the Events API posts as JSON


class RequestGate:
    """Says whether a request may reach the app, and why not."""

    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        self._secret = signing_secret.encode()
        self._clock = clock

    def verified(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Signed with our secret, within five minutes; False for anything else, never raising.

        The HMAC is taken over the raw bytes (slack_sdk's verifier decodes the body as UTF-8
        first and raises on anything else), so a signed body that is not UTF-8 is still known
        as signed, and refused as malformed (400) rather than as a forgery.
        """
        stamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if not TIMESTAMP.fullmatch(stamp) or abs(self._clock() - int(stamp)) > MAX_AGE_S:
            return False
        base = b"v0:" + stamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))


def malformed(body: bytes, content_type: str) -> str | None:
    """Why a verified body is not one Slack sends (a command, an interaction, an event), or None."""
    kind = content_type.split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if kind == "application/json":
        return _event_problem(_json(text))
    if kind != FORM:
        return f"unexpected content type {kind or 'none'!r}"
    fields = parse_qs(text, keep_blank_values=True)
    if "ssl_check" in fields:
        return None
    if "payload" in fields:
        return _interaction_problem(_json(fields["payload"][0]))
    if "command" in fields:
        return _command_problem({k: v[0] for k, v in fields.items()})
    return "neither a command, an interaction nor an event"


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _event_problem(event: Any) -> str | None:
    if not isinstance(event, dict) or event.get("type") not in EVENT_TYPES:
        return "a JSON body that is not an Events API request"
    return None


def _command_problem(fields: dict[str, str]) -> str | None:
    if not fields["command"].startswith("/"):
        return "a command that does not start with /"
    missing = [name for name in ("user_id", "channel_id") if not fields.get(name)]
    return f"a command without {', '.join(missing)}" if missing else None


def _interaction_problem(payload: Any) -> str | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        return "a payload that is not a JSON object with a type"
    user = payload.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return f"a {payload['type']} payload without its user"
    if payload["type"] == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            return "a block_actions payload without actions"
        if not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            return "a block_actions payload with an action that has no action_id"
    return None
