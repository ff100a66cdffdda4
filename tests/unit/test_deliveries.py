"""Slack's retries are recognised by their trigger_id, in this process and across replicas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from bot.deliveries import Deliveries, delivery_key
from opsbot.serve import store_deliveries
from store.background import BackgroundStore
from store.location import sqlite_url

COMMAND = urlencode({"command": "/health", "trigger_id": "13.345.abc", "user_id": "U1"}).encode()


def shared_store() -> tuple[set[str], Deliveries, Deliveries]:
    """Two replicas sharing one record of acknowledged deliveries, as the store's table is."""
    seen: set[str] = set()
    return (
        seen,
        Deliveries(seen.__contains__, seen.update),
        Deliveries(seen.__contains__, seen.update),
    )


def test_deliveries_are_named_by_trigger_id_or_event_id() -> None:
    assert delivery_key(COMMAND) == "trigger:13.345.abc"
    payload = urlencode({"payload": json.dumps({"type": "block_actions", "trigger_id": "9.9"})})
    assert delivery_key(payload.encode()) == "trigger:9.9"
    assert delivery_key(b'{"type": "event_callback", "event_id": "Ev1"}') == "event:Ev1"
    assert delivery_key(b"command=/health") is None  # nothing to know it by: never deduplicated


async def test_a_retry_is_a_repeat_here_and_on_another_replica_but_a_new_delivery_is_not() -> None:
    seen, one, two = shared_store()
    assert not await one.is_repeat(COMMAND, None)  # the first delivery is served
    one.answered(COMMAND, 200)
    await one.recorded()  # written for the other replicas off the acknowledgement path
    assert seen == {"delivery:trigger:13.345.abc"}
    assert await one.is_repeat(COMMAND, "1")  # Slack's retry, same replica
    assert await two.is_repeat(COMMAND, "2")  # Slack's retry, the other replica
    assert not await one.is_repeat(COMMAND, None)  # no retry header: a person ran it again
    other = COMMAND.replace(b"abc", b"abd")
    assert not await two.is_repeat(other, "1")  # a retry of something never served is served


async def test_a_retry_of_a_delivery_nobody_acknowledged_is_acted_on() -> None:
    """Found by the chaos soak (seed 12): a replica killed before answering a Start click; the
    retry Slack sends (connection_failed) must start the rollout on the other replica."""
    seen, killed, other = shared_store()
    assert not await killed.is_repeat(COMMAND, None)  # arrived, then the process died: no answer
    await killed.recorded()
    assert seen == set()
    assert not await other.is_repeat(COMMAND, "1")  # so Slack's retry is acted on
    other.answered(COMMAND, 200)
    await other.recorded()
    assert await killed.is_repeat(COMMAND, "2") and await other.is_repeat(COMMAND, "2")


async def test_a_retry_while_the_first_delivery_is_still_answered_here_is_a_repeat() -> None:
    _, one, _ = shared_store()
    assert not await one.is_repeat(COMMAND, None)  # still being answered (slower than 3 s)
    assert await one.is_repeat(COMMAND, "1")


async def test_an_answer_that_was_not_2xx_lets_slacks_retry_through() -> None:
    seen, one, two = shared_store()
    assert not await one.is_repeat(COMMAND, None)
    one.answered(COMMAND, 500)  # http_error: Slack retries
    await one.recorded()
    assert seen == set()
    assert not await one.is_repeat(COMMAND, "1")
    assert not await two.is_repeat(COMMAND, "1")


async def test_a_delivery_answered_while_the_store_opens_is_recorded_once_it_has_opened(
    tmp_path: Path,
) -> None:
    """The chaos soak's replicas said "could not record 1 deliveries in the store: the store is
    still being opened" after each restart: the other replica would then act on its retry."""
    url = sqlite_url(tmp_path / "opsbot.db")
    first, second = BackgroundStore(url), BackgroundStore(url)
    try:
        one = store_deliveries(first, lambda: datetime.now(UTC))  # its store not started yet
        assert not await one.is_repeat(COMMAND, None)
        one.answered(COMMAND, 200)
        await one.recorded()  # waited for the store to open, then written
        two = store_deliveries(second, lambda: datetime.now(UTC))  # just restarted: opening
        assert await two.is_repeat(COMMAND, "1")  # the retry waits (briefly) for the store
    finally:
        first.close()
        second.close()
