"""The blocking half of /regrade's listeners: plan (a query and a dry run), then submit once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.deps import Deps
from bot.runtime import Runtime
from commands.errors import RequestError
from commands.regrade.engine import RegradeTools, request_key, submit
from commands.regrade.plan import RegradePlan, check_range, last_done, plan_regrade
from store.backfill_views import Place

if TYPE_CHECKING:
    from bot.listeners.regrade_modal import Form
    from bot.payloads import Submission


RECENT = 50  # the backfills looked at to say which one graded a date


class NothingToRegrade(RequestError):
    """Start on a plan that skips every date: the plan, to show why."""

    def __init__(self, plan: RegradePlan) -> None:
        super().__init__("nothing to regrade in this range: every date is skipped (see why)")
        self.plan = plan


@dataclass(frozen=True)
class Started:
    id: int
    created: bool  # False: this request had started it already (a retry, a double click)
    shown_in: str | None  # the channel its message is in (None: none, or not yet)
    place: Place | None  # where it was asked from (None: a terminal)


def today_of(runtime: Runtime) -> date:
    """The platform's game day now (ET): the first date that cannot be regraded yet."""
    now = runtime.platform().now
    return now.astimezone(ZoneInfo(runtime.profile.platform.game_timezone)).date()


def planned(
    runtime: Runtime, start: date, end: date, include_graded: bool
) -> tuple[RegradeTools, RegradePlan]:
    """The tools (opened on first use) and the plan of [start, end]; blocking."""
    # a range refused as it stands is refused before the tools open (that can take seconds)
    assert runtime.regrade_tools is not None, "wired only when the bot regrades"
    check_range(runtime.profile, start, end, today_of(runtime))
    tools = runtime.regrade_tools()
    warehouse = tools.warehouse
    plan = plan_regrade(
        runtime.profile,
        warehouse,
        start,
        end,
        today=today_of(runtime),
        include_graded=include_graded,
        in_flight=tools.backfills.in_flight,
        estimate=getattr(warehouse, "estimate", lambda query: 0),
        graded_by=lambda days: last_done(tools.backfills.recent(RECENT), days),
    )
    return tools, plan


async def begin(
    found: Deps,
    user: str,
    span: tuple[date, date, bool],
    *,
    reason: str,
    salt: str = "",
    channel: str | None = None,
    thread: str | None = None,
) -> Started:
    """Plan and submit the backfill (once per request key, recording where its message goes),
    arm its driver, then show it: where it can be followed."""
    runtime, tasks = found.runtime, found.backfills
    assert tasks is not None, "wired only when the bot regrades"
    start, end, include_graded = span
    place = Place(channel, thread) if channel else None

    def submitted() -> Started:
        tools, plan = planned(runtime, start, end, include_graded)
        if not plan.to_regrade:
            raise NothingToRegrade(plan)
        key = request_key(user, plan, salt=salt) if salt else None
        backfill, created = submit(
            runtime.profile, tools, plan, user, reason=reason, key=key, place=place
        )
        return Started(backfill.id, created, backfill.slack_channel, backfill.place)

    done = await asyncio.to_thread(submitted)
    if not done.created:  # its message is the first request's to post
        asked = done.place.channel if done.place else None
        return replace(done, shown_in=done.shown_in or asked)
    tasks.arm(done.id)  # driven to its end whatever happens to its message
    return replace(done, shown_in=await tasks.show(done.id))


async def started(
    found: Deps, submission: Submission, form: Form, *, channel: str | None, thread: str | None
) -> Started:
    """The backfill of a submitted modal: one per view, however often Slack sends it."""
    return await begin(
        found,
        submission.user.id,
        (form.start, form.end, form.include_graded),
        reason=form.reason or "/regrade in Slack",
        salt=submission.view.id,
        channel=channel,
        thread=thread,
    )
