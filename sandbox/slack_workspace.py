"""The state of an emulated Slack workspace: channels, users, messages, modals, and Slack's rules."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.slack_delivery import trigger_id
from sandbox.slack_objects import (
    BOT_SCOPES,
    BOT_USER,
    MAX_MESSAGE_TEXT,
    SANDBOX_CHANNELS,
    SANDBOX_USERS,
    TRIGGER_LIFETIME_S,
    Channel,
    Message,
    OpenView,
    ResponseUrl,
    SlackError,
    validate_blocks,
    validate_view,
)

__all__ = [
    "BOT_SCOPES",
    "BOT_USER",
    "CONNECTION_TROUBLE",
    "Ack",
    "Message",
    "ResponseUrl",
    "SlackError",
    "Workspace",
]

# What a modal shows above its blocks when the app's answer to its submission is late or not a
# valid one; the modal stays open with what the person typed (Slack's client text, as bolt-js
# #1208 and deno-slack-sdk #325 report it: "an error banner along its top").
CONNECTION_TROUBLE = "We had some trouble connecting. Try again?"


@dataclass(frozen=True)
class Ack:
    """One delivery to the app and its HTTP (or Socket Mode) answer, as Slack timed it.

    `kind` is the payload's: `slash_commands`, `block_actions`, `view_submission`,
    `message_action`, `event_callback`; `name` what it was (the command, the action_id, the
    view's callback_id, the shortcut's callback_id, the event type). `late`: not answered
    within the deadline, so Slack discarded whatever came after and showed its error.
    """

    kind: str
    name: str
    user: str
    seconds: float
    status: int
    late: bool


class Workspace:
    """One team: thread-safe; every change bumps `version` and wakes the console's long polls."""

    def __init__(self, team_id: str = "T0SANDBOX1", bot_token: str | None = None) -> None:
        self.team_id = team_id
        self.bot_token = bot_token or f"xoxb-sandbox-{secrets.token_hex(12)}"
        self.app_token = f"xapp-sandbox-{secrets.token_hex(12)}"  # Socket Mode's app-level token
        self.channels = {c.id: c for c in SANDBOX_CHANNELS}
        self.users = {u.id: u for u in (*SANDBOX_USERS, BOT_USER)}
        self.messages: list[Message] = []
        self.views: dict[str, OpenView] = {}
        self.homes: dict[str, dict[str, Any]] = {}  # user → the Home tab views.publish set
        self.response_urls: dict[str, ResponseUrl] = {}
        self.triggers: dict[str, tuple[str, float]] = {}  # trigger → (user, when issued)
        self.used_triggers: set[str] = set()
        self.not_member: set[str] = set()  # private channel ids the bot was not invited to
        self.scopes = list(BOT_SCOPES)
        self.monotonic = time.monotonic  # the triggers' clock (tests move it)
        self.trigger_lifetime_s = TRIGGER_LIFETIME_S
        self.acks: list[Ack] = []  # every delivery's answer, timed, in order
        self.late_acks: list[Ack] = []  # those Slack gave up on (also in `rejections`)
        self.view_errors: dict[str, str] = {}  # view id → the banner Slack shows in that modal
        self.field_errors: dict[str, dict[str, str]] = {}  # view id → block_id → its error
        self.view_revisions: dict[str, int] = {}  # view id → how many views.update it took
        self.calls: list[str] = []  # API methods called, in order
        self.rejections: list[tuple[str, str]] = []  # (method, error) of every call refused
        self.version = 0
        self._rate_limits: dict[str, list[int]] = {}
        self._changed = threading.Condition()
        self._ts = itertools.count(1)
        self.clock: Callable[[], float] = (
            time.time
        )  # epoch seconds of new messages (the sandbox's clock)
        self._last_ts = 0

    # -- helpers -------------------------------------------------------------------------------
    def _bump(self) -> None:
        self.version += 1
        self._changed.notify_all()

    def _next_ts(self) -> str:
        """A message ts as Slack's: the posting time in seconds, unique, rising."""
        self._last_ts = max(self._last_ts, int(self.clock()))
        return f"{self._last_ts}.{next(self._ts):06d}"

    def channel(self, ref: Any) -> Channel:
        """A channel by ID or name (with or without #), as chat.postMessage accepts."""
        text = str(ref or "")
        if text in self.channels:
            return self.channels[text]
        for channel in self.channels.values():
            if channel.name == text.removeprefix("#"):
                return channel
        if text in self.users and text != BOT_USER.id:
            # chat.postMessage to a user id posts in the app's DM with that user
            direct = Channel(f"D{text[1:]}", f"@{self.users[text].name}")
            with self._changed:
                self.channels.setdefault(direct.id, direct)
            return self.channels[direct.id]
        raise SlackError("channel_not_found")

    def leave(self, channels: list[str]) -> None:
        """These channels (names or ids) become private ones the bot was not invited to."""
        with self._changed:
            self.not_member.update(self.channel(c).id for c in channels)

    def ensure_member(self, channel: Channel) -> None:
        """chat.postMessage: a private channel needs the bot in it (`not_in_channel`); public ones
        take its posts anyway, by the chat:write.public scope the manifest grants."""
        if channel.id in self.not_member:
            raise SlackError("not_in_channel")

    def visible(self, channel: Channel) -> bool:
        """conversations.*: a private channel is seen only by its members."""
        return channel.id not in self.not_member

    def channel_info(self, channel: Channel) -> dict[str, Any]:
        """A conversation object, as conversations.info and conversations.list give it."""
        return {
            "id": channel.id,
            "name": channel.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_private": channel.id in self.not_member,
            "is_archived": False,
            "is_member": channel.id not in self.not_member,
            "created": 1_700_000_000,
            "creator": "U0DANAONCL",
        }

    def record_call(self, method: str) -> None:
        """A Web API call arrived (a change: tests may wait for one)."""
        with self._changed:
            self.calls.append(method)
            self._bump()

    def wait_for_change(self, after: int, timeout_s: float) -> int:
        with self._changed:
            self._changed.wait_for(lambda: self.version > after, timeout=timeout_s)
            return self.version

    def rate_limit(self, method: str, times: int = 1, retry_after_s: int = 1) -> None:
        """The next `times` calls of `method` get HTTP 429 with Retry-After."""
        with self._changed:
            self._rate_limits[method] = [retry_after_s] * times

    def check_rate_limit(self, method: str) -> None:
        with self._changed:
            pending = self._rate_limits.get(method)
            if pending:
                error = SlackError("ratelimited", status=429)
                error.retry_after = pending.pop()
                raise error

    # -- messages ------------------------------------------------------------------------------
    def post(
        self,
        channel_ref: Any,
        text: Any,
        blocks: Any,
        user: str,
        ephemeral_to: str | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        channel = self.channel(channel_ref)
        checked = validate_blocks(blocks) if blocks is not None else []
        text = "" if text is None else str(text)
        if not text and not checked:
            raise SlackError("no_text")
        if len(text) > MAX_MESSAGE_TEXT:
            raise SlackError("msg_too_long")
        with self._changed:
            message = Message(channel.id, self._next_ts(), text, checked, user, ephemeral_to)
            message.thread_ts = thread_ts
            message.metadata = metadata
            self.messages.append(message)
            self._bump()
            return message

    def find(self, channel_id: str, ts: str) -> Message:
        for message in self.messages:
            if message.channel == channel_id and message.ts == ts:
                return message
        raise SlackError("message_not_found")

    def delete(self, channel_ref: Any, ts: Any) -> Message:
        """chat.delete: a bot may delete what it posted."""
        channel = self.channel(channel_ref)
        with self._changed:
            message = self.find(channel.id, str(ts))
            if message.user != BOT_USER.id or message.ephemeral_to is not None:
                raise SlackError("cant_delete_message")
            self.messages.remove(message)
            self._bump()
            return message

    def update(self, channel_ref: Any, ts: Any, text: Any, blocks: Any) -> Message:
        channel = self.channel(channel_ref)
        checked = validate_blocks(blocks) if blocks is not None else None
        with self._changed:
            message = self.find(channel.id, str(ts))
            if message.ephemeral_to is not None:
                raise SlackError("message_not_found")  # ephemeral messages are not updatable by ts
            if message.user != BOT_USER.id:
                raise SlackError("cant_update_message")
            message.history.append(message.text)
            if text is not None:
                message.text = str(text)
            if checked is not None:
                message.blocks = checked
            message.edits += 1
            self._bump()
            return message

    def bot_messages(self, channel_ref: str | None = None) -> list[Message]:
        """What the bot posted (in one channel), oldest first."""
        channel = self.channel(channel_ref).id if channel_ref else None
        with self._changed:
            return [
                m
                for m in self.messages
                if m.user == BOT_USER.id and (channel is None or m.channel == channel)
            ]

    def clear(self) -> None:
        """Forget every message, modal and call (between tests)."""
        with self._changed:
            self.messages.clear()
            self.views.clear()
            self.homes.clear()
            self.calls.clear()
            self.rejections.clear()
            self.acks.clear()
            self.late_acks.clear()
            self.view_errors.clear()
            self.field_errors.clear()
            self.view_revisions.clear()
            self._rate_limits.clear()
            self._bump()

    def record_ack(self, ack: Ack) -> None:
        """A delivery was answered (or not). A late one is a refusal like any other: it goes in
        `rejections` as (`<kind> <name>`, "operation_timeout"), so the Slack tests fail on it."""
        with self._changed:
            self.acks.append(ack)
            if ack.late:
                self.late_acks.append(ack)
                self.rejections.append((f"{ack.kind} {ack.name}", "operation_timeout"))
            self._bump()

    def publish_home(self, user: Any, view: Any) -> dict[str, Any]:
        """views.publish: the user's Home tab is this view (a `home` view, for a known user)."""
        if str(user) not in self.users:
            raise SlackError("user_not_found")
        if not isinstance(view, dict) or view.get("type") != "home":
            raise SlackError("invalid_arguments", "views.publish takes a view of type home")
        with self._changed:
            published = {"id": f"VHOME{str(user)[1:]}", **view}
            self.homes[str(user)] = published
            self._bump()
            return published

    def history(
        self, channel_ref: Any, oldest: float, latest: float, inclusive: bool
    ) -> list[Message]:
        """conversations.history's messages, newest first: the channel's own messages (not thread
        replies, not ephemeral ones) between `oldest` and `latest`."""
        channel = self.channel(channel_ref)

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        with self._changed:
            found = [
                m
                for m in self.messages
                if m.channel == channel.id
                and m.ephemeral_to is None
                and m.thread_ts in (None, m.ts)
                and within(float(m.ts))
            ]
        return sorted(found, key=lambda m: float(m.ts), reverse=True)

    def visible_to(self, user: str) -> list[Message]:
        with self._changed:
            return [m for m in self.messages if m.ephemeral_to in (None, user)]

    # -- response_url --------------------------------------------------------------------------
    def answered(self, response_url: str, message: Message) -> None:
        """A command's ack became `message`: its response_url now replaces or deletes that one
        ("a slash command's response_url updates the message that command produced")."""
        key = response_url.rsplit("/", 1)[-1]
        with self._changed:
            target = self.response_urls.get(key)
            if target is not None:
                self.response_urls[key] = ResponseUrl(
                    target.channel, target.user, message.ts, message.ephemeral_to is not None
                )

    def new_response_url(self, base: str, target: ResponseUrl) -> str:
        key = secrets.token_urlsafe(12)
        with self._changed:
            self.response_urls[key] = target
        return f"{base}/response/{key}"

    def respond(self, key: str, body: dict[str, Any]) -> None:
        """A post to a response_url: a new message, or a replacement of the one clicked."""
        target = self.response_urls.get(key)
        if target is None:
            raise SlackError("invalid_response_url", status=404)
        in_channel = body.get("response_type") == "in_channel"
        if body.get("delete_original") and target.source_ts:
            with self._changed:
                self.messages = [
                    m
                    for m in self.messages
                    if not (m.channel == target.channel and m.ts == target.source_ts)
                ]
                self._bump()
            return
        if body.get("replace_original") and target.source_ts:
            # Slack replaces the whole message with the payload: blocks not sent are gone
            blocks = validate_blocks(body["blocks"]) if body.get("blocks") else []
            with self._changed:
                message = self.find(target.channel, target.source_ts)
                message.history.append(message.text)
                message.text = str(body.get("text", ""))
                message.blocks = blocks
                message.edits += 1
                self._bump()
            return
        ephemeral_to = None if in_channel else target.user
        self.post(target.channel, body.get("text"), body.get("blocks"), BOT_USER.id, ephemeral_to)

    # -- modals ------------------------------------------------------------------------------
    def issue_trigger(self, user: str) -> str:
        """A trigger id for something `user` just did, stamped with `monotonic()` as it is sent to
        the app: good for one views.open/views.push within `trigger_lifetime_s` (3 s), as Slack's
        ("Triggers expire in three seconds", "may be used only once": api.slack.com/docs/triggers;
        the views.* methods answer `expired_trigger_id` and `exchanged_trigger_id`)."""
        trigger = trigger_id()
        with self._changed:
            self.triggers[trigger] = (user, self.monotonic())
        return trigger

    def trigger_user(self, trigger: Any) -> str:
        """Exchange a trigger id (views.open/push): its user, or Slack's error for it.

        The rule: a trigger issued at t is exchanged at any `monotonic()` up to and including
        t + 3 s; later it is `expired_trigger_id`. An unknown one is `invalid_trigger_id`; one
        already exchanged is `exchanged_trigger_id` (checked first: a used trigger stays used).
        """
        key = str(trigger or "")
        with self._changed:
            issued = self.triggers.get(key)
            if issued is None:
                raise SlackError("invalid_trigger_id")
            if key in self.used_triggers:
                raise SlackError("exchanged_trigger_id")
            user, at = issued
            if self.monotonic() - at > self.trigger_lifetime_s:
                raise SlackError("expired_trigger_id")
            self.used_triggers.add(key)
            return user

    def open_view(self, user: str, view: Any) -> OpenView:
        checked = validate_view(view)
        with self._changed:
            opened = OpenView(f"V{secrets.token_hex(5).upper()}", user, checked)
            self.views[opened.id] = opened
            self._bump()
            return opened

    def update_view(self, view_id: Any, view: Any) -> OpenView:
        checked = validate_view(view)
        with self._changed:
            opened = self.views.get(str(view_id))
            if opened is None:
                raise SlackError("not_found")
            if opened.stack:
                opened.stack[-1] = checked
            else:
                opened.view = checked
            self.view_errors.pop(opened.id, None)
            self.field_errors.pop(opened.id, None)
            self.view_revisions[opened.id] = self.view_revisions.get(opened.id, 0) + 1
            self._bump()
            return opened

    def push_view(self, user: str, view: Any) -> OpenView:
        checked = validate_view(view)
        with self._changed:
            opened = next((v for v in self.views.values() if v.user == user), None)
            if opened is None:
                raise SlackError("not_found", "no open view to push onto")
            opened.stack.append(checked)
            self._bump()
            return opened

    def close_view(self, view_id: str) -> None:
        with self._changed:
            opened = self.views.get(view_id)
            if opened is not None and opened.stack:
                opened.stack.pop()
            else:
                self.views.pop(view_id, None)
            self.view_errors.pop(view_id, None)
            self.field_errors.pop(view_id, None)
            if view_id not in self.views:
                self.view_revisions.pop(view_id, None)
            self._bump()

    def submission_answered(
        self, view_id: str, answer: dict[str, Any] | None, revision: int | None = None
    ) -> None:
        """What Slack does with the app's answer to a view submission (`None`: a late or failed
        answer, so the modal stays open with Slack's banner). Empty: the modal closes;
        `response_action` `errors` (under their blocks), `update`, `push` or `clear`.

        `revision`: the view's `view_revisions` when the submission was sent. Slack applies an
        answer as it arrives, before any views.update the app makes after answering; here the
        answer is applied once the HTTP call returns, so a views.update the app made after its
        ack may already be in: an `update` answer then does not overwrite it."""
        with self._changed:
            opened = self.views.get(view_id)
            if opened is None:
                return
            overtaken = revision is not None and self.view_revisions.get(view_id, 0) != revision
            self.view_errors.pop(view_id, None)
            self.field_errors.pop(view_id, None)
            if answer is None:
                self.view_errors[view_id] = CONNECTION_TROUBLE
                self._bump()
                return
            action = answer.get("response_action")
            if action == "errors" and isinstance(answer.get("errors"), dict):
                self.field_errors[view_id] = {str(k): str(v) for k, v in answer["errors"].items()}
            elif action in ("update", "push"):
                try:
                    checked = validate_view(answer.get("view"))
                except SlackError as exc:  # Slack refuses it as it would a views.update
                    self.rejections.append((f"view_submission response_action={action}", exc.error))
                    self.view_errors[view_id] = CONNECTION_TROUBLE
                    self._bump()
                    return
                if action == "push":
                    opened.stack.append(checked)
                elif overtaken:
                    pass  # the app's own views.update, made after this answer, stays
                elif opened.stack:
                    opened.stack[-1] = checked
                else:
                    opened.view = checked
            elif action == "clear":
                self.views.pop(view_id, None)
            elif opened.stack:
                opened.stack.pop()  # an empty answer closes the view submitted: the one on top
            else:
                self.views.pop(view_id, None)
            self._bump()
