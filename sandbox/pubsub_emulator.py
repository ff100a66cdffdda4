"""A Pub/Sub emulator on loopback for the official client's REST transport.

topics.publish, subscriptions.pull and subscriptions.acknowledge, as the v1 REST API shapes them
(base64 `data`, `attributes`, `messageId`, `publishTime`, `ackId`). Delivery is at least once, as
Pub/Sub's: a message pulled and not acknowledged within the ack deadline is delivered again, and
the fault plan can deliver each message twice. In-process listeners (the grading simulator)
hear a topic as a push subscription would.
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.json_http import GoogleApiError, JsonApi, Query

ACK_DEADLINE_S = 10.0
Listener = Callable[[dict[str, Any], dict[str, str]], None]  # (decoded JSON body, attributes)


@dataclass
class _Subscription:
    topic: str
    waiting: list[dict[str, Any]] = field(default_factory=list)
    outstanding: dict[str, tuple[dict[str, Any], float]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Push:
    """A push subscription: each message POSTed to `endpoint` until it answers 2xx."""

    name: str
    topic: str
    endpoint: str
    token: Callable[[], str] | None  # the OIDC token for Authorization: Bearer (per attempt)
    attempts: int
    backoff_s: float


class PubSubEmulator(JsonApi):
    thread_name = "pubsub-emulator"

    def __init__(self, project: str) -> None:
        super().__init__()
        self.project = project
        self.topics: set[str] = set()
        self.subscriptions: dict[str, _Subscription] = {}
        self.listeners: dict[str, list[Listener]] = {}
        self.published: list[tuple[str, dict[str, Any]]] = []  # (topic, message), for tests
        self.duplicate_deliveries = False  # the fault plan: every message delivered twice
        self.denied_permissions: set[str] = set()  # left out of testIamPermissions
        self.pushes: list[_Push] = []
        self.push_attempts: list[tuple[str, int]] = []  # (message id, HTTP status), for tests
        self._pushed = threading.Condition()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # --- set-up -------------------------------------------------------------------------------

    def create_topic(self, topic: str) -> None:
        with self._lock:
            self.topics.add(topic)

    def create_subscription(self, subscription: str, topic: str) -> None:
        with self._lock:
            self.topics.add(topic)
            self.subscriptions[subscription] = _Subscription(topic)

    def create_push_subscription(
        self,
        name: str,
        topic: str,
        endpoint: str,
        token: Callable[[], str] | None = None,
        *,
        attempts: int = 5,
        backoff_s: float = 0.1,
    ) -> None:
        """Push each message on `topic` to `endpoint` in Pub/Sub's push envelope, retried with
        exponential backoff while it does not answer 2xx (Pub/Sub's push semantics)."""
        with self._lock:
            self.topics.add(topic)
            self.pushes.append(_Push(name, topic, endpoint, token, attempts, backoff_s))

    def wait_for_pushes(self, done: Callable[[list[int]], bool], timeout_s: float) -> bool:
        """Until `done(statuses of every push attempt so far)`, at most `timeout_s`."""
        with self._pushed:
            return self._pushed.wait_for(
                lambda: done([status for _, status in self.push_attempts]), timeout=timeout_s
            )

    def listen(self, topic: str, listener: Listener) -> None:
        """Hear every message on `topic` (on a worker thread, as a push endpoint would)."""
        with self._lock:
            self.topics.add(topic)
            self.listeners.setdefault(topic, []).append(listener)

    # --- the API ------------------------------------------------------------------------------

    def publish(self, topic: str, data: bytes, attributes: dict[str, str]) -> str:
        """Publish as the API does (also for in-process publishers such as the simulator)."""
        message_id = str(next(self._ids))
        message = {
            "data": base64.b64encode(data).decode(),
            "attributes": dict(attributes),
            "messageId": message_id,
            "publishTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        with self._lock:
            if topic not in self.topics:
                raise GoogleApiError(404, "notFound", f"Resource not found (resource={topic}).")
            self.published.append((topic, message))
            copies = 2 if self.duplicate_deliveries else 1
            for subscription in self.subscriptions.values():
                if subscription.topic == topic:
                    subscription.waiting.extend(dict(message) for _ in range(copies))
            listeners = list(self.listeners.get(topic, []))
            pushes = [push for push in self.pushes if push.topic == topic]
        for push in pushes:
            threading.Thread(
                target=self._push, args=(push, message), name="pubsub-push-out", daemon=True
            ).start()
        for listener in listeners:
            body = _decode(data)
            threading.Thread(
                target=listener, args=(body, dict(attributes)), name="pubsub-push", daemon=True
            ).start()
        return message_id

    def route(self, method: str, path: str, query: Query, body: dict[str, Any]) -> dict[str, Any]:
        if method != "POST" or ":" not in path:
            raise GoogleApiError(404, "notFound", f"Not found: {method} {path}")
        resource, verb = path.removeprefix("/v1/").rsplit(":", 1)
        short = resource.rsplit("/", 1)[-1]
        if not resource.startswith(f"projects/{self.project}/"):
            raise GoogleApiError(
                403, "forbidden", f"The caller does not have permission on {resource}"
            )
        if verb == "testIamPermissions":
            asked = [str(p) for p in body.get("permissions", [])]
            return {"permissions": [p for p in asked if p not in self.denied_permissions]}
        if verb == "publish":
            ids = [
                self.publish(
                    short,
                    base64.b64decode(m.get("data", "")),
                    {str(k): str(v) for k, v in (m.get("attributes") or {}).items()},
                )
                for m in body.get("messages", [])
            ]
            return {"messageIds": ids}
        subscription = self.subscriptions.get(short)
        if subscription is None:
            raise GoogleApiError(404, "notFound", f"Resource not found (resource={short}).")
        if verb == "pull":
            return {
                "receivedMessages": self._pull(subscription, int(body.get("maxMessages") or 100))
            }
        if verb == "acknowledge":
            with self._lock:
                for ack_id in body.get("ackIds", []):
                    subscription.outstanding.pop(str(ack_id), None)
            return {}
        raise GoogleApiError(404, "notFound", f"Not found: {verb}")

    def _pull(self, subscription: _Subscription, limit: int) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            expired = [a for a, (_, due) in subscription.outstanding.items() if due <= now]
            for ack_id in expired:  # not acknowledged in time: delivered again
                message, _ = subscription.outstanding.pop(ack_id)
                subscription.waiting.append(message)
            taken, subscription.waiting = subscription.waiting[:limit], subscription.waiting[limit:]
            received = []
            for message in taken:
                ack_id = f"ack-{next(self._ids)}"
                subscription.outstanding[ack_id] = (message, now + ACK_DEADLINE_S)
                # No deliveryAttempt: "If a DeadLetterPolicy is not set on the subscription,
                # this will be 0" (ReceivedMessage, pubsub v1), and proto3 JSON leaves a 0 out.
                # The emulator's subscriptions have no dead-letter policy.
                received.append({"ackId": ack_id, "message": message})
            return received

    def _push(self, push: _Push, message: dict[str, Any]) -> None:
        import json
        import urllib.error
        import urllib.request

        envelope = json.dumps(
            {
                "message": message,
                "subscription": f"projects/{self.project}/subscriptions/{push.name}",
            }
        ).encode()
        delay = push.backoff_s
        for _ in range(push.attempts):
            headers = {"Content-Type": "application/json"}
            if push.token is not None:
                headers["Authorization"] = f"Bearer {push.token()}"
            request = urllib.request.Request(push.endpoint, envelope, headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as answer:
                    status = int(answer.status)
            except urllib.error.HTTPError as refused:
                status = int(refused.code)
            except OSError:
                status = 0
            with self._pushed:
                self.push_attempts.append((str(message["messageId"]), status))
                self._pushed.notify_all()
            if 200 <= status < 300:
                return
            if self.stopping.wait(delay):
                return
            delay *= 2


def _decode(data: bytes) -> dict[str, Any]:
    import json

    try:
        loaded = json.loads(data or b"{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
