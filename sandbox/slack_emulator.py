"""A Slack Web API emulator on loopback for the real slack_sdk client, with the sandbox console.

It answers the Web API methods opsbot uses, takes response_url posts, and delivers what a
person does in the console (a slash command, a click, a modal submit) to the app's request URL,
signed the way Slack signs it.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Protocol

from sandbox.json_http import SHUTDOWN_POLL_S
from sandbox.slack_conversations import conversations, message_metadata
from sandbox.slack_delivery import Delivery, SlackSender
from sandbox.slack_events import app_home_opened
from sandbox.slack_files import SlackFiles
from sandbox.slack_http import SlackHandler, SlackServer
from sandbox.slack_objects import find_element
from sandbox.slack_socket import SocketModeHub
from sandbox.slack_workspace import (
    BOT_USER,
    Message,
    ResponseUrl,
    SlackError,
    Workspace,
)

SLACKBOT = "USLACKBOT"


class Sender(Protocol):
    """How the app receives what people do: HTTP (SlackSender) or Socket Mode (the hub)."""

    def slash_command(self, fields: dict[str, str], **options: Any) -> Delivery: ...
    def interaction(self, payload: dict[str, Any], **options: Any) -> Delivery: ...
    def event(self, envelope: dict[str, Any], **options: Any) -> Delivery: ...


class SlackEmulator:
    """Start it, point the app's WebClient at `api_url`, and deliver with `command` / `click`."""

    def __init__(
        self,
        workspace: Workspace | None = None,
        *,
        commands: set[str] | None = None,
        shortcuts: dict[str, str] | None = None,
    ) -> None:
        self.workspace = workspace or Workspace()
        self.shortcuts = shortcuts or {}  # the app's message shortcuts: callback id → name
        self.files = SlackFiles(self.workspace)  # uploads (files_upload_v2)
        self.commands = commands  # the app's slash commands (its manifest); None: any
        self.sender: SlackSender | None = None  # HTTP delivery, once connect_app names the URL
        self.socket_mode: SocketModeHub | None = None  # Socket Mode, once the app connects
        self.socket_mode_opened = threading.Event()  # set once an app asked for a connection
        self._server: SlackServer | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        handler = type("Handler", (SlackHandler,), {"emulator": self})
        self._server = SlackServer((host, port), handler)
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_S},
            name="slack-emulator",
            daemon=True,
        ).start()
        return self.url

    def connect_app(self, request_url: str, signing_secret: str) -> None:
        """Where the app listens (`/slack/events`) and the secret it verifies signatures with."""
        self.sender = SlackSender(request_url, signing_secret)

    @property
    def url(self) -> str:
        assert self._server is not None, "emulator not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL for slack_sdk's `base_url` (with the trailing slash it expects)."""
        return f"{self.url}/api/"

    @property
    def console_url(self) -> str:
        return f"{self.url}/console"

    def stop(self) -> None:
        if self.socket_mode is not None:
            self.socket_mode.stop()
            self.socket_mode = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- what people do ------------------------------------------------------------------------
    def _require_sender(self) -> Sender:
        """HTTP to the app's request URL when it has one, else its Socket Mode connection."""
        if self.sender is not None:
            return self.sender
        if self.socket_mode is not None and self.socket_mode.connected:
            return self.socket_mode
        raise SlackError("app_not_connected", "no app request URL and no Socket Mode connection")

    def _user(self, user_id: str) -> dict[str, str]:
        user = self.workspace.users.get(user_id)
        if user is None:
            raise SlackError("user_not_found")
        return {
            "id": user.id,
            "username": user.name,
            "name": user.name,
            "team_id": self.workspace.team_id,
        }

    def command(self, user_id: str, channel_ref: str, line: str) -> Delivery:
        """A person types `line` (e.g. "/health 2026-02-05") in a channel."""
        sender = self._require_sender()
        channel = self.workspace.channel(channel_ref)
        user = self._user(user_id)
        command, _, text = line.strip().partition(" ")
        if self.commands is not None and command not in self.commands:
            # Slack never sends a command no installed app declares; Slackbot says so instead
            self.workspace.post(
                channel.id,
                f"`{command}` is not a valid command. In Slack, all messages that start with the "
                '"/" character are interpreted as commands. If you are trying to send a message '
                'that starts with a "/" character, try adding a space first.',
                None,
                SLACKBOT,
                user_id,
            )
            return Delivery(0, "", 0.0)
        response_url = self.workspace.new_response_url(
            self.url, ResponseUrl(channel.id, user_id, None, False)
        )
        fields = {
            "token": "sandbox-verification-token",
            "team_id": self.workspace.team_id,
            "team_domain": "sandbox",
            "channel_id": channel.id,
            "channel_name": channel.name,
            "user_id": user_id,
            "user_name": user["name"],
            "command": command,
            "text": text.strip(),
            "api_app_id": "A0OPSBOT00",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self.workspace.issue_trigger(user_id),
        }
        delivery = sender.slash_command(fields)
        shown = self._show_ack(delivery, channel.id, user_id, command)
        if shown is not None:
            self.workspace.answered(response_url, shown)
        return delivery

    def click(
        self, user_id: str, message: Message, action_id: str, value: str | None = None
    ) -> Delivery:
        """A person clicks the button `action_id` on `message` (after any confirm dialog)."""
        sender = self._require_sender()
        payload = self.click_payload(user_id, message, action_id, value)
        delivery = sender.interaction(payload)
        self._show_ack(delivery, message.channel, user_id, None)
        return delivery

    def click_payload(
        self, user_id: str, message: Message, action_id: str, value: str | None = None
    ) -> dict[str, Any]:
        """The block_actions payload Slack would deliver for that click (to send anywhere)."""
        element, block_id = find_element(message.blocks, action_id, value)
        user = self._user(user_id)
        channel = self.workspace.channels[message.channel]
        ephemeral = message.ephemeral_to is not None
        response_url = self.workspace.new_response_url(
            self.url, ResponseUrl(channel.id, user_id, message.ts, ephemeral)
        )
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": user,
            "api_app_id": "A0OPSBOT00",
            "token": "sandbox-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": channel.id,
                "is_ephemeral": ephemeral,
            },
            "trigger_id": self.workspace.issue_trigger(user_id),
            "team": {"id": self.workspace.team_id, "domain": "sandbox"},
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
            payload["message"] = {
                "type": "message",
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
                "user": message.user,
            }
        if message.thread_ts is not None:  # a reply: Slack names its thread in both places
            payload["container"]["thread_ts"] = message.thread_ts
            if "message" in payload:
                payload["message"]["thread_ts"] = message.thread_ts
        return payload

    def message_action(self, user_id: str, message: Message, callback_id: str) -> Delivery:
        """A person runs the message shortcut `callback_id` on `message`."""
        sender = self._require_sender()
        channel = self.workspace.channels[message.channel]
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "trigger_id": self.workspace.issue_trigger(user_id),
            "message_ts": message.ts,
            "message": {
                "type": "message",
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
                "user": message.user,
            },
            "channel": {"id": channel.id, "name": channel.name},
            "user": self._user(user_id),
            "team": {"id": self.workspace.team_id, "domain": "sandbox"},
            "response_url": self.workspace.new_response_url(
                self.url, ResponseUrl(channel.id, user_id, None, False)
            ),
            "token": "sandbox-verification-token",
        }
        return sender.interaction(payload)

    def open_home(self, user_id: str) -> Delivery:
        """A person opens the app's Home tab: Slack's `app_home_opened` event is delivered."""
        sender = self._require_sender()
        self._user(user_id)
        return sender.event(app_home_opened(self.workspace, user_id))

    def submit_view(self, user_id: str, view_id: str, values: dict[str, Any]) -> Delivery:
        """A person submits the open modal `view_id` with `values` (block_id → action_id → value)."""
        sender = self._require_sender()
        opened = self.workspace.views.get(view_id)
        if opened is None:
            raise SlackError("not_found", "no such open view")
        view = dict(opened.stack[-1] if opened.stack else opened.view)
        view |= {"id": opened.id, "state": {"values": values}}
        payload = {
            "type": "view_submission",
            "team": {"id": self.workspace.team_id, "domain": "sandbox"},
            "user": self._user(user_id),
            "view": view,
            "trigger_id": self.workspace.issue_trigger(user_id),
            "token": "sandbox-verification-token",
        }
        delivery = sender.interaction(payload)
        if delivery.status == 200 and not delivery.body.strip():
            self.workspace.close_view(opened.id)
        return delivery

    def _show_ack(
        self, delivery: Delivery, channel_id: str, user_id: str, command: str | None
    ) -> Message | None:
        """What Slack shows the person for the app's HTTP answer (the message, if any)."""
        if delivery.timed_out or delivery.status != 200:
            error = "operation_timeout" if delivery.timed_out else "dispatch_failed"
            what = f"`{command}`" if command else "This app"
            self.workspace.post(
                channel_id, f'{what} failed with the error "{error}"', None, BOT_USER.id, user_id
            )
            return None
        if not delivery.body.strip() or command is None:
            return None
        try:
            answer = delivery.json()
        except json.JSONDecodeError:
            answer = {"text": delivery.body}
        if not answer.get("text") and not answer.get("blocks"):
            return None  # an empty ack (HTTP body or Socket Mode payload) shows nothing
        in_channel = answer.get("response_type") == "in_channel"
        return self.workspace.post(
            channel_id,
            answer.get("text"),
            answer.get("blocks"),
            BOT_USER.id,
            None if in_channel else user_id,
        )

    # -- the Web API ---------------------------------------------------------------------------
    def call(self, method: str, token: str | None, args: dict[str, Any]) -> dict[str, Any]:
        ws = self.workspace
        ws.record_call(method)
        if token is None:
            raise SlackError("not_authed")
        if method == "apps.connections.open":  # Socket Mode: the app-level token only
            if token == ws.bot_token:
                raise SlackError("not_allowed_token_type")
            if token != ws.app_token:
                raise SlackError("invalid_auth")
            if self.socket_mode is None:
                hub = SocketModeHub()
                hub.start()
                self.socket_mode = hub
            url = self.socket_mode.new_url()
            self.socket_mode_opened.set()
            return {"url": url}
        if token != ws.bot_token:
            raise SlackError("invalid_auth")
        ws.check_rate_limit(method)
        if method == "auth.test":
            return {
                "url": "https://sandbox.slack.test/",
                "team": "sandbox",
                "user": BOT_USER.name,
                "team_id": ws.team_id,
                "user_id": BOT_USER.id,
                "bot_id": "B0OPSBOT00",
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            ws.ensure_member(ws.channel(args.get("channel")))
            thread = str(args["thread_ts"]) if args.get("thread_ts") else None
            if thread is not None:
                ws.find(ws.channel(args.get("channel")).id, thread)  # thread_not_found otherwise
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
            link = f"https://sandbox.slack.test/archives/{linked.channel}/p{linked.ts.replace('.', '')}"
            return {"channel": linked.channel, "permalink": link}
        if method.startswith("conversations."):
            return conversations(ws, method, args)
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
        if method in ("views.open", "views.push"):
            user = ws.trigger_user(args.get("trigger_id"))
            opened = (
                ws.open_view(user, args.get("view"))
                if method == "views.open"
                else ws.push_view(user, args.get("view"))
            )
            return {"view": {"id": opened.id, **opened.view}}
        if method == "views.publish":  # the Home tab: no scope needed, any known user
            view = args.get("view")
            if isinstance(view, str):
                view = json.loads(view)
            return {"view": ws.publish_home(args.get("user_id"), view)}
        if method.startswith("files."):
            return self.files.call(method, args, self.url)
        if method == "views.update":
            opened = ws.update_view(args.get("view_id"), args.get("view"))
            return {"view": {"id": opened.id, **opened.view}}
        raise SlackError("unknown_method")
