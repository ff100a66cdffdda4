"""A Slack Web API emulator on loopback for the real slack_sdk client, with the sandbox console.

It answers the Web API methods opsbot uses, takes response_url posts, and delivers what a
person does in the console (a slash command, a click, a modal submit) to the app's request URL,
signed the way Slack signs it.

Slack's deadlines, as Slack documents them and the emulator enforces them:

- The app has 3 s to acknowledge a slash command, a block action, a shortcut or a view
  submission ("you only have 3 seconds to respond before Slack registers a timeout error":
  docs.slack.dev/tools/bolt-python/concepts/acknowledge; "if you're unable to immediately
  respond to a command within 3000 milliseconds, use the specific response_url":
  api.slack.com/interactivity/slash-commands), and 3 s to answer an Events API request with a
  200. The emulator times every delivery's answer (`workspace.acks`); one that comes after
  `ack_deadline_s` (3.0 s by default), or never, is discarded as Slack discards it, kept in
  `workspace.late_acks` and in `workspace.rejections` (so the Slack tests fail on it), and the
  person sees what Slack shows: a command's `/cmd failed with the error "operation_timeout"`,
  from Slackbot, only to them; a view submission's modal stays open with Slack's banner "We had
  some trouble connecting. Try again?" (the text Slack's client shows, as reported to Slack's
  SDK maintainers in slackapi/bolt-js#1208 and slackapi/deno-slack-sdk#325).
- A trigger_id lives 3 s from when it is sent to the app and is exchanged once ("Triggers
  expire in three seconds", "Triggers may only be used once": api.slack.com/docs/triggers);
  views.open/views.push answer `expired_trigger_id` and `exchanged_trigger_id` (the views.open
  page's error names). The rule is in `Workspace.trigger_user`.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from sandbox import slack_payloads, slack_web_api
from sandbox.json_http import SHUTDOWN_POLL_S
from sandbox.slack_delivery import ACK_TIMEOUT_S, Delivery, SlackSender
from sandbox.slack_events import app_home_opened
from sandbox.slack_files import SlackFiles
from sandbox.slack_http import SlackHandler, SlackServer
from sandbox.slack_socket import SocketModeHub
from sandbox.slack_workspace import (
    BOT_USER,
    Ack,
    Message,
    ResponseUrl,
    SlackError,
    Workspace,
)

SLACKBOT = "USLACKBOT"
# how each kind of delivery travels: its Socket Mode envelope type → SlackSender's method
SENDER_METHODS = {
    "slash_commands": "slash_command",
    "interactive": "interaction",
    "events_api": "event",
}


class SlackEmulator:
    """Start it, point the app's WebClient at `api_url`, and deliver with `command` / `click`."""

    def __init__(
        self,
        workspace: Workspace | None = None,
        *,
        commands: set[str] | None = None,
        shortcuts: dict[str, str] | None = None,
        ack_deadline_s: float = ACK_TIMEOUT_S,
    ) -> None:
        self.workspace = workspace or Workspace()
        self.ack_deadline_s = ack_deadline_s  # Slack's 3 s for every ack (tests may lower it)
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
        self.sender = SlackSender(request_url, signing_secret, timeout_s=self.ack_deadline_s)

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
    def _require_app(self) -> None:
        """The app listens: at its request URL, or on a Socket Mode connection."""
        if self.sender is None and not (
            self.socket_mode is not None and self.socket_mode.connected
        ):
            raise SlackError(
                "app_not_connected", "no app request URL and no Socket Mode connection"
            )

    def _deliver(
        self, channel: str, body: dict[str, Any], kind: str, name: str, user: str
    ) -> Delivery:
        """Send one delivery (HTTP to the request URL when the app has one, else its Socket Mode
        connection) and time its answer against `ack_deadline_s`. A late answer is Slack's
        `operation_timeout`: discarded (returned as timed out, with no body) and recorded."""
        self._require_app()
        deadline = self.ack_deadline_s
        delivery: Delivery
        if self.sender is not None:
            self.sender.timeout_s = deadline  # the socket gives up when Slack would
            delivery = getattr(self.sender, SENDER_METHODS[channel])(body)
        else:
            assert self.socket_mode is not None
            delivery = self.socket_mode.deliver(channel, body, timeout_s=deadline)
        late = delivery.timed_out or delivery.seconds > deadline
        self.workspace.record_ack(
            Ack(kind, name, user, delivery.seconds, 0 if late else delivery.status, late)
        )
        if late:
            return Delivery(0, "", delivery.seconds, timed_out=True)
        return delivery

    def command(self, user_id: str, channel_ref: str, line: str) -> Delivery:
        """A person types `line` (e.g. "/health 2026-02-05") in a channel."""
        self._require_app()
        channel = self.workspace.channel(channel_ref)
        slack_payloads.person(self.workspace, user_id)  # user_not_found for a stranger
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
        fields = slack_payloads.slash_command(
            self.workspace, user_id, channel.id, command, text, response_url
        )
        delivery = self._deliver("slash_commands", fields, "slash_commands", command, user_id)
        shown = self._show_ack(delivery, channel.id, user_id, command)
        if shown is not None:
            self.workspace.answered(response_url, shown)
        return delivery

    def click(
        self, user_id: str, message: Message, action_id: str, value: str | None = None
    ) -> Delivery:
        """A person clicks the button `action_id` on `message` (after any confirm dialog)."""
        self._require_app()
        payload = self.click_payload(user_id, message, action_id, value)
        delivery = self._deliver("interactive", payload, "block_actions", action_id, user_id)
        self._show_ack(delivery, message.channel, user_id, None)
        return delivery

    def click_payload(
        self, user_id: str, message: Message, action_id: str, value: str | None = None
    ) -> dict[str, Any]:
        """The block_actions payload Slack would deliver for that click (to send anywhere)."""
        ephemeral = message.ephemeral_to is not None
        response_url = self.workspace.new_response_url(
            self.url, ResponseUrl(message.channel, user_id, message.ts, ephemeral)
        )
        return slack_payloads.block_actions(
            self.workspace, user_id, message, action_id, value, response_url
        )

    def message_action(self, user_id: str, message: Message, callback_id: str) -> Delivery:
        """A person runs the message shortcut `callback_id` on `message`."""
        self._require_app()
        payload = slack_payloads.message_action(
            self.workspace, user_id, message, callback_id, self.url
        )
        return self._deliver("interactive", payload, "message_action", callback_id, user_id)

    def open_home(self, user_id: str) -> Delivery:
        """A person opens the app's Home tab: Slack's `app_home_opened` event is delivered."""
        self._require_app()
        slack_payloads.person(self.workspace, user_id)
        envelope = app_home_opened(self.workspace, user_id)
        return self._deliver("events_api", envelope, "event_callback", "app_home_opened", user_id)

    def submit_view(self, user_id: str, view_id: str, values: dict[str, Any]) -> Delivery:
        """A person submits the open modal `view_id` with `values` (block_id → action_id → value).

        Slack then does what the app's answer says (`Workspace.submission_answered`); a late or
        failed answer leaves the modal open with Slack's banner."""
        self._require_app()
        opened = self.workspace.views.get(view_id)
        if opened is None:
            raise SlackError("not_found", "no such open view")
        payload = slack_payloads.view_submission(self.workspace, user_id, opened, values)
        view = payload["view"]
        name = str(view.get("callback_id", ""))
        revision = self.workspace.view_revisions.get(opened.id, 0)
        delivery = self._deliver("interactive", payload, "view_submission", name, user_id)
        answer: dict[str, Any] | None = None
        if delivery.status == 200:
            try:
                answer = delivery.json()
            except json.JSONDecodeError:
                answer = None
        self.workspace.submission_answered(opened.id, answer, revision)
        return delivery

    def _show_ack(
        self, delivery: Delivery, channel_id: str, user_id: str, command: str | None
    ) -> Message | None:
        """What Slack shows the person for the app's HTTP answer (the message, if any)."""
        if delivery.timed_out or delivery.status != 200:
            # Slack's words, to the person only: a command's from Slackbot
            # ('/cmd failed with the error "operation_timeout"'), a click's about the app
            error = "operation_timeout" if delivery.timed_out else "dispatch_failed"
            what, said_by = (command, SLACKBOT) if command else ("This app", BOT_USER.id)
            self.workspace.post(
                channel_id, f'{what} failed with the error "{error}"', None, said_by, user_id
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
        """One Web API call: its `ok: true` answer's fields, or Slack's SlackError."""
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
        return slack_web_api.answer(ws, self.files, self.url, method, args)
