"""The state of an emulated Slack workspace: channels, users, messages, modals, and Slack's rules."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from typing import Any

from sandbox.slack_modals import CONNECTION_TROUBLE, Modals
from sandbox.slack_objects import (
    BOT_SCOPES,
    BOT_USER,
    MAX_MESSAGE_TEXT,
    SANDBOX_CHANNELS,
    SANDBOX_USERS,
    Channel,
    Message,
    ResponseUrl,
    SlackError,
    validate_blocks,
    validate_view,
)
from sandbox.slack_record import Ack

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


class Workspace(Modals):
    """One team: thread-safe; every change bumps `version` and wakes the console's long polls.

    Its modals and trigger ids are `Modals`'; its record of calls, refusals and acks `Recorder`'s.
    """

    def __init__(self, team_id: str = "T0SANDBOX1", bot_token: str | None = None) -> None:
        super().__init__()
        self.team_id = team_id
        self.bot_token = bot_token or f"xoxb-sandbox-{secrets.token_hex(12)}"
        self.app_token = f"xapp-sandbox-{secrets.token_hex(12)}"  # Socket Mode's app-level token
        self.channels = {c.id: c for c in SANDBOX_CHANNELS}
        self.users = {u.id: u for u in (*SANDBOX_USERS, BOT_USER)}
        self.messages: list[Message] = []
        self.homes: dict[str, dict[str, Any]] = {}  # user → the Home tab views.publish set
        self.response_urls: dict[str, ResponseUrl] = {}
        self.not_member: set[str] = set()  # private channel ids the bot was not invited to
        self.scopes = list(BOT_SCOPES)
        self._ts = itertools.count(1)
        self.clock: Callable[[], float] = time.time  # new messages' epoch s (the sandbox clock)
        self._last_ts = 0

    # -- helpers -------------------------------------------------------------------------------
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

    def thread_parent(self, channel_id: str, thread_ts: str) -> Message:
        """The message a reply's `thread_ts` names. None (a ts never posted, or its parent
        deleted as the reply was written) is Slack's `thread_not_found` to chat.postMessage, as
        its SDK maintainers describe it (slackapi/bolt-js#2307), not `message_not_found`.

        An ephemeral message's ts names none either: chat.postMessage's `thread_ts` is "another
        message's ts", and an ephemeral one is no message of the channel ("By nature, ephemeral
        messages do not persist across reloads, desktop and mobile apps, or sessions": the
        chat.postEphemeral reference; a click on one carries `container.is_ephemeral: true` and
        no `message`: the block_actions payload reference). Slack documents no answer of its own
        for that ts, so it is refused like any other that names no message: `thread_not_found`."""
        try:
            parent = self.find(channel_id, thread_ts)
        except SlackError:
            raise SlackError("thread_not_found") from None
        if parent.ephemeral_to is not None:
            raise SlackError("thread_not_found")
        return parent

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
        """Forget every message, Home tab, modal and call (between tests)."""
        with self._changed:
            self.messages.clear()
            self.homes.clear()
            super().clear()

    def publish_home(self, user: Any, view: Any) -> dict[str, Any]:
        """views.publish: the user's Home tab is this view (a `home` view, for a known user)."""
        if str(user) not in self.users:
            raise SlackError("user_not_found")
        view = validate_view(view, "home")  # refused as views.open and chat.* refuse blocks
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
