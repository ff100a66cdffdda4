"""The Pub/Sub emulator's pull answers as the service's: the REST shape, and no delivery count."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import pubsub_v1  # type: ignore[attr-defined]

from sandbox.pubsub_emulator import PubSubEmulator
from tests.fidelity.schemas import problems

PROJECT = "nba-props-platform"


@pytest.fixture
def pubsub() -> Iterator[PubSubEmulator]:
    emulator = PubSubEmulator(PROJECT)
    emulator.create_subscription("opsbot-grading-complete", "nba-grading-complete")
    emulator.start()
    yield emulator
    emulator.stop()


def _pull(emulator: PubSubEmulator) -> dict[str, Any]:
    path = f"/v1/projects/{PROJECT}/subscriptions/opsbot-grading-complete:pull"
    request = urllib.request.Request(
        emulator.url + path,
        json.dumps({"maxMessages": 10}).encode(),
        {"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        body: dict[str, Any] = json.loads(answer.read())
    return body


def test_a_pulled_message_has_no_delivery_attempt_without_a_dead_letter_policy(
    pubsub: PubSubEmulator,
) -> None:
    """ReceivedMessage.deliveryAttempt: "If a DeadLetterPolicy is not set on the subscription,
    this will be 0", and proto3's JSON leaves a 0 out; the client reads it as 0."""
    pubsub.publish("nba-grading-complete", b'{"game_date": "2026-01-30"}', {"kind": "done"})
    answer = _pull(pubsub)
    [received] = answer["receivedMessages"]
    assert "deliveryAttempt" not in received
    assert problems("pubsub.v1", "PullResponse", answer) == []

    pubsub.publish("nba-grading-complete", b"{}", {})
    subscriber = pubsub_v1.SubscriberClient(
        transport="rest",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=pubsub.url),
    )
    pulled = subscriber.pull(
        request={
            "subscription": f"projects/{PROJECT}/subscriptions/opsbot-grading-complete",
            "max_messages": 10,
        },
        timeout=10,
    )
    assert [m.delivery_attempt for m in pulled.received_messages] == [0]
