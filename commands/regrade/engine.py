"""Running a backfill: submit once, publish a few dates at a time, take completions, time out.

`pump` does what is due for one backfill (time out late dates, publish queued ones up to
`[regrade] max_in_flight`, end it when every date has ended); `absorb` takes completions pulled
from (or pushed by) Pub/Sub. Both are safe to repeat and to run in two processes: each date moves
conditionally, so a duplicate completion counts once and a date is published once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from adapters.pubsub import PubSub, PubSubError, Received
from adapters.warehouse import Query, Warehouse, bind_tables
from commands.errors import RequestError
from commands.regrade.plan import RegradePlan
from config import Profile
from store.backfill_views import BackfillView, DatesInFlight

if TYPE_CHECKING:
    from store.backfills import Backfills

log = logging.getLogger("opsbot.regrade")
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
        if day.state == "published" and day.published_at and now - day.published_at >= limit:
            graded = _graded_on(profile, tools.warehouse, day.game_date)
            tools.backfills.move(
                day.id,
                frm="published",
                to="timed_out",
                completed_at=now,
                detail=f"no completion within {config.date_timeout_min:g} min; "
                f"BigQuery shows {graded} graded rows for it",
            )
    backfill = _get(tools, backfill_id)
    room = config.max_in_flight - backfill.count("published")
    for day in [d for d in backfill.dates if d.state == "queued"][: max(0, room)]:
        if not tools.backfills.move(day.id, frm="queued", to="published", published_at=now):
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
            tools.backfills.move(day.id, frm="published", to="failed", detail=str(exc))
    backfill = _get(tools, backfill_id)
    if all(d.state in ("done", "failed", "timed_out", "canceled") for d in backfill.dates):
        ended = "canceled" if backfill.count("canceled") else "done"
        tools.backfills.set_state(backfill.id, ended, "opsbot", f"regrade.{ended}")
    else:
        tools.backfills.touch(backfill.id)
    return _get(tools, backfill_id)


def absorb(tools: RegradeTools, messages: list[Received]) -> list[int]:
    """Completions (from a pull or a push): each date moved once; the backfills they touched."""
    touched: list[int] = []
    for message in messages:
        body = message.body
        found = tools.backfills.by_correlation(str(body.get("correlation_id", "")))
        if found is None:
            log.info(
                "completion for %s with an unknown correlation_id ignored",
                body.get("target_date"),
            )
            continue
        success = body.get("status") == "success"
        moved = tools.backfills.move(
            found.id,
            frm="published",
            to="done" if success else "failed",
            completed_at=tools.clock(),
            graded_count=_int(body.get("graded_count")),
            mae=_float(body.get("mae")),
            detail="" if success else str(body.get("error") or body.get("status") or "failed"),
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
        if day.state == "queued":
            tools.backfills.move(day.id, frm="queued", to="canceled", detail=f"canceled by {actor}")
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
        if d.state in ("failed", "timed_out")
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


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
