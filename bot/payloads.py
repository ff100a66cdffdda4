"""The shapes Slack sends, as pydantic models: every listener reads a parsed payload, never a dict.

Each model names only the fields opsbot reads, with the types Slack documents for them
(api.slack.com: "Slash commands", "block_actions payloads", "view_submission payloads",
"message_action" shortcuts, the `app_home_opened` event); other fields are ignored. A signed
request whose payload does not have them is refused in middleware (bot/parsed.py), before any
listener runs, so a listener never meets a list where Slack sends a string.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SlackId = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_]{0,31}$")]
Ts = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,12}\.[0-9]{1,8}$")]
Text = Annotated[str, StringConstraints(max_length=40_000)]
Short = Annotated[str, StringConstraints(max_length=255)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S{1,3000}$")]


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Ref(Payload):
    """A user or channel as an interaction names it."""

    id: SlackId
    name: Short | None = None


class Command(Payload):
    """A slash command (form fields)."""

    command: Short
    text: Text = ""
    user_id: SlackId
    channel_id: SlackId
    channel_name: Short | None = None
    trigger_id: Short | None = None
    response_url: Url | None = None


class Action(Payload):
    action_id: Short
    value: Annotated[str, StringConstraints(max_length=2000)] | None = None


class Container(Payload):
    """Where a click came from. For an ephemeral message Slack says `is_ephemeral: true` and
    sends no `message` ("If the source was an ephemeral message, this field will not be
    included": the block_actions payload reference): its `message_ts` names no message in the
    channel, so nothing can be threaded under it."""

    type: Short | None = None
    channel_id: SlackId | None = None
    message_ts: Ts | None = None
    thread_ts: Ts | None = None
    view_id: Short | None = None
    is_ephemeral: bool = False


class PostedMessage(Payload):
    """A message an interaction came from, or a shortcut was used on."""

    ts: Ts
    thread_ts: Ts | None = None
    text: Text = ""
    user: SlackId | None = None
    bot_id: SlackId | None = None
    blocks: list[dict[str, Any]] = Field(default_factory=list, max_length=100)


class Click(Payload):
    """A `block_actions` payload: a button pressed in a message or a view."""

    user: Ref
    actions: list[Action] = Field(min_length=1, max_length=20)
    trigger_id: Short | None = None
    response_url: Url | None = None
    channel: Ref | None = None
    container: Container = Field(default_factory=Container)
    message: PostedMessage | None = None

    @property
    def value(self) -> str | None:
        return self.actions[0].value

    @property
    def channel_id(self) -> str | None:
        return self.channel.id if self.channel else self.container.channel_id


class MessageShortcut(Payload):
    """A `message_action` payload: a message shortcut used on a message."""

    callback_id: Short
    user: Ref
    channel: Ref
    message: PostedMessage
    trigger_id: Short
    response_url: Url | None = None


class ViewState(Payload):
    # block id → action id → the element's state (selected_date, value, selected_options, …)
    values: dict[Short, dict[Short, dict[str, Any]]] = Field(default_factory=dict)


class SubmittedView(Payload):
    id: Short
    callback_id: Short
    private_metadata: Annotated[str, StringConstraints(max_length=3000)] = ""
    state: ViewState = Field(default_factory=ViewState)

    def field(self, block: str, key: str = "value") -> Any:
        """One input's state (`key` of the element named like its block), or None."""
        return self.state.values.get(block, {}).get(block, {}).get(key)


class Submission(Payload):
    """A `view_submission` payload: a modal's submit button."""

    user: Ref
    view: SubmittedView


class HomeOpened(Payload):
    """The `app_home_opened` event."""

    user: SlackId
    tab: Short = "home"


class EventEnvelope(Payload):
    """An Events API `event_callback` around one `app_home_opened` event."""

    event: HomeOpened
