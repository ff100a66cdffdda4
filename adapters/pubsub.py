"""Pub/Sub through the official client (google-cloud-pubsub): publish JSON, pull and acknowledge."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from adapters.errors import AdapterError


class PubSubError(AdapterError):
    """Pub/Sub refused or did not answer; the message names the topic or subscription."""


@dataclass(frozen=True)
class Received:
    """One pulled (or pushed) message: its JSON object, attributes, and the id to acknowledge it
    with (a push has none: its HTTP answer acknowledges it). `body` is always an object: see
    `message_body`."""

    ack_id: str
    message_id: str
    body: dict[str, Any]
    attributes: dict[str, str]


UNDECODABLE_KEPT = 1000  # bytes of a message that is not a JSON object kept (base64) for the log


def message_body(data: bytes) -> dict[str, Any]:
    """A message's data as the JSON object it should be; anything else (not UTF-8, not JSON,
    nested past the parser's depth, a list, a string) is `{"undecodable": <its start, base64>}`,
    which names no backfill date and is ignored. Empty data is an empty object."""
    try:
        body = json.loads(data or b"{}")
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        body = None
    if isinstance(body, dict):
        return body
    return {"undecodable": base64.b64encode(data[:UNDECODABLE_KEPT]).decode()}


class PubSub:
    def __init__(self, publisher: Any, subscriber: Any, *, project: str, timeout_s: float) -> None:
        self._publisher = publisher
        self._subscriber = subscriber
        self._project = project
        self._timeout_s = timeout_s

    @classmethod
    def connect(cls, *, project: str, timeout_s: float, endpoint: str | None = None) -> PubSub:
        """Production: Application Default Credentials. With `endpoint`: an emulator over REST."""
        from google.cloud import pubsub_v1  # type: ignore[attr-defined]

        kwargs: dict[str, Any] = {}
        if endpoint is not None:
            from google.api_core.client_options import ClientOptions
            from google.auth.credentials import AnonymousCredentials

            kwargs = {
                "transport": "rest",
                "credentials": AnonymousCredentials(),  # type: ignore[no-untyped-call]
                "client_options": ClientOptions(api_endpoint=endpoint),
            }
        return cls(
            pubsub_v1.PublisherClient(**kwargs),
            pubsub_v1.SubscriberClient(**kwargs),
            project=project,
            timeout_s=timeout_s,
        )

    def topic_path(self, topic: str) -> str:
        return f"projects/{self._project}/topics/{topic}"

    def subscription_path(self, subscription: str) -> str:
        return f"projects/{self._project}/subscriptions/{subscription}"

    def publish(self, topic: str, body: dict[str, Any], attributes: dict[str, str]) -> str:
        """Publish one JSON message; its message id once Pub/Sub has it."""
        from google.api_core import exceptions

        try:
            future = self._publisher.publish(
                self.topic_path(topic), json.dumps(body).encode(), **attributes
            )
            return str(future.result(timeout=self._timeout_s))
        except exceptions.GoogleAPICallError as exc:
            raise PubSubError(f"publishing to {topic}: {exc.message}") from None
        except TimeoutError:
            raise PubSubError(f"publishing to {topic}: Pub/Sub did not answer in time") from None

    def pull(self, subscription: str, max_messages: int = 50) -> list[Received]:
        """What is waiting on a pull subscription now (maybe nothing); acknowledge each after."""
        from google.api_core import exceptions

        try:
            answer = self._subscriber.pull(
                request={
                    "subscription": self.subscription_path(subscription),
                    "max_messages": max_messages,
                },
                timeout=self._timeout_s,
            )
        except exceptions.DeadlineExceeded:
            return []
        except exceptions.GoogleAPICallError as exc:
            raise PubSubError(f"pulling {subscription}: {exc.message}") from None
        found = []
        for item in answer.received_messages:
            message = item.message
            body = message_body(bytes(message.data))
            found.append(Received(item.ack_id, message.message_id, body, dict(message.attributes)))
        return found

    def acknowledge(self, subscription: str, ack_ids: list[str]) -> None:
        from google.api_core import exceptions

        if not ack_ids:
            return
        try:
            self._subscriber.acknowledge(
                request={"subscription": self.subscription_path(subscription), "ack_ids": ack_ids},
                timeout=self._timeout_s,
            )
        except exceptions.GoogleAPICallError as exc:
            raise PubSubError(f"acknowledging on {subscription}: {exc.message}") from None

    def permissions(self, resource: str, wanted: list[str]) -> set[str]:
        """Which of `wanted` the caller holds on a topic or subscription path (testIamPermissions)."""
        from google.api_core import exceptions
        from google.iam.v1 import iam_policy_pb2

        client = self._subscriber if "/subscriptions/" in resource else self._publisher
        try:
            answer = client.test_iam_permissions(
                request=iam_policy_pb2.TestIamPermissionsRequest(
                    resource=resource, permissions=wanted
                ),
                timeout=self._timeout_s,
            )
        except exceptions.GoogleAPICallError as exc:
            raise PubSubError(f"permissions on {resource}: {exc.message}") from None
        return set(answer.permissions)
