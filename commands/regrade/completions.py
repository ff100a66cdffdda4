"""Completions of grading triggers, pulled from (or pushed by) Pub/Sub: each moves its date once.

A date out (published, or still publishing: its confirmation not yet recorded) moves to done or
failed conditionally, so a duplicate completion, or one absorbed by two processes, counts once.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from adapters.pubsub import Received
from config import Profile
from store.backfill_views import OUT, DateState

if TYPE_CHECKING:
    from commands.regrade.engine import RegradeTools

log = logging.getLogger("opsbot.regrade")
MAX_CORRELATION = 64  # a correlation id as opsbot makes them (store: String(64))
MAX_COUNT = 10**9  # graded rows for one date: far above any real day, far below overflow
MAX_MEASURE = 1e9  # a mean absolute error in points
MAX_DETAIL = 500  # characters of a completion's error kept with its date


def absorb(tools: RegradeTools, messages: list[Received]) -> list[int]:
    """Completions (from a pull or a push): each date moved once; the backfills they touched.

    A completion names its date by `correlation_id`; one that names none of ours is ignored.
    One whose `graded_count` or `mae` is not what the grading function sends (not a number, not
    finite, out of range) fails its date saying which and why, and the value is not stored.
    Either is logged in one line; the caller acknowledges every message.
    """
    touched: list[int] = []
    for message in messages:
        body = message.body
        correlation = body.get("correlation_id")
        found = (
            tools.backfills.by_correlation(correlation)
            if isinstance(correlation, str) and 0 < len(correlation) <= MAX_CORRELATION
            else None
        )
        if found is None:
            log.info(
                "completion for %s with an unknown correlation_id ignored",
                _shown(body.get("target_date")),
            )
            continue
        success = body.get("status") == "success"
        try:
            graded, mae = _int(body.get("graded_count")), _float(body.get("mae"))
        except ValueError as unreadable:
            moved = _complete(
                tools,
                found.id,
                DateState.FAILED,
                completed_at=tools.clock(),
                detail=f"unreadable completion: {unreadable}",
            )
            if moved:
                log.warning(
                    "completion for %s is unreadable (%s): the date failed",
                    found.game_date,
                    unreadable,
                )
        else:
            error = body.get("error") or body.get("status") or "failed"
            moved = _complete(
                tools,
                found.id,
                DateState.DONE if success else DateState.FAILED,
                completed_at=tools.clock(),
                graded_count=graded,
                mae=mae,
                detail="" if success else _shown(error, MAX_DETAIL),
            )
        if moved:
            touched.append(tools.backfills.backfill_of(found.id))
    return sorted(set(touched))


def _complete(tools: RegradeTools, date_id: int, to: DateState, **values: Any) -> bool:
    """A date out (published, or still publishing: the completion came before the confirmation
    was recorded) moved to its end; False when it was not out."""
    return any(tools.backfills.move(date_id, frm=frm, to=to, **values) for frm in OUT)


def take_completions(profile: Profile, tools: RegradeTools) -> list[int]:
    """Pull what waits on the completion subscription, absorb it, acknowledge it."""
    subscription = profile.regrade.complete_subscription
    messages = tools.pubsub.pull(subscription)
    touched = absorb(tools, messages)
    tools.pubsub.acknowledge(subscription, [m.ack_id for m in messages])
    return touched


def _int(value: Any, name: str = "graded_count") -> int | None:
    """A count as the grading function sends it (a JSON integer; an integral float is taken),
    None when absent; ValueError (saying why, not echoing the value) when it is not one within
    0..MAX_COUNT."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} is a {type(value).__name__}, not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} is not finite")
    if not 0 <= value <= MAX_COUNT:  # compared exactly: no float of a huge int is made
        raise ValueError(f"{name} is out of range (0..{MAX_COUNT})")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{name} is not a whole number")
    return int(value)


def _float(value: Any, name: str = "mae") -> float | None:
    """A finite measure within 0..MAX_MEASURE, None when absent; ValueError otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} is a {type(value).__name__}, not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} is not finite")
    if not 0 <= value <= MAX_MEASURE:
        raise ValueError(f"{name} is out of range (0..{MAX_MEASURE:g})")
    return float(value)


def _shown(value: Any, limit: int = 40) -> str:
    """A value from a message, for a log line or a detail: as text, cut to `limit` characters."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except (ValueError, RecursionError):  # an int past str()'s digits, a structure too deep
        text = f"<a {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"
