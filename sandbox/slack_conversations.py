"""The Web API's conversations.* methods and message metadata, as Slack documents them.

- conversations.info and conversations.list show only what the bot can see: a private channel
  it was not invited to is `channel_not_found`, and missing from the list.

- chat.postMessage's `metadata` is an object with `event_type` (a string) and `event_payload`
  (an object); slack_sdk sends it as JSON, a form post as a JSON string. Anything else is
  `invalid_metadata_format` (docs.slack.dev/messaging/message-metadata).
- conversations.history (docs.slack.dev/reference/methods/conversations.history) needs
  `channels:history` (public) or `groups:history` (private) and a bot that is in the channel
  (`not_in_channel` otherwise; a private channel it was not invited to is `channel_not_found`).
  It returns the channel's messages, newest first, without thread replies; `oldest` and
  `latest` bound them (exclusive unless `inclusive`), `limit` defaults to 100 (at most 999),
  and `has_more` with `response_metadata.next_cursor` pages on. Metadata is returned with
  `include_all_metadata`.
- conversations.replies (docs.slack.dev/reference/methods/conversations.replies), with the same
  scopes, returns a thread: the message at `ts` (its parent) then its replies, oldest first;
  `limit` defaults to 1000, `cursor` pages on, `include_all_metadata` returns metadata. A `ts`
  that is no message of the channel is `thread_not_found`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sandbox.slack_objects import Channel, SlackError
from sandbox.slack_workspace import Workspace

HISTORY_LIMIT_DEFAULT = 100
HISTORY_LIMIT_MAX = 999
REPLIES_LIMIT_DEFAULT = 1000


def message_metadata(raw: Any) -> dict[str, Any] | None:
    """chat.postMessage's `metadata` argument, checked as Slack checks it."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise SlackError("invalid_metadata_format") from None
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("event_type"), str)
        or not isinstance(raw.get("event_payload"), dict)
    ):
        raise SlackError("invalid_metadata_format")
    return {"event_type": raw["event_type"], "event_payload": raw["event_payload"]}


def conversations(ws: Workspace, method: str, args: dict[str, Any]) -> dict[str, Any]:
    """conversations.info, .list, .history and .replies."""
    if method == "conversations.info":
        found = ws.channel(args.get("channel"))
        if not ws.visible(found):
            raise SlackError("channel_not_found")
        return {"channel": ws.channel_info(found)}
    if method == "conversations.list":
        channels = [ws.channel_info(c) for c in ws.channels.values() if ws.visible(c)]
        return {"channels": channels, "response_metadata": {"next_cursor": ""}}
    if method == "conversations.history":
        return conversations_history(ws, args)
    if method == "conversations.replies":
        return conversations_replies(ws, args)
    raise SlackError("unknown_method")


def _readable_channel(ws: Workspace, args: dict[str, Any]) -> Channel:
    """The channel `args` names, if the bot may read its history (channels:history)."""
    channel = ws.channel(args.get("channel"))
    if not ws.visible(channel):
        raise SlackError("channel_not_found")
    if "channels:history" not in ws.scopes:  # every sandbox channel the bot sees is public
        raise SlackError("missing_scope")
    return channel


def conversations_history(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = _readable_channel(ws, args)
    try:
        limit = int(args.get("limit") or HISTORY_LIMIT_DEFAULT)
        start = int(args.get("cursor") or 0)
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or time.time() + 1)
    except (TypeError, ValueError):
        raise SlackError("invalid_arguments") from None
    limit = max(1, min(limit, HISTORY_LIMIT_MAX))
    inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
    with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
    found = ws.history(channel.id, oldest, latest, inclusive)
    page = found[start : start + limit]
    more = start + limit < len(found)
    return {
        "messages": [m.to_api(with_metadata) for m in page],
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }


def conversations_replies(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = _readable_channel(ws, args)
    try:
        limit = max(1, int(args.get("limit") or REPLIES_LIMIT_DEFAULT))
        start = int(args.get("cursor") or 0)
    except (TypeError, ValueError):
        raise SlackError("invalid_arguments") from None
    ts = str(args.get("ts") or "")
    shown = [m for m in list(ws.messages) if m.channel == channel.id and m.ephemeral_to is None]
    parent = next((m for m in shown if m.ts == ts), None)
    if parent is None:
        raise SlackError("thread_not_found")
    replies = [m for m in shown if m.thread_ts == ts and m.ts != ts]
    found = [parent, *sorted(replies, key=lambda m: float(m.ts))]
    page = found[start : start + limit]
    more = start + limit < len(found)
    with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
    return {
        "messages": [m.to_api(with_metadata) for m in page],
        "has_more": more,
        "response_metadata": {"next_cursor": str(start + limit) if more else ""},
    }
