"""The blocking half of /regrade's listeners: plan (a query and a dry run), then submit once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.deps import Deps
from bot.runtime import Runtime
from commands.regrade.engine import RegradeTools, request_key, submit
from commands.regrade.plan import RegradePlan, plan_regrade

if TYPE_CHECKING:
    from bot.listeners.regrade_modal import Form
    from bot.payloads import Submission


@dataclass(frozen=True)
class Started:
    id: int
    created: bool  # False: this request had started it already (a retry, a double click)


def today_of(runtime: Runtime) -> date:
    """The platform's game day now (ET): the first date that cannot be regraded yet."""
    now = runtime.platform().now
    return now.astimezone(ZoneInfo(runtime.profile.platform.game_timezone)).date()


def planned(
    runtime: Runtime, start: date, end: date, include_graded: bool
) -> tuple[RegradeTools, RegradePlan]:
    """The tools (opened on first use) and the plan of [start, end]; blocking."""
    assert runtime.regrade_tools is not None, "wired only when the bot regrades"
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
    """Plan and submit the backfill (once per request key), arm its driver, then show it."""
    runtime, tasks = found.runtime, found.backfills
    assert tasks is not None, "wired only when the bot regrades"
    start, end, include_graded = span

    def submitted() -> Started:
        tools, plan = planned(runtime, start, end, include_graded)
        key = request_key(user, plan, salt=salt) if salt else None
        backfill, created = submit(runtime.profile, tools, plan, user, reason=reason, key=key)
        return Started(backfill.id, created)

    done = await asyncio.to_thread(submitted)
    if done.created:
        tasks.arm(done.id)  # driven to its end whatever happens to its message
        await tasks.show(done.id, channel=channel, thread=thread)
    return done


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
