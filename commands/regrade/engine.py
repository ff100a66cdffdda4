"""Running a backfill: submit once, publish a few dates at a time, take completions, time out.

`pump` does what is due for one backfill (time out late dates, publish again what a dead process
left unconfirmed, publish queued ones up to `[regrade] max_in_flight`, end it when every date
has ended); `absorb` (commands/regrade/completions.py) takes completions pulled from (or pushed
by) Pub/Sub. Both are safe to
repeat and to run in two processes: each date moves conditionally, so a duplicate completion
counts once and a date is published once per claim.

A date is published in three steps: the intent is recorded (`publishing`, with the time of the
claim), the trigger is sent, and Pub/Sub's answer is recorded (`published`, with its message
id). A process killed between the first and the last leaves the date `publishing`: after
`[regrade] republish_after_s` (30 s: longer than a publish's own timeout, so a live publisher
answers first), whoever pumps the backfill claims it again and publishes it again. A second
trigger is harmless (grading replaces the date's rows); a missing one would leave the date
waiting out its timeout.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from adapters.pubsub import PubSub, PubSubError
from adapters.warehouse import Query, Warehouse, bind_tables
from commands.errors import RequestError
from commands.regrade.plan import RegradePlan
from config import Profile
from store.backfill_views import (
    OUT,
    BackfillDateView,
    BackfillState,
    BackfillView,
    DatesInFlight,
    DateState,
    Place,
)

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
    place: Place | None = None,
) -> tuple[BackfillView, bool]:
    """The backfill of the plan's regrade dates (True when this call made it), then published
    up to the in-flight limit; `place`: where its message belongs (None: a terminal's).
    RequestError for a refusal that changes nothing."""
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
            place=place,
        )
    except DatesInFlight as busy:
        raise RequestError(f"cannot start: {busy}") from None
    return pump(profile, tools, backfill.id), created


def pump(profile: Profile, tools: RegradeTools, backfill_id: int) -> BackfillView:
    """Time out late dates, publish again what was left unconfirmed, publish queued ones up to
    the limit, end the backfill when every date has ended."""
    backfill = _get(tools, backfill_id)
    if backfill.ended:
        return backfill
    now = tools.clock()
    _time_out(profile, tools, backfill, now)
    _publish_abandoned(profile, tools, _get(tools, backfill_id), now)
    _publish_queued(profile, tools, _get(tools, backfill_id), now)
    backfill = _get(tools, backfill_id)
    if all(d.state.ended for d in backfill.dates):
        ended = BackfillState.CANCELED if backfill.count(DateState.CANCELED) else BackfillState.DONE
        tools.backfills.set_state(backfill.id, ended, "opsbot", f"regrade.{ended.value}")
    else:
        tools.backfills.touch(backfill.id)  # the heartbeat other replicas read (unattended)
    return _get(tools, backfill_id)


def _publish_abandoned(
    profile: Profile, tools: RegradeTools, backfill: BackfillView, now: datetime
) -> None:
    """Claim again, and publish again, each date whose publish a dead process left unconfirmed."""
    after = timedelta(seconds=profile.regrade.republish_after_s)
    for day in backfill.dates:
        if _abandoned(day, now, after) and tools.backfills.move(
            day.id,
            frm=DateState.PUBLISHING,
            to=DateState.PUBLISHING,
            claimed_at=day.published_at,
            published_at=now,
        ):  # else another process claimed it again first
            log.warning("backfill #%s: publishing %s again", backfill.id, day.game_date)
            _publish(profile, tools, backfill, day, now)


def _publish_queued(
    profile: Profile, tools: RegradeTools, backfill: BackfillView, now: datetime
) -> None:
    """Claim and publish queued dates, up to `[regrade] max_in_flight` out at once."""
    room = profile.regrade.max_in_flight - backfill.count(*OUT)
    for day in [d for d in backfill.dates if d.state is DateState.QUEUED][: max(0, room)]:
        if tools.backfills.move(
            day.id, frm=DateState.QUEUED, to=DateState.PUBLISHING, published_at=now
        ):  # else another process claimed it
            _publish(profile, tools, backfill, day, now)


def _time_out(profile: Profile, tools: RegradeTools, backfill: BackfillView, now: datetime) -> None:
    """Published dates without a completion within `[regrade] date_timeout_min` time out."""
    minutes = profile.regrade.date_timeout_min
    for day in backfill.dates:
        if (
            day.state is DateState.PUBLISHED
            and day.published_at
            and now - day.published_at >= timedelta(minutes=minutes)
        ):
            graded = _graded_on(profile, tools.warehouse, day.game_date)
            tools.backfills.move(
                day.id,
                frm=DateState.PUBLISHED,
                to=DateState.TIMED_OUT,
                completed_at=now,
                detail=f"no completion within {minutes:g} min; "
                f"BigQuery shows {graded} graded rows for it",
            )


def _abandoned(day: BackfillDateView, now: datetime, after: timedelta) -> bool:
    """A publish claimed `after` ago or more: the adapter gives up on a publish after its
    timeout (10 s on the sandbox, [drift] cloud_run_timeout_s = 20 s in production) and a live
    publisher confirms or fails the claim right after, so its process died before it did."""
    return (
        day.state is DateState.PUBLISHING
        and day.published_at is not None
        and now - day.published_at >= after
    )


def _publish(
    profile: Profile,
    tools: RegradeTools,
    backfill: BackfillView,
    day: BackfillDateView,
    claimed_at: datetime,
) -> None:
    """Send the date's trigger (its publish claimed at `claimed_at`), then record Pub/Sub's
    answer: `published` with its message id, or `failed` with why."""
    config = profile.regrade
    try:
        message_id = tools.pubsub.publish(
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
            day.id,
            frm=DateState.PUBLISHING,
            to=DateState.FAILED,
            claimed_at=claimed_at,
            completed_at=tools.clock(),
            detail=str(exc),
        )
        return
    tools.backfills.move(  # not moved: its completion came first, or it was claimed again
        day.id,
        frm=DateState.PUBLISHING,
        to=DateState.PUBLISHED,
        claimed_at=claimed_at,
        published_at=tools.clock(),
        message_id=str(message_id)[:64],
    )


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
    profile: Profile,
    tools: RegradeTools,
    backfill_id: int,
    requester: str,
    place: Place | None = None,
) -> tuple[BackfillView, bool]:
    """A new backfill of just the failed and timed-out dates of this one (its message in
    `place`)."""
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
        place=place,
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
