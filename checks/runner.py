"""Runs checks concurrently, each with its own timeout; one failure never hides the others."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from adapters.errors import AdapterError
from checks.base import Check, CheckContext
from checks.result import CheckResult, HealthReport, Status
from infra.blocking import shared

log = logging.getLogger(__name__)

OnResult = Callable[[CheckResult], None]


def _in_daemon_thread(fn: Callable[[], Any]) -> asyncio.Future[Any]:
    """Run blocking work on the shared daemon threads, so a hung query never holds the process
    open."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(value: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def hand_over(value: Any, error: BaseException | None) -> None:
        try:
            loop.call_soon_threadsafe(settle, value, error)
        except RuntimeError:  # the loop has closed: the run ended (timed out) without this result
            log.debug("late result of an abandoned check dropped")

    def work() -> None:
        try:
            value = fn()
        except BaseException as exc:  # handed to the awaiting coroutine
            hand_over(None, exc)
        else:
            hand_over(value, None)

    shared().start(work)
    return future


def error_result(name: str, reason: str) -> CheckResult:
    return CheckResult(name=name, status=Status.ERROR, detail=reason)


async def _run_one(check: Check, ctx: CheckContext, timeout_s: float) -> CheckResult:
    started = time.perf_counter()
    try:
        data = await asyncio.wait_for(_in_daemon_thread(lambda: check.fetch(ctx)), timeout_s)
        result = check.evaluate(data, ctx)
    except TimeoutError:
        result = error_result(check.name, f"timed out after {timeout_s:g}s (check_timeout_s)")
    except AdapterError as exc:
        result = error_result(check.name, str(exc))
    except Exception as exc:
        log.exception("check %s failed", check.name)
        result = error_result(check.name, f"check failed: {type(exc).__name__}: {exc}")
    return replace(result, duration_s=time.perf_counter() - started)


async def run_checks(
    checks: Sequence[Check],
    ctx: CheckContext,
    *,
    timeout_s: float,
    on_result: OnResult | None = None,
) -> HealthReport:
    """All checks at once; `on_result` sees each result as it arrives (for live updates)."""
    started = time.perf_counter()

    async def run_and_report(check: Check) -> CheckResult:
        result = await _run_one(check, ctx, timeout_s)
        if on_result is not None:
            on_result(result)
        return result

    results = await asyncio.gather(*(run_and_report(check) for check in checks))
    return HealthReport(
        as_of=ctx.as_of, results=list(results), duration_s=time.perf_counter() - started
    )
