"""Grading backfills through the official Pub/Sub client, the emulator and the grading simulator.

Each test has a sandbox of its own: a backfill grades dates in its warehouse.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from adapters.bigquery import BigQueryWarehouse
from adapters.pubsub import PubSub, Received
from checks.result import Status
from commands.errors import RequestError
from commands.regrade.completions import absorb, take_completions
from commands.regrade.engine import RegradeTools, cancel, pump, submit
from commands.regrade.plan import RegradePlan, plan_regrade
from config import Profile
from opsbot.profile import load_profile
from sandbox.faults import FaultPlan, RegradeFaults
from sandbox.platform import Sandbox
from store.backfill_views import DateState
from store.backfills import Backfills
from store.database import Database
from store.location import sqlite_url
from store.states import IllegalMove
from tests.conftest import ROOT, run_health

TODAY = date(2026, 2, 5)
ONCALL, STRANGER = "U0DANAONCL", "U0NOBODY01"
UNGRADED = (date(2026, 1, 28), date(2026, 2, 3))


@dataclass
class World:
    sandbox: Sandbox
    profile: Profile
    tools: RegradeTools
    url: str

    def plan(self, start: date, end: date, include_graded: bool = False) -> RegradePlan:
        warehouse = self.tools.warehouse
        assert isinstance(warehouse, BigQueryWarehouse)
        return plan_regrade(
            self.profile,
            warehouse,
            start,
            end,
            today=TODAY,
            include_graded=include_graded,
            in_flight=self.tools.backfills.in_flight,
            estimate=warehouse.estimate,
        )

    def drive(self, backfill_id: int, rounds: int = 200) -> None:
        """Take completions and pump until the backfill ends (the grading runs on threads)."""
        for _ in range(rounds):
            take_completions(self.profile, self.tools)
            if pump(self.profile, self.tools, backfill_id).ended:
                return
            assert self.sandbox.pubsub is not None
            self.sandbox.pubsub.stopping.wait(0.05)  # bounded: the simulator's threads run
        raise AssertionError(f"backfill #{backfill_id} did not end")


def _world(
    tmp_path: Path, faults: RegradeFaults | None = None, **regrade: object
) -> Iterator[World]:
    shipped = load_profile(ROOT / "opsbot.toml")
    profile = shipped.model_copy(
        update={"regrade": shipped.regrade.model_copy(update=regrade)} if regrade else {}
    )
    plan = FaultPlan(cloud_run={"operation_s": 0}, regrade=faults or RegradeFaults())
    url = sqlite_url(tmp_path / "opsbot.db")
    with Sandbox(faults=plan) as running:
        database = Database.open(url)
        tools = RegradeTools(
            Backfills(database, running.clock),
            PubSub.connect(project="nba-props-platform", timeout_s=10, endpoint=running.pubsub_url),
            BigQueryWarehouse.from_profile(profile, endpoint=running.bigquery_url),
            running.clock,
        )
        try:
            yield World(running, profile, tools, url)
        finally:
            database.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from _world(tmp_path)


def test_the_plan_says_for_each_date_what_it_does_and_estimates_the_bytes(world: World) -> None:
    plan = world.plan(date(2026, 1, 27), date(2026, 2, 4))
    actions = {d.day: (d.action, d.reason) for d in plan.dates}
    assert actions[date(2026, 1, 27)][0] == "skip" and "fully graded" in str(
        actions[date(2026, 1, 27)][1]
    )
    assert plan.to_regrade == [UNGRADED[0] + timedelta(days=n) for n in range(7)]
    assert plan.estimate_bytes > 0
    graded = {m.model: m.graded_pct for m in plan.dates[1].models}
    assert graded["ensemble_v1"] == 0.0 and graded["catboost_v9"] == 100.0


@pytest.mark.parametrize(
    ("start", "end", "said"),
    [
        (date(2026, 2, 3), date(2026, 1, 28), "is after the end"),
        (date(2026, 2, 4), date(2026, 2, 6), "has not been played and graded yet"),
        (date(2025, 11, 1), date(2026, 1, 31), "more than [regrade] max_dates (62)"),
    ],
)
def test_a_bad_range_is_refused_saying_why(world: World, start: date, end: date, said: str) -> None:
    with pytest.raises(RequestError, match=re.escape(said)):
        world.plan(start, end)


def test_a_backfill_publishes_four_at_a_time_grades_every_date_and_health_recovers(
    world: World,
) -> None:
    backfill, created = submit(world.profile, world.tools, world.plan(*UNGRADED), ONCALL)
    assert (
        created
        and backfill.count(DateState.PUBLISHED) == 4
        and backfill.count(DateState.QUEUED) == 3
    )
    world.drive(backfill.id)
    ended = world.tools.backfills.get(backfill.id)
    assert ended is not None and ended.state == "done" and ended.count(DateState.DONE) == 7
    assert all(d.graded_count and d.mae for d in ended.dates)
    triggers = [m for topic, m in world.sandbox.pubsub.published if topic == "nba-grading-trigger"]  # type: ignore[union-attr]
    assert len(triggers) == 7  # each date once
    report = __import__("asyncio").run(run_health(world.profile, world.tools.warehouse, TODAY))
    grading = next(r for r in report.results if r.name == "grading_completeness")
    assert grading.status is Status.OK


def test_the_same_request_twice_makes_one_backfill_and_overlaps_are_refused(world: World) -> None:
    plan = world.plan(*UNGRADED)
    overlapping = world.plan(date(2026, 2, 1), date(2026, 2, 3))  # planned before it started
    first, _ = submit(world.profile, world.tools, plan, ONCALL)
    again, created = submit(world.profile, world.tools, plan, ONCALL)
    assert again.id == first.id and not created
    with pytest.raises(RequestError, match="already in flight in another backfill"):
        submit(world.profile, world.tools, overlapping, "U0SAMDEPLY")
    replanned = world.plan(date(2026, 2, 1), date(2026, 2, 3))
    assert {d.reason for d in replanned.dates} == {f"already in flight in backfill #{first.id}"}
    with pytest.raises(RequestError, match="regrader role"):
        submit(world.profile, world.tools, plan, STRANGER)
    assert len(world.tools.backfills.recent()) == 1


def test_the_same_request_at_once_from_many_threads_is_one_backfill_never_a_refusal(
    world: World, database: Database
) -> None:
    """A retried modal submission reaching two replicas at once: found by bench.regrade, where
    a submission that had looked for its key before the other committed was refused "already in
    flight in another backfill", naming its own backfill. On each kind of store."""
    plan = world.plan(*UNGRADED)
    tools = replace(world.tools, backfills=Backfills(database, world.sandbox.clock))
    everyone = threading.Barrier(24)

    def at_once(_: int) -> tuple[int, bool]:
        everyone.wait(timeout=10)
        made, created = submit(world.profile, tools, plan, ONCALL, key="one-request")
        return made.id, created

    with ThreadPoolExecutor(max_workers=24) as pool:
        answers = list(pool.map(at_once, range(24)))
    assert len({backfill_id for backfill_id, _ in answers}) == 1
    assert sum(created for _, created in answers) == 1
    assert len(tools.backfills.recent()) == 1


