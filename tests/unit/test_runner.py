"""Checks run concurrently; one that raises or hangs is ERROR and the others still report."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from adapters.warehouse import WarehouseError
from checks.base import CheckContext
from checks.result import CheckResult, Overall, Status
from checks.runner import run_checks
from tests.unit.doubles import context


class Fixed:
    def __init__(self, name: str, status: Status, fetch: Any = None) -> None:
        self.name, self._status, self._fetch = name, status, fetch

    def fetch(self, ctx: CheckContext) -> Any:
        return self._fetch() if self._fetch else None

    def evaluate(self, data: Any, ctx: CheckContext) -> CheckResult:
        return CheckResult(name=self.name, status=self._status, detail="fine")


@pytest.fixture
def ctx() -> CheckContext:
    return context()


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # let the abandoned worker finish


async def test_a_raising_check_is_error_with_its_reason_and_the_rest_are_reported(
    ctx: CheckContext,
) -> None:
    def broken() -> None:
        raise WarehouseError("not found while reading nba_raw.bigdataball_play_by_play: gone")

    checks = [Fixed("a", Status.OK), Fixed("b", Status.OK, broken), Fixed("c", Status.WARN)]
    report = await run_checks(checks, ctx, timeout_s=5)
    by_name = {r.name: r for r in report.results}
    assert by_name["b"].status is Status.ERROR
    assert "nba_raw.bigdataball_play_by_play" in by_name["b"].detail
    assert by_name["a"].status is Status.OK and by_name["c"].status is Status.WARN
    assert report.score == 33.3  # 1 of 3 passed: under 50 is CRITICAL
    assert report.status is Overall.CRITICAL


async def test_a_bug_in_a_check_is_error_not_a_crash(ctx: CheckContext) -> None:
    checks = [Fixed("a", Status.OK), Fixed("b", Status.OK, lambda: 1 / 0)]
    report = await run_checks(checks, ctx, timeout_s=5)
    assert [r.status for r in report.results] == [Status.OK, Status.ERROR]
    assert "ZeroDivisionError" in report.results[1].detail


async def test_a_hung_check_times_out_while_the_others_finish(
    ctx: CheckContext, release: threading.Event
) -> None:
    seen: list[str] = []
    checks = [Fixed("hung", Status.OK, lambda: release.wait(30)), Fixed("quick", Status.OK)]
    report = await run_checks(checks, ctx, timeout_s=1.0, on_result=lambda r: seen.append(r.name))
    hung, quick = report.results
    assert hung.status is Status.ERROR and "timed out after 1s" in hung.detail
    assert quick.status is Status.OK
    assert seen == ["quick", "hung"]  # results stream in as they arrive
