"""The Web API methods the emulator answers with the bot token, as Slack answers them."""

from __future__ import annotations

import json
from typing import Any

from sandbox.slack_conversations import conversations, message_metadata
from sandbox.slack_files import SlackFiles
from sandbox.slack_objects import BOT_USER, SlackError
from sandbox.slack_permalinks import permalink
from sandbox.slack_workspace import Workspace


def auth_test(ws: Workspace, base_url: str) -> dict[str, Any]:
    """auth.test: who the bot token is, in the workspace at `base_url` (where the console is)."""
    return {
        "url": f"{base_url}/",
        "team": "sandbox",
        "user": BOT_USER.name,
        "team_id": ws.team_id,
        "user_id": BOT_USER.id,
        "bot_id": "B0OPSBOT00",
        "is_enterprise_install": False,
    }


def _chat(ws: Workspace, method: str, args: dict[str, Any], base_url: str) -> dict[str, Any]:
    """chat.postMessage, chat.update, chat.delete, chat.postEphemeral, chat.getPermalink."""
    if method == "chat.postMessage":
        ws.ensure_member(ws.channel(args.get("channel")))
        thread = str(args["thread_ts"]) if args.get("thread_ts") else None
        if thread is not None:
            ws.thread_parent(ws.channel(args.get("channel")).id, thread)
        message = ws.post(
            args.get("channel"),
            args.get("text"),
            args.get("blocks"),
            BOT_USER.id,
            None,
            thread,
            message_metadata(args.get("metadata")),
        )
        return {"channel": message.channel, "ts": message.ts, "message": message.to_api()}
    if method == "chat.getPermalink":
        linked = ws.find(ws.channel(args.get("channel")).id, str(args.get("message_ts")))
        return {"channel": linked.channel, "permalink": permalink(base_url, linked)}
    if method == "chat.update":
        message = ws.update(
            args.get("channel"), args.get("ts"), args.get("text"), args.get("blocks")
        )
        return {
            "channel": message.channel,
            "ts": message.ts,
            "text": message.text,
            "message": message.to_api(),
        }
    if method == "chat.delete":
        deleted = ws.delete(args.get("channel"), args.get("ts"))
        return {"channel": deleted.channel, "ts": deleted.ts}
    if method == "chat.postEphemeral":
        user = str(args.get("user", ""))
        if user not in ws.users:
            raise SlackError("user_not_in_channel")
        message = ws.post(
            args.get("channel"), args.get("text"), args.get("blocks"), BOT_USER.id, user
        )
        return {"message_ts": message.ts}
    raise SlackError("unknown_method")


def _views(ws: Workspace, method: str, args: dict[str, Any]) -> dict[str, Any]:
    """views.open, views.push, views.update (modals) and views.publish (the Home tab)."""
    if method in ("views.open", "views.push"):
        user = ws.trigger_user(args.get("trigger_id"))
        opened = (
            ws.open_view(user, args.get("view"))
            if method == "views.open"
            else ws.push_view(user, args.get("view"))
        )
        return {"view": {"id": opened.id, **opened.view}}
    if method == "views.update":
        opened = ws.update_view(args.get("view_id"), args.get("view"))
        return {"view": {"id": opened.id, **opened.view}}
    if method == "views.publish":  # the Home tab: no scope needed, any known user
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        return {"view": ws.publish_home(args.get("user_id"), view)}
    raise SlackError("unknown_method")


def answer(
    ws: Workspace, files: SlackFiles, base_url: str, method: str, args: dict[str, Any]
) -> dict[str, Any]:
    """The `ok: true` answer's fields to a bot-token call of `method`, or Slack's SlackError."""
    if method == "auth.test":
        return auth_test(ws, base_url)
    if method.startswith("chat."):
        return _chat(ws, method, args, base_url)
    if method.startswith("conversations."):
        return conversations(ws, method, args)
    if method.startswith("views."):
        return _views(ws, method, args)
    if method.startswith("files."):
        return files.call(method, args, base_url)
    raise SlackError("unknown_method")
