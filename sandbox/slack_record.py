"""What an emulated Slack workspace records of the app: its calls, refusals, rate limits and acks."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sandbox.slack_objects import SlackError


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


class Recorder:
    """The workspace's lock and version, and the record of what the app did (thread-safe)."""

    def __init__(self) -> None:
        self.calls: list[str] = []  # API methods called, in order
        self.rejections: list[tuple[str, str]] = []  # (method, error) of every call refused
        self.acks: list[Ack] = []  # every delivery's answer, timed, in order
        self.late_acks: list[Ack] = []  # those Slack gave up on (also in `rejections`)
        self.version = 0
        self._rate_limits: dict[str, list[int]] = {}
        self._changed = threading.Condition()  # an RLock inside: nested `with` is safe

    def _bump(self) -> None:
        """A change: the version moves and every long poll (`wait_for_change`) wakes."""
        self.version += 1
        self._changed.notify_all()

    def wait_for_change(self, after: int, timeout_s: float) -> int:
        """The version once it is past `after`, or after `timeout_s` the version it is."""
        with self._changed:
            self._changed.wait_for(lambda: self.version > after, timeout=timeout_s)
            return self.version

    def record_call(self, method: str) -> None:
        """A Web API call arrived (a change: tests may wait for one)."""
        with self._changed:
            self.calls.append(method)
            self._bump()

    def rate_limit(self, method: str, times: int = 1, retry_after_s: int = 1) -> None:
        """The next `times` calls of `method` get HTTP 429 with Retry-After."""
        with self._changed:
            self._rate_limits[method] = [retry_after_s] * times

    def check_rate_limit(self, method: str) -> None:
        """Raise Slack's `ratelimited` (HTTP 429, Retry-After) if `method` is to be refused now."""
        with self._changed:
            pending = self._rate_limits.get(method)
            if pending:
                error = SlackError("ratelimited", status=429)
                error.retry_after = pending.pop()
                raise error

    def record_ack(self, ack: Ack) -> None:
        """A delivery was answered (or not). A late one is a refusal like any other: it goes in
        `rejections` as (`<kind> <name>`, "operation_timeout"), so the Slack tests fail on it."""
        with self._changed:
            self.acks.append(ack)
            if ack.late:
                self.late_acks.append(ack)
                self.rejections.append((f"{ack.kind} {ack.name}", "operation_timeout"))
            self._bump()

    def clear(self) -> None:
        """Forget every call, refusal, rate limit and ack (between tests)."""
        with self._changed:
            self.calls.clear()
            self.rejections.clear()
            self.acks.clear()
            self.late_acks.clear()
            self._rate_limits.clear()
            self._bump()
