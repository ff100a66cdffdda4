"""What an emulated Slack workspace holds, and Slack's rules for what may be posted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

BOT_USER_ID = "U0OPSBOT00"  # BOT_USER.id
MAX_BLOCKS = 50
MAX_MESSAGE_TEXT = 40_000
MAX_VIEW_BLOCKS = 100  # a modal's or a Home tab's: "Max of 100 blocks"
NOT_IN_HOME = frozenset({"title", "submit", "close", "clear_on_close", "notify_on_close"})
TRIGGER_LIFETIME_S = 3.0  # "trigger_ids expire 3 seconds after being sent to your app", once used
# What the sandbox's bot token was granted (every Web API answer says so in X-OAuth-Scopes).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "channels:read",
    "groups:read",
    "channels:history",
    "groups:history",
    "files:write",
)


class SlackError(Exception):
    """An `ok: false` answer, with Slack's error code."""

    def __init__(self, error: str, detail: str | None = None, status: int = 200) -> None:
        super().__init__(error)
        self.error, self.detail, self.status = error, detail, status
        self.retry_after: int | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.detail and self.error == "invalid_arguments":
            # Slack says what is wrong with the arguments in response_metadata.messages, each
            # "[ERROR] … [json-pointer:…]" (docs.slack.dev's Web API page: "detailed errors and
            # warnings are returned in the messages field in the response metadata"; a refused
            # views.open as apps log it: {'ok': False, 'error': 'invalid_arguments',
            # 'response_metadata': {'messages': ['[ERROR] must define `submit` to use an
            # `input` block in modals [json-pointer:/view/blocks/2/input]']}})
            body["response_metadata"] = {"messages": [f"[ERROR] {self.detail}"]}
        elif self.detail:
            body["errors"] = [self.detail]
        return body


@dataclass(frozen=True)
class Channel:
    id: str
    name: str


@dataclass(frozen=True)
class User:
    id: str
    name: str
    title: str


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str  # who wrote it: a user id, or the bot's user id
    ephemeral_to: str | None = None  # shown to that user only
    edits: int = 0
    history: list[str] = field(default_factory=list)  # the text of every earlier version
    thread_ts: str | None = None  # a reply in the thread of this message
    files: list[dict[str, Any]] = field(default_factory=list)  # files shared with it
    metadata: dict[str, Any] | None = None  # message metadata: event_type and event_payload

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "ts": self.ts,
            "text": self.text,
            "blocks": self.blocks,
            "user": self.user,
            "ephemeral_to": self.ephemeral_to,
            "edits": self.edits,
            "thread_ts": self.thread_ts,
            "files": self.files,
        }

    def to_api(self, with_metadata: bool = False) -> dict[str, Any]:
        """The message object as the Web API returns it (chat.postMessage's `message`);
        `with_metadata`: conversations.history's include_all_metadata."""
        found: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "text": self.text,
            "user": self.user,
        }
        if self.user == BOT_USER_ID:
            found["bot_id"] = "B0OPSBOT00"
        if self.blocks:
            found["blocks"] = self.blocks
        if self.files:
            found["files"] = [{k: v for k, v in f.items() if k != "preview"} for f in self.files]
        if with_metadata and self.metadata is not None:
            found["metadata"] = self.metadata
        return found


@dataclass
class OpenView:
    id: str
    user: str
    view: dict[str, Any]
    stack: list[dict[str, Any]] = field(default_factory=list)  # views pushed over it


@dataclass(frozen=True)
class ResponseUrl:
    channel: str
    user: str
    source_ts: str | None  # the message whose button was clicked
    source_ephemeral: bool


BOT_USER = User("U0OPSBOT00", "opsbot", "the bot")
SANDBOX_CHANNELS = (
    Channel("C0HEALTH01", "orchestration-health"),
    Channel("C0ALERTS01", "nba-alerts"),
    Channel("C0ERRORS01", "app-error-alerts"),
    Channel("C0DEPLOY01", "deployment-alerts"),
    Channel("C0CANARY01", "canary-alerts"),
    Channel("C0RANDOM01", "random"),
)
SANDBOX_USERS = (
    User("U0DANAONCL", "dana", "on-call"),
    User("U0SAMDEPLY", "sam", "deployer"),
    User("U0LEEAPPRV", "lee", "approver"),
)


