"""Running a backfill: submit once, publish a few dates at a time, take completions, time out.

`pump` does what is due for one backfill (time out late dates, publish queued ones up to
`[regrade] max_in_flight`, end it when every date has ended); `absorb` takes completions pulled
from (or pushed by) Pub/Sub. Both are safe to repeat and to run in two processes: each date moves
conditionally, so a duplicate completion counts once and a date is published once.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from adapters.pubsub import PubSub, PubSubError, Received
from adapters.warehouse import Query, Warehouse, bind_tables
from commands.errors import RequestError
from commands.regrade.plan import RegradePlan
from config import Profile
from store.backfill_views import BackfillState, BackfillView, DatesInFlight, DateState

if TYPE_CHECKING:
    from store.backfills import Backfills

log = logging.getLogger("opsbot.regrade")
MAX_CORRELATION = 64  # a correlation id as opsbot makes them (store: String(64))
MAX_COUNT = 10**9  # graded rows for one date: far above any real day, far below overflow
MAX_MEASURE = 1e9  # a mean absolute error in points
MAX_DETAIL = 500  # characters of a completion's error kept with its date
GRADED_ON = """
SELECT COUNT(*) AS graded FROM $prediction_accuracy WHERE game_date = @day
"""


@dataclass(frozen=True)
class RegradeTools:
    """What a backfill acts with: the store, Pub/Sub, the warehouse, and the clock."""

    backfills: Backfills
    pubsub: PubSub
    warehouse: Warehouse
    clock: Callable[[], datetime]


def request_key(requester: str, plan: RegradePlan, salt: str = "") -> str:
    """One backfill per request: the same person, dates and options (a double click, a retry)."""
    text = f"{requester}|{plan.start}|{plan.end}|{plan.include_graded}|{salt}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def submit(
    profile: Profile,
    tools: RegradeTools,
    plan: RegradePlan,
    requester: str,
    *,
    reason: str = "",
    key: str | None = None,
) -> tuple[BackfillView, bool]:
    """The backfill of the plan's regrade dates (True when this call made it), then published
    up to the in-flight limit. RequestError for a refusal that changes nothing."""
    if not profile.slack.holds(requester, "regrader"):
        raise RequestError("regrading needs the regrader role ([slack.roles] regrader)")
    dates = [d.isoformat() for d in plan.to_regrade]
    if not dates:
        raise RequestError("nothing to regrade in this range: every date is skipped (see why)")
    try:
        backfill, created = tools.backfills.submit(
            request_key=key or request_key(requester, plan),
            requested_by=requester,
            reason=reason,
            include_graded=plan.include_graded,
            estimate_bytes=plan.estimate_bytes,
            dates=dates,
        )
    except DatesInFlight as busy:
        raise RequestError(f"cannot start: {busy}") from None
    return pump(profile, tools, backfill.id), created


def pump(profile: Profile, tools: RegradeTools, backfill_id: int) -> BackfillView:
    """Time out late dates, publish queued ones up to the limit, end the backfill when done."""
    backfill = _get(tools, backfill_id)
    if backfill.ended:
        return backfill
    config = profile.regrade
    now = tools.clock()
    limit = timedelta(minutes=config.date_timeout_min)
    for day in backfill.dates:
        if (
            day.state is DateState.PUBLISHED
            and day.published_at
            and now - day.published_at >= limit
        ):
            graded = _graded_on(profile, tools.warehouse, day.game_date)
            tools.backfills.move(
                day.id,
                frm=DateState.PUBLISHED,
                to=DateState.TIMED_OUT,
                completed_at=now,
                detail=f"no completion within {config.date_timeout_min:g} min; "
                f"BigQuery shows {graded} graded rows for it",
            )
    backfill = _get(tools, backfill_id)
    room = config.max_in_flight - backfill.count(DateState.PUBLISHED)
    for day in [d for d in backfill.dates if d.state is DateState.QUEUED][: max(0, room)]:
        if not tools.backfills.move(
            day.id, frm=DateState.QUEUED, to=DateState.PUBLISHED, published_at=now
        ):
            continue  # another process took it
        try:
            tools.pubsub.publish(
                config.trigger_topic,
                {
                    "target_date": day.game_date,
                    "trigger_source": "opsbot",
                    "correlation_id": day.correlation_id,
                    "run_aggregation": config.run_aggregation,
                },
                {"backfill_id": str(backfill.id), "requested_by": backfill.requested_by},
            )
        except PubSubError as exc:
            tools.backfills.move(
                day.id, frm=DateState.PUBLISHED, to=DateState.FAILED, detail=str(exc)
            )
    backfill = _get(tools, backfill_id)
    if all(d.state.ended for d in backfill.dates):
        ended = BackfillState.CANCELED if backfill.count(DateState.CANCELED) else BackfillState.DONE
        tools.backfills.set_state(backfill.id, ended, "opsbot", f"regrade.{ended.value}")
    else:
        tools.backfills.touch(backfill.id)
    return _get(tools, backfill_id)


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
            moved = tools.backfills.move(
                found.id,
                frm=DateState.PUBLISHED,
                to=DateState.FAILED,
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
            moved = tools.backfills.move(
                found.id,
                frm=DateState.PUBLISHED,
                to=DateState.DONE if success else DateState.FAILED,
                completed_at=tools.clock(),
                graded_count=graded,
                mae=mae,
                detail="" if success else _shown(error, MAX_DETAIL),
            )
        if moved:
            touched.append(tools.backfills.backfill_of(found.id))
    return sorted(set(touched))


def take_completions(profile: Profile, tools: RegradeTools) -> list[int]:
    """Pull what waits on the completion subscription, absorb it, acknowledge it."""
    subscription = profile.regrade.complete_subscription
    messages = tools.pubsub.pull(subscription)
    touched = absorb(tools, messages)
    tools.pubsub.acknowledge(subscription, [m.ack_id for m in messages])
    return touched


def cancel(tools: RegradeTools, backfill_id: int, actor: str) -> BackfillView:
    """Stop the dates not yet published; the published ones finish and are reported."""
    backfill = _get(tools, backfill_id)
    for day in backfill.dates:
        if day.state is DateState.QUEUED:
            tools.backfills.move(
                day.id, frm=DateState.QUEUED, to=DateState.CANCELED, detail=f"canceled by {actor}"
            )
    tools.backfills.record(actor, "regrade.cancel", backfill_id, {})
    return _get(tools, backfill_id)


def retry_failed(
    profile: Profile, tools: RegradeTools, backfill_id: int, requester: str
) -> tuple[BackfillView, bool]:
    """A new backfill of just the failed and timed-out dates of this one."""
    backfill = _get(tools, backfill_id)
    days = [
        date.fromisoformat(d.game_date)
        for d in backfill.dates
        if d.state in (DateState.FAILED, DateState.TIMED_OUT)
    ]
    if not days:
        raise RequestError(f"backfill #{backfill_id} has no failed or timed-out dates")
    from commands.regrade.plan import DatePlan

    plan = RegradePlan(
        days[0],
        days[-1],
        tuple(DatePlan(d, 0, 0, (), "regrade") for d in days),
        0,
        include_graded=True,
    )
    return submit(
        profile,
        tools,
        plan,
        requester,
        reason=f"retry of backfill #{backfill_id}",
        key=request_key(requester, plan, salt=f"retry:{backfill_id}"),
    )


def _get(tools: RegradeTools, backfill_id: int) -> BackfillView:
    found = tools.backfills.get(backfill_id)
    if found is None:
        raise RequestError(f"no backfill #{backfill_id}")
    return found


def _graded_on(profile: Profile, warehouse: Warehouse, day: str) -> int | str:
    try:
        rows = warehouse.run(
            Query(
                sql=bind_tables(
                    GRADED_ON, {"prediction_accuracy": profile.tables.prediction_accuracy}
                ),
                params={"day": date.fromisoformat(day)},
                tables=(profile.tables.prediction_accuracy,),
            )
        )
    except Exception as exc:  # the timeout is reported whatever BigQuery says
        return f"unknown ({exc})"
    return int(rows[0]["graded"]) if rows else 0


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
