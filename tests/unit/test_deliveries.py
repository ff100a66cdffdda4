"""Slack's retries are recognised by their trigger_id, in this process and across replicas."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from bot.deliveries import Deliveries, delivery_key

COMMAND = urlencode({"command": "/health", "trigger_id": "13.345.abc", "user_id": "U1"}).encode()


def shared_store() -> tuple[set[str], Deliveries, Deliveries]:
    """Two replicas whose `first_seen_durably` is one set, as the store's unique key is."""
    seen: set[str] = set()

    def first(key: str) -> bool:
        fresh = key not in seen
        seen.add(key)
        return fresh

    return seen, Deliveries(first), Deliveries(first)


def test_deliveries_are_named_by_trigger_id_or_event_id() -> None:
    assert delivery_key(COMMAND) == "trigger:13.345.abc"
    payload = urlencode({"payload": json.dumps({"type": "block_actions", "trigger_id": "9.9"})})
    assert delivery_key(payload.encode()) == "trigger:9.9"
    assert delivery_key(b'{"type": "event_callback", "event_id": "Ev1"}') == "event:Ev1"
    assert delivery_key(b"command=/health") is None  # nothing to know it by: never deduplicated


async def test_a_retry_is_a_repeat_here_and_on_another_replica_but_a_new_delivery_is_not() -> None:
    seen, one, two = shared_store()
    assert not await one.is_repeat(COMMAND, None)  # the first delivery is served
    await one.recorded()  # written for the other replicas off the acknowledgement path
    assert seen == {"delivery:trigger:13.345.abc"}
    assert await one.is_repeat(COMMAND, "1")  # Slack's retry, same replica
    assert await two.is_repeat(COMMAND, "2")  # Slack's retry, the other replica
    assert not await one.is_repeat(COMMAND, None)  # no retry header: a person ran it again
    other = COMMAND.replace(b"abc", b"abd")
    assert not await two.is_repeat(other, "1")  # a retry of something never served is served
