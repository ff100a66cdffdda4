"""Which backfill a Slack message shows: the metadata a backfill's message is posted with."""

from __future__ import annotations

BACKFILL_EVENT = "opsbot_backfill"  # message metadata: which backfill a message shows


def backfill_metadata(backfill_id: int) -> dict[str, object]:
    """The metadata of the backfill's message (chat.postMessage `metadata`)."""
    return {"event_type": BACKFILL_EVENT, "event_payload": {"backfill_id": backfill_id}}


def is_backfill_message(message: dict[str, object], backfill_id: int) -> bool:
    """Whether a message (as conversations.history gives it) is the backfill's."""
    metadata = message.get("metadata")
    return (
        isinstance(metadata, dict)
        and metadata.get("event_type") == BACKFILL_EVENT
        and isinstance(metadata.get("event_payload"), dict)
        and metadata["event_payload"].get("backfill_id") == backfill_id
    )
