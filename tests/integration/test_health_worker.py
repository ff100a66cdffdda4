"""/health built in a worker process: the same figures as in the bot's process, each check's
result streamed as it arrives, the report shown in Slack by the worker itself, and a worker that
dies or hangs never loses or wedges a report."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from functools import partial

import pytest

from bot.report_worker import ReportWorker
from bot.slack_clients import slack_api
from checks.result import CheckResult, HealthReport
from commands.health import run_health
from commands.health_worker import HealthJob
from config import Profile
from infra.worker_process import WorkerTimedOut
from opsbot.platform import attached_sandbox_platforms, sandbox_platforms
from sandbox.faults import BigQueryFaults, FaultPlan
from sandbox.platform import Sandbox

DAY = date(2026, 1, 28)  # the vegas regression: CRITICAL and WARN figures to compare
NO_SLACK = slack_api("xoxb-unused", "http://127.0.0.1:9/api/")  # report jobs never call Slack


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    # every query takes 0.3 s, so that a check's result is seen before the report ends
    with Sandbox(faults=FaultPlan(bigquery=BigQueryFaults(query_s=0.3))) as started:
        yield started


@pytest.fixture
def worker(sandbox: Sandbox, profile: Profile) -> Iterator[ReportWorker]:
    recipe = partial(attached_sandbox_platforms, profile, sandbox.address("sqlite://"))
    started = ReportWorker(
        profile, recipe, NO_SLACK, deadline_s=profile.health.check_timeout_s + 30
    )
    yield started
    started.stop()


def figures(report: HealthReport) -> list[CheckResult]:
    return [replace(result, duration_s=0.0) for result in report.results]


async def in_process(profile: Profile, sandbox: Sandbox) -> HealthReport:
    platform = sandbox_platforms(profile, sandbox)()
    return await run_health(
        profile,
        platform.warehouse,
        now=sandbox.now,
        as_of=DAY,
        drift_sources=platform.drift_sources,
    )


def test_the_worker_reports_what_the_bots_process_reports_result_by_result(
    worker: ReportWorker, profile: Profile, sandbox: Sandbox
) -> None:
    seen: list[str] = []
    built = asyncio.run(worker.report(HealthJob(DAY, sandbox.now), lambda r: seen.append(r.name)))
    expected = asyncio.run(in_process(profile, sandbox))
    assert figures(built) == figures(expected)
    assert built.as_of == DAY and (built.status, built.score) == (expected.status, expected.score)
    assert sorted(seen) == sorted(r.name for r in expected.results)  # each streamed as it came


def test_one_check_only_for_the_details_button(worker: ReportWorker, sandbox: Sandbox) -> None:
    built = asyncio.run(worker.report(HealthJob(DAY, sandbox.now, ["vegas_line_coverage"])))
    assert [r.name for r in built.results] == ["vegas_line_coverage"]


def test_a_worker_killed_mid_report_is_replaced_and_the_report_still_arrives(
    worker: ReportWorker, profile: Profile, sandbox: Sandbox
) -> None:
    worker.start()
    first = worker.pid
    assert first is not None
    killed: list[int] = []

    def kill_on_first_result(result: CheckResult) -> None:
        if not killed:
            os.kill(first, signal.SIGKILL)
            killed.append(first)

    built = asyncio.run(worker.report(HealthJob(DAY, sandbox.now), kill_on_first_result))
    assert killed and worker.pid not in (None, first)  # a new worker built the report again
    assert figures(built) == figures(asyncio.run(in_process(profile, sandbox)))


def test_a_worker_that_stops_answering_is_killed_and_the_report_says_so(
    sandbox: Sandbox, profile: Profile
) -> None:
    recipe = partial(attached_sandbox_platforms, profile, sandbox.address("sqlite://"))
    hung = ReportWorker(
        profile, recipe, NO_SLACK, deadline_s=0.5
    )  # shorter than one query (0.3 s each)
    try:
        hung.start()
        first = hung.pid
        with pytest.raises(WorkerTimedOut, match=r"did not answer within 0\.5s"):
            asyncio.run(hung.report(HealthJob(DAY, sandbox.now)))
        assert hung.pid is None  # killed; the next report starts a new one
        assert first is not None and not _alive(first)
    finally:
        hung.stop()


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
        os.kill(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        return False
    return True