def test_cancel_stops_the_dates_not_yet_published_and_the_rest_finish(world: World) -> None:
    backfill, _ = submit(world.profile, world.tools, world.plan(*UNGRADED), ONCALL)
    canceled = cancel(world.tools, backfill.id, ONCALL)
    assert canceled.count(DateState.CANCELED) == 3 and canceled.count(DateState.PUBLISHED) == 4
    world.drive(backfill.id)
    ended = world.tools.backfills.get(backfill.id)
    assert ended is not None and ended.state == "canceled" and ended.count(DateState.DONE) == 4


def test_a_duplicate_completion_counts_once_and_an_unknown_one_is_ignored(tmp_path: Path) -> None:
    for world in _world(tmp_path, RegradeFaults(duplicate_completions=True)):
        backfill, _ = submit(
            world.profile, world.tools, world.plan(UNGRADED[0], UNGRADED[0]), ONCALL
        )
        world.drive(backfill.id)
        stray = Received("x", "1", {"correlation_id": "nobody's", "status": "success"}, {})
        assert absorb(world.tools, [stray]) == []
        ended = world.tools.backfills.get(backfill.id)
        assert ended is not None and [d.state for d in ended.dates] == ["done"]
        assert world.sandbox.pubsub is not None
        completions = [
            m for topic, m in world.sandbox.pubsub.published if topic == "nba-grading-complete"
        ]
        assert len(completions) == 2  # delivered twice, counted once


def test_a_failing_date_fails_and_a_silent_one_times_out_saying_what_bigquery_shows(
    tmp_path: Path,
) -> None:
    faults = RegradeFaults(fail_dates=["2026-01-28"], slow_dates=["2026-01-29"], slow_s=600)
    for world in _world(tmp_path, faults, date_timeout_min=0.001):
        backfill, _ = submit(
            world.profile,
            world.tools,
            world.plan(UNGRADED[0], UNGRADED[0] + timedelta(days=1)),
            ONCALL,
        )
        world.drive(backfill.id)
        ended = world.tools.backfills.get(backfill.id)
        assert ended is not None
        states = {d.game_date: d for d in ended.dates}
        assert (
            states["2026-01-28"].state == "failed" and "fault plan" in states["2026-01-28"].detail
        )
        assert states["2026-01-29"].state == "timed_out"
        assert "BigQuery shows" in states["2026-01-29"].detail


