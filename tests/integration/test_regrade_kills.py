"""Backfills across kill -9: a process killed at a date's publish, and a driver that died for good
(issue 30, defect 2). The next process is a bot on the same store: it resumes at start-up, or
its watch loop takes the backfill over once the dead driver's lease has run out."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import NoReturn

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Access
from bot.regrade_tasks import RegradeTasks
from bot.runtime import Runtime
from commands.regrade.engine import RegradeTools, submit
from infra.once import Once
from store.backfill_views import BackfillView, DateState
from store.backfills import Backfills
from store.database import Database
from tests.conftest import ROOT
from tests.integration.test_regrade import ONCALL, UNGRADED, World, _world

DAYS = [(UNGRADED[0] + timedelta(days=n)).isoformat() for n in range(3)]
LATER = timedelta(minutes=1)  # the next process starts this long after the kills
# A process that pumps a backfill once and is killed with SIGKILL at its Nth publish: before
# the trigger is sent, or after Pub/Sub has it (before the answer is recorded). Its clock is
# the sandbox's time when it started (argv).
KILLED_AT_PUBLISH = """
import os, signal, sys
from datetime import datetime
from pathlib import Path
from typing import Any

from adapters.pubsub import PubSub
from commands.regrade.engine import RegradeTools, pump
from opsbot.profile import load_profile
from store.backfills import Backfills
from store.database import Database

url, endpoint, backfill_id, nth, when, now = sys.argv[1:7]
at = datetime.fromisoformat(now)
real = PubSub.connect(project="nba-props-platform", timeout_s=10, endpoint=endpoint)


class DiesAtPublish:
    calls = 0

    def publish(self, topic: str, body: dict[str, Any], attributes: dict[str, str]) -> str:
        self.calls += 1
        if self.calls == int(nth) and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        message_id = real.publish(topic, body, attributes)
        if self.calls == int(nth) and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return message_id


tools = RegradeTools(Backfills(Database.open(url), lambda: at), DiesAtPublish(), None, lambda: at)
pump(load_profile(Path("opsbot.toml")), tools, int(backfill_id))
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from _world(tmp_path, poll_s=0.05)


def _killed_at_publish(world: World, backfill_id: int, nth: int, when: str) -> None:
    """A process pumps the backfill and is killed with SIGKILL at its `nth` publish."""
    assert world.sandbox.pubsub is not None
    args = [world.url, world.sandbox.pubsub_url, str(backfill_id), str(nth), when]
    done = subprocess.run(
        [sys.executable, "-c", KILLED_AT_PUBLISH, *args, world.sandbox.clock().isoformat()],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-2000:]


def _triggers(world: World) -> Counter[str]:
    """Triggers Pub/Sub received, by date."""
    assert world.sandbox.pubsub is not None
    return Counter(
        json.loads(base64.b64decode(message["data"]))["target_date"]
        for topic, message in world.sandbox.pubsub.published
        if topic == world.profile.regrade.trigger_topic
    )


def no_platform() -> NoReturn:
    raise AssertionError("a backfill needs no platform view")


def _next_bot(world: World, clock: Callable[[], datetime]) -> tuple[RegradeTasks, Database]:
    """The bot that comes next: its own connection to the store, its own clock."""
    database = Database.open(world.url)
    tools = RegradeTools(
        Backfills(database, clock), world.tools.pubsub, world.tools.warehouse, clock
    )
    runtime = Runtime(
        world.profile,
        Access(world.profile.slack),
        no_platform,
        regrade_tools=Once(lambda: tools),
        backfill_store=lambda: tools.backfills,
    )
    return RegradeTasks(runtime, AsyncWebClient(token="xoxb-unused")), database


async def _driven_to_the_end(world: World, backfill_id: int) -> BackfillView:
    """The backfill once the task driving it here has ended it (bounded)."""
    [task] = [t for t in asyncio.all_tasks() if t.get_name() == f"backfill-{backfill_id}"]
    await asyncio.wait_for(task, timeout=30)
    ended = world.tools.backfills.get(backfill_id)
    assert ended is not None
    return ended


async def test_a_bot_started_after_kills_at_the_publish_publishes_every_date_once_more_at_most(
    world: World,
) -> None:
    """Killed before its second trigger left, then another killed after its trigger left but
    before recording it: before the fix the first date was recorded "published" with no
    trigger on Pub/Sub and the backfill waited out its timeout. Now the next bot publishes it
    (and the unconfirmed one, if its completion is not in yet), and every date ends done."""
    backfill, _ = world.tools.backfills.submit(
        request_key="killed",
        requested_by=ONCALL,
        reason="",
        include_graded=False,
        estimate_bytes=0,
        dates=DAYS,
    )
    _killed_at_publish(world, backfill.id, nth=2, when="before")
    _killed_at_publish(world, backfill.id, nth=1, when="after")
    assert _triggers(world) == {DAYS[0]: 1, DAYS[2]: 1}  # DAYS[1] never left
    bot, database = _next_bot(world, lambda: world.sandbox.clock() + LATER)
    try:
        assert await bot.resume() == [backfill.id]
        ended = await _driven_to_the_end(world, backfill.id)
    finally:
        database.close()
    assert [d.state for d in ended.dates] == [DateState.DONE] * 3, ended.dates
    sent = _triggers(world)
    assert sent[DAYS[0]] == 1 and sent[DAYS[1]] == 1  # killed before sending: sent once
    assert 1 <= sent[DAYS[2]] <= 2  # killed after sending: again only if not completed yet
    assert all(d.message_id for d in ended.dates[:2])  # Pub/Sub's answers, recorded


