"""The health operation: run the profile's checks as of a game day and score the report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from adapters.warehouse import Warehouse
from checks.base import CheckContext
from checks.drift_model import DriftSources
from checks.registry import build_checks
from checks.result import CheckResult, HealthReport
from checks.runner import OnResult, run_checks
from commands.errors import RequestError
from config import Profile

if TYPE_CHECKING:
    from commands.health_causes.records import Records


def parse_game_date(text: str) -> date:
    """A game day typed by a person (YYYY-MM-DD), or a RequestError saying what is expected."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise RequestError(f"bad date {text!r}: expected YYYY-MM-DD, e.g. 2026-02-05") from None


def resolve_as_of(profile: Profile, now: datetime, as_of: date | None) -> date:
    """The game day to judge: today in the game timezone unless given; never in the future."""
    today = now.astimezone(ZoneInfo(profile.platform.game_timezone)).date()
    if as_of is None:
        return today
    if as_of > today:
        raise RequestError(
            f"date {as_of} is in the future (today is {today} ET); pick {today} or earlier"
        )
    return as_of


async def run_health(
    profile: Profile,
    warehouse: Warehouse,
    *,
    now: datetime,
    as_of: date | None = None,
    on_result: OnResult | None = None,
    drift_sources: Callable[[], DriftSources] | None = None,
    checks: list[str] | None = None,
    records: Records | None = None,
    causes: bool = True,
) -> HealthReport:
    """The profile's checks (or only `checks`) as of a game day, run in parallel and scored,
    each failing check with its likely causes (commands/health_causes; `records`: the store's,
    where there is one). `on_result` sees each check's result as it ends, before its causes."""
    started = time.perf_counter()
    ctx = CheckContext(
        as_of=resolve_as_of(profile, now, as_of),
        now=now,
        profile=profile,
        warehouse=warehouse,
        drift_sources=drift_sources,
    )
    from commands.health_causes.finder import CauseFinder  # not on the bot's ack path

    finder = CauseFinder(profile, ctx.as_of, now, drift_sources, records) if causes else None

    def ended(result: CheckResult) -> None:
        if finder is not None:
            finder.start(result)
        if on_result is not None:
            on_result(result)

    async def run(names: list[str]) -> HealthReport:
        return await run_checks(
            build_checks(profile, names), ctx, timeout_s=profile.health.check_timeout_s
        )

    report = await run_checks(
        build_checks(profile, checks),
        ctx,
        timeout_s=profile.health.check_timeout_s,
        on_result=ended,
    )
    if finder is None:
        return report
    report = await finder.finish(report, run)
    return replace(report, duration_s=time.perf_counter() - started)
