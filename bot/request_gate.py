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
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() accepts much more
MAX_AGE_S = 300
# The largest body /slack/events reads (413 past it, bot/server.py). Slack documents no size for
# the requests it sends, only for their parts: a modal has at most 100 blocks and 3,000 characters
# of private_metadata (docs.slack.dev/reference/views/modal-views), an input at most 3,000
# characters. opsbot's largest request, a postmortem edit modal's view_submission (a few inputs of
# 3,000 characters, each in the view and in its state, JSON-escaped and form-encoded at up to 9
# bytes a character), is under 1 MB. Slack's own Bolt for JavaScript refuses bodies over 4 MB
# (4,194,304 bytes) with 413 before verifying them (its `bodyLimit` default, since v5.1.0).
SLACK_MAX_BODY_BYTES = 4 * 2**20
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


@dataclass(frozen=True)
class Reading:
    """A verified body as the gate read it: why it is not one Slack sends (None: it is one), and
    what it parsed on the way, so that nothing after the gate parses the same bytes again."""

    problem: str | None
    text: str | None = None  # the body, decoded (None when it is not UTF-8)
    fields: dict[str, list[str]] | None = None  # a form's fields, blank values kept, in order
    parsed: Any = None  # the JSON read: an event's envelope, or an interaction's payload


def read(body: bytes, content_type: str) -> Reading:
    """The body read once: `problem` says why it is not a command, an interaction or an event."""
    kind = content_type.split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Reading("the body is not UTF-8")
    if kind == "application/json":
        envelope = _json(text)
        return Reading(_event_problem(envelope), text, parsed=envelope)
    if kind != FORM:
        return Reading(f"unexpected content type {kind or 'none'!r}", text)
    fields = parse_qs(text, keep_blank_values=True)
    if "ssl_check" in fields:
        return Reading(None, text, fields)
    if "payload" in fields:
        payload = _json(fields["payload"][0])
        return Reading(_interaction_problem(payload), text, fields, payload)
    if "command" in fields:
        return Reading(_command_problem({k: v[0] for k, v in fields.items()}), text, fields)
    return Reading("neither a command, an interaction nor an event", text, fields)


def malformed(body: bytes, content_type: str) -> str | None:
    """Why a verified body is not one Slack sends (a command, an interaction, an event), or None."""
    return read(body, content_type).problem


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


# What Bolt reads from a body before any listener middleware runs (the ids of its context, the
# kind of request): each must have the type Slack sends, or Bolt's own extraction raises (a 500).
NAMED = ("user", "channel", "team", "enterprise")  # an id, or an object with a string id
OBJECTS = ("event", "view", "container", "message", "previous_message", "item", "assistant_thread")


def _shape_problem(body: dict[str, Any], depth: int = 0) -> str | None:
    """Why the fields Bolt reads in `body` (and the objects in it) are not of Slack's types."""
    for name in NAMED:
        value = body.get(name)
        if value is None or isinstance(value, str):
            continue
        if not isinstance(value, dict) or not isinstance(value.get("id", ""), str):
            return f"a {name} that is neither an id nor an object with one"
    for name in OBJECTS:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, dict):
            return f"a {name} that is not a JSON object"
        if depth < 2 and (problem := _shape_problem(value, depth + 1)) is not None:
            return problem
    for name in ("team_id", "user_id", "channel_id", "enterprise_id", "thread_ts"):
        if not isinstance(body.get(name, ""), str | None):
            return f"a {name} that is not a string"
    authorizations = body.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
    ):
        return "authorizations that are not a list of objects"
    return None


def _event_problem(envelope: Any) -> str | None:
    kind = envelope.get("type") if isinstance(envelope, dict) else None
    if not isinstance(kind, str) or kind not in EVENT_TYPES:  # a list is not hashable
        return "a JSON body that is not an Events API request"
    event = envelope.get("event")  # Bolt reads event.type before any listener middleware
    if kind == "event_callback" and not (
        isinstance(event, dict) and isinstance(event.get("type"), str)
    ):
        return "an event_callback whose event is not a JSON object with a type"
    return _shape_problem(envelope)


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
    view = payload.get("view")
    if payload["type"] in ("view_submission", "view_closed") and not (
        isinstance(view, dict) and isinstance(view.get("type"), str)  # Bolt reads view.type
    ):
        return f"a {payload['type']} payload without its view"
    return _shape_problem(payload)