async def test_a_backfill_whose_driver_died_is_taken_over_after_its_lease(world: World) -> None:
    """A replica started a backfill and died for good: its dates said "already in flight in
    backfill #N" while nothing drove it. Another replica's watch loop takes it over once the
    dead driver's lease has run out (never while it holds one)."""
    plan = world.plan(UNGRADED[0], UNGRADED[0] + timedelta(days=5))
    left, _ = submit(world.profile, world.tools, plan, ONCALL)  # then its process died
    shift = [timedelta(0)]
    bot, database = _next_bot(world, lambda: world.sandbox.clock() + shift[0])
    try:
        assert await bot.adopt_unattended() == []  # its driver's lease still holds
        held = world.plan(UNGRADED[0], UNGRADED[0])
        assert held.dates[0].reason == f"already in flight in backfill #{left.id}"
        shift[0] = bot.lease
        assert await bot.adopt_unattended() == [left.id]
        assert bot.driver(left.id) is not None  # what holds the dates is driven again
        ended = await _driven_to_the_end(world, left.id)
    finally:
        database.close()
    assert ended.count(DateState.DONE) == 6
    assert world.plan(UNGRADED[0], UNGRADED[0]).dates[0].reason != held.dates[0].reason


# The shipped profile's windows, and a deployment's own (the backfill soak's replicas run short
# ones: bench/chaos_backfill_replica.py): its [regrade] settings, and the window in seconds
LEASES = [({}, 60.0), ({"driver_lease_s": 10.0}, 10.0)]
REPUBLISH = [({}, 30.0), ({"republish_after_s": 12.0}, 12.0)]


@pytest.fixture
def windowed(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[World]:
    yield from _world(tmp_path, poll_s=0.05, **request.param)


@pytest.mark.parametrize(
    ("windowed", "lease_s"), LEASES, ids=["shipped", "short"], indirect=["windowed"]
)
async def test_a_dead_drivers_backfill_is_taken_over_after_the_deployments_driver_lease(
    windowed: World, lease_s: float
) -> None:
    """`[regrade] driver_lease_s`: the backfill of a driver that died is left alone while its
    lease holds and taken over once it has run out: 60 s as shipped, 10 s where a deployment
    says so (before, 60 s whatever the profile said)."""
    world = windowed
    plan = world.plan(UNGRADED[0], UNGRADED[0] + timedelta(days=2))
    left, _ = submit(world.profile, world.tools, plan, ONCALL)  # then its process died
    silent = [timedelta(seconds=lease_s - 1)]
    bot, database = _next_bot(world, lambda: left.updated_at + silent[0])
    try:
        assert await bot.adopt_unattended() == []
        silent[0] = timedelta(seconds=lease_s + 1)
        assert await bot.adopt_unattended() == [left.id]
        await _driven_to_the_end(world, left.id)
    finally:
        database.close()


@pytest.mark.parametrize(
    ("windowed", "after_s"), REPUBLISH, ids=["shipped", "short"], indirect=["windowed"]
)
def test_a_date_a_killed_process_left_unconfirmed_is_sent_again_after_the_deployments_window(
    windowed: World, after_s: float
) -> None:
    """`[regrade] republish_after_s`: a process killed after its trigger left, before it
    recorded Pub/Sub's answer; whoever pumps the backfill next sends that date again once the
    window has passed since the claim, not before: 30 s as shipped, 12 s where a deployment
    says so (before, 30 s whatever the profile said)."""
    from commands.regrade.engine import pump

    world = windowed
    backfill, _ = world.tools.backfills.submit(
        request_key="unconfirmed",
        requested_by=ONCALL,
        reason="",
        include_graded=False,
        estimate_bytes=0,
        dates=DAYS[:1],
    )
    _killed_at_publish(world, backfill.id, nth=1, when="after")
    left = world.tools.backfills.get(backfill.id)
    assert left is not None and left.dates[0].state is DateState.PUBLISHING
    claimed = left.dates[0].published_at
    assert claimed is not None
    for waited, sent in ((after_s - 1, 1), (after_s, 2)):
        at = claimed + timedelta(seconds=waited)
        database = Database.open(world.url)
        clock = _fixed(at)
        tools = RegradeTools(
            Backfills(database, clock), world.tools.pubsub, world.tools.warehouse, clock
        )
        try:
            pump(world.profile, tools, backfill.id)
        finally:
            database.close()
        assert _triggers(world)[DAYS[0]] == sent, f"{waited:g} s after the claim"


def _fixed(at: datetime) -> Callable[[], datetime]:
    return lambda: at
