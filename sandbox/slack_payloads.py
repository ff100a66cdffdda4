"""The payloads Slack delivers for what a person does, shaped as Slack documents them."""

from __future__ import annotations

import time
from typing import Any

from sandbox.slack_objects import Message, OpenView, ResponseUrl, SlackError, find_element
from sandbox.slack_workspace import Workspace

APP_ID = "A0OPSBOT00"
VERIFICATION_TOKEN = "sandbox-verification-token"


def person(ws: Workspace, user_id: str) -> dict[str, str]:
    """The `user` object of an interaction payload (`user_not_found` for a stranger)."""
    user = ws.users.get(user_id)
    if user is None:
        raise SlackError("user_not_found")
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": ws.team_id}


def _team(ws: Workspace) -> dict[str, str]:
    return {"id": ws.team_id, "domain": "sandbox"}


def slash_command(
    ws: Workspace, user_id: str, channel_id: str, command: str, text: str, response_url: str
) -> dict[str, str]:
    """A slash command's form fields."""
    channel = ws.channels[channel_id]
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team_id,
        "team_domain": "sandbox",
        "channel_id": channel.id,
        "channel_name": channel.name,
        "user_id": user_id,
        "user_name": person(ws, user_id)["name"],
        "command": command,
        "text": text.strip(),
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": ws.issue_trigger(user_id),
    }


def _message(message: Message) -> dict[str, Any]:
    return {
        "type": "message",
        "ts": message.ts,
        "text": message.text,
        "blocks": message.blocks,
        "user": message.user,
    }


def block_actions(
    ws: Workspace,
    user_id: str,
    message: Message,
    action_id: str,
    value: str | None,
    response_url: str,
) -> dict[str, Any]:
    """The block_actions payload of a click on `message`'s element `action_id`."""
    element, block_id = find_element(message.blocks, action_id, value)
    channel = ws.channels[message.channel]
    # A click on an ephemeral message: the container says `is_ephemeral: true` (false for any
    # other message) and `message` is left out ("If the source was an ephemeral message, this
    # field will not be included": api.slack.com, the block_actions payload reference)
    ephemeral = message.ephemeral_to is not None
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": person(ws, user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": channel.id,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": ws.issue_trigger(user_id),
        "team": _team(ws),
        "channel": {"id": channel.id, "name": channel.name},
        "response_url": response_url,
        "actions": [
            {
                "type": element.get("type", "button"),
                "action_id": action_id,
                "block_id": block_id,
                "text": element.get("text"),
                "value": element.get("value"),
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if not ephemeral:
        payload["message"] = _message(message)
    if message.thread_ts is not None:  # a reply: Slack names its thread in both places
        payload["container"]["thread_ts"] = message.thread_ts
        if "message" in payload:
            payload["message"]["thread_ts"] = message.thread_ts
    return payload


def message_action(
    ws: Workspace, user_id: str, message: Message, callback_id: str, base_url: str
) -> dict[str, Any]:
    """The message_action payload of the message shortcut `callback_id` run on `message`."""
    channel = ws.channels[message.channel]
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "trigger_id": ws.issue_trigger(user_id),
        "message_ts": message.ts,
        "message": _message(message),
        "channel": {"id": channel.id, "name": channel.name},
        "user": person(ws, user_id),
        "team": _team(ws),
        "response_url": ws.new_response_url(
            base_url, ResponseUrl(channel.id, user_id, None, False)
        ),
        "token": VERIFICATION_TOKEN,
    }


def view_submission(
    ws: Workspace, user_id: str, opened: OpenView, values: dict[str, Any]
) -> dict[str, Any]:
    """The view_submission payload of the view on top of `opened`, with what was typed."""
    view = dict(opened.stack[-1] if opened.stack else opened.view)
    view |= {"id": opened.id, "state": {"values": values}}
    return {
        "type": "view_submission",
        "team": _team(ws),
        "user": person(ws, user_id),
        "view": view,
        "trigger_id": ws.issue_trigger(user_id),
        "token": VERIFICATION_TOKEN,
    }