def validate_blocks(blocks: Any, limit: int = MAX_BLOCKS) -> list[dict[str, Any]]:
    """Blocks as Slack would accept them, or SlackError("invalid_blocks") saying what is wrong."""
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format", "blocks must be a JSON array")
    if len(blocks) > limit:
        raise SlackError(
            "invalid_blocks", f"must be less than {limit + 1} items [json-pointer:/blocks]"
        )
    for index, raw in enumerate(blocks):
        parsed = Block.parse(raw) if isinstance(raw, dict) else None
        if parsed is None or type(parsed) is Block:
            raise SlackError("invalid_blocks", f"unknown block type [json-pointer:/blocks/{index}]")
        try:
            parsed.validate_json()
        except SlackObjectFormationError as exc:
            raise SlackError("invalid_blocks", f"{exc} [json-pointer:/blocks/{index}]") from None
    return blocks


def validate_view(view: Any, surface: str = "modal") -> dict[str, Any]:
    """A view as Slack takes it, or Slack's error: one validator for every view an app sends.

    `surface` "modal" (views.open, views.update, views.push, a submission's `update`/`push`
    answer) or "home" (views.publish). Slack documents both: "Max of 100 blocks", each block as
    Block Kit validates it (a section's text at most 3,000 characters; no unknown type); a modal
    "Required" a plain_text `title`, and a `submit` once it has an `input` block; a Home tab
    view has `type`, `blocks`, `private_metadata`, `callback_id` and `external_id` only, so no
    `title`, `submit` or `close` (docs.slack.dev/reference/views/modal-views and
    .../home-tab-views)."""
    if not isinstance(view, dict) or view.get("type") != surface:
        raise SlackError(
            "invalid_arguments", f"view must be an object of type {surface} [json-pointer:/view]"
        )
    if surface == "modal" and not isinstance(view.get("title"), dict):
        raise SlackError("invalid_arguments", "a modal needs a title [json-pointer:/view/title]")
    blocks = validate_blocks(view.get("blocks", []), MAX_VIEW_BLOCKS)
    if surface == "modal" and view.get("submit") is None:
        _refuse_inputs_without_submit(blocks)
    extra = sorted(set(view) & NOT_IN_HOME) if surface == "home" else []
    if extra:
        raise SlackError(
            "invalid_arguments", f"a home view has no {extra[0]} [json-pointer:/view/{extra[0]}]"
        )
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError) as exc:
        raise SlackError("invalid_arguments", str(exc)) from None
    return view


def _refuse_inputs_without_submit(blocks: list[dict[str, Any]]) -> None:
    """A modal's `submit` "is required when an input block is within the blocks array"
    (docs.slack.dev/reference/views/modal-views): views.open, views.update, views.push and a
    submission's `update`/`push` answer refuse the first `input` block of a view without one
    with `invalid_arguments` and Slack's words (slackapi/node-slack-sdk#875 quotes them)."""
    for index, block in enumerate(blocks):
        if block.get("type") == "input":
            raise SlackError(
                "invalid_arguments",
                "must define `submit` to use an `input` block in modals "
                f"[json-pointer:/view/blocks/{index}/input]",
            )


def find_element(
    blocks: list[dict[str, Any]], action_id: str, value: str | None
) -> tuple[dict[str, Any], str]:
    """The element `action_id` (with `value`, when given) on a message, and its block's id."""
    for block in blocks:
        candidates = list(block.get("elements", [])) if block.get("type") == "actions" else []
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        for element in candidates:
            if element.get("action_id") == action_id and (
                value is None or element.get("value") == value
            ):
                return element, str(block.get("block_id", ""))
    raise SlackError("action_not_found", f"no element {action_id} on that message")
