"""What a log line says about the request it belongs to: Slack's ids and the rollout, never a token."""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

SLACK_REQUEST: ContextVar[dict[str, str] | None] = ContextVar("slack_request", default=None)
ROLLOUT: ContextVar[int | None] = ContextVar("rollout", default=None)
_IDS = ("team_id", "channel_id", "user_id")


def remember_request(context: dict[str, Any]) -> None:
    """Slack's ids of the request being handled (Bolt's context), for every line it logs."""
    ids = {key.removesuffix("_id"): str(context[key]) for key in _IDS if context.get(key)}
    SLACK_REQUEST.set(ids or None)


class RequestContext(logging.Filter):
    """Adds the current Slack request's ids and rollout to each record (a record's own win)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "slack", None) is None and (ids := SLACK_REQUEST.get()) is not None:
            record.slack = ids
        if getattr(record, "rollout_id", None) is None and (rollout := ROLLOUT.get()) is not None:
            record.rollout_id = rollout
        return True