def test_a_restarted_process_resumes_the_backfill_from_the_store(world: World) -> None:
    backfill, _ = submit(world.profile, world.tools, world.plan(*UNGRADED), ONCALL)
    fresh = Database.open(world.url)  # the next process: its own connection, nothing else kept
    try:
        later = RegradeTools(
            Backfills(fresh, world.sandbox.clock),
            world.tools.pubsub,
            world.tools.warehouse,
            world.sandbox.clock,
        )
        resumed = World(world.sandbox, world.profile, later, world.url)
        resumed.drive(backfill.id)
        ended = later.backfills.get(backfill.id)
        assert ended is not None and ended.count(DateState.DONE) == 7
    finally:
        fresh.close()


# graded_count / mae as a broken or hostile completion sends them → what the date's detail says
UNREADABLE: list[tuple[dict[str, object], str]] = [
    ({"graded_count": float("nan")}, "graded_count is not finite"),
    ({"graded_count": 1e300}, "graded_count is out of range"),
    ({"graded_count": 2**70}, "graded_count is out of range"),
    ({"graded_count": "662"}, "graded_count is a str, not a number"),
    ({"graded_count": True}, "graded_count is a bool, not a number"),
    ({"graded_count": 662, "mae": float("inf")}, "mae is not finite"),
    ({"graded_count": 662, "mae": 1e300}, "mae is out of range"),
]


def test_a_completion_with_unreadable_numbers_fails_its_date_saying_why_and_stores_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """NaN, 1e300, 2**70, a string, a bool: never a crash (int(NaN) raised, 2**70 overflowed
    SQLite's INTEGER) and never stored; the date fails naming the field, logged once however
    often the completion is delivered."""
    days = [UNGRADED[0] + timedelta(days=n) for n in range(len(UNREADABLE))]
    silent = RegradeFaults(slow_dates=[d.isoformat() for d in days], slow_s=600)
    for world in _world(tmp_path, silent, max_in_flight=len(days)):
        backfill, _ = submit(world.profile, world.tools, world.plan(days[0], days[-1]), ONCALL)
        assert backfill.count(DateState.PUBLISHED) == len(days)
        completions = [
            Received(
                "x",
                str(n),
                {"correlation_id": day.correlation_id, "status": "success", "mae": 11.1} | numbers,
                {},
            )
            for n, (day, (numbers, _)) in enumerate(zip(backfill.dates, UNREADABLE, strict=True))
        ]
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="opsbot.regrade"):
            assert absorb(world.tools, completions) == [backfill.id]
            assert absorb(world.tools, completions) == []  # delivered again: nothing more
        ended = world.tools.backfills.get(backfill.id)
        assert ended is not None
        for day, (_, said) in zip(ended.dates, UNREADABLE, strict=True):
            assert day.state == "failed", day
            assert said in day.detail and day.graded_count is None and day.mae is None
        warned = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warned) == len(UNREADABLE)  # one line per completion, none for the repeats
        assert not any(r.exc_info for r in caplog.records)


def test_a_pulled_message_that_is_not_a_json_object_is_acknowledged_and_ignored(
    world: World,
) -> None:
    """A list, a string, not JSON, not UTF-8, nested past the parser: no date named, no crash
    (a list's `.get` raised), and acknowledged, so it is not pulled again."""
    assert world.sandbox.pubsub is not None
    topic = "nba-grading-complete"
    for data in (b"[1, 2]", b'"done"', b"not json", b"\xff\xfe", b"[" * 100_000, b"7"):
        world.sandbox.pubsub.publish(topic, data, {})
    assert take_completions(world.profile, world.tools) == []
    assert world.tools.pubsub.pull(world.profile.regrade.complete_subscription) == []


def test_a_backfill_date_never_makes_a_move_its_state_table_does_not_allow(
    tmp_path: Path,
) -> None:
    """Typed states: a done date is never published again, a queued one never done."""
    database = Database.open(sqlite_url(tmp_path / "opsbot.db"))
    try:
        backfills = Backfills(database, lambda: datetime(2026, 2, 5, tzinfo=UTC))
        made, _ = backfills.submit(
            request_key="k",
            requested_by="U0DANAONCL",
            reason="",
            include_graded=False,
            estimate_bytes=0,
            dates=["2026-01-28"],
        )
        day = made.dates[0].id
        with pytest.raises(IllegalMove, match="from queued to done"):
            backfills.move(day, frm=DateState.QUEUED, to=DateState.DONE)
        with pytest.raises(IllegalMove, match="from queued to published"):
            backfills.move(day, frm=DateState.QUEUED, to=DateState.PUBLISHED)  # intent first
        assert backfills.move(day, frm=DateState.QUEUED, to=DateState.PUBLISHING)
        assert backfills.move(day, frm=DateState.PUBLISHING, to=DateState.PUBLISHED)
        assert backfills.move(day, frm=DateState.PUBLISHED, to=DateState.DONE)
        with pytest.raises(IllegalMove, match="from done to published"):
            backfills.move(day, frm=DateState.DONE, to=DateState.PUBLISHED)
        found = backfills.get(made.id)
        assert found is not None and found.dates[0].state is DateState.DONE
    finally:
        database.close()
