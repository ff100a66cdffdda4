"""A process killed between claiming a step in the store and making it in Cloud Run.

The claim is the intent: the next process (a fresh store connection, nothing else kept) carries
it out, so traffic always matches a rollout someone owns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest

from adapters.cloudrun import CloudRun
from commands.deploy.abort import abort_rollout
from commands.deploy.checklist import prepare
from commands.deploy.driver import Tick, reconcile, tick
from commands.deploy.lifecycle import begin, canary_revision_name, promote, start_canary
from commands.deploy.tools import DeployTools
from store.database import Database
from store.location import sqlite_url
from store.rollouts import Store
from store.states import RolloutState, Seen
from tests.integration.deploy_world import DeployWorld, deploy_profile

PROFILE = deploy_profile()
DEPLOYER, APPROVER = "U0SAMDEPLY", "U0LEEAPPRV"
STABLE = "alpha-00001-aaa"


@pytest.fixture
def next_process(world: DeployWorld, tmp_path: Path) -> Iterator[DeployTools]:
    """The process after the kill: the same platform, its own connection to the store."""
    fresh = Database.open(sqlite_url(tmp_path / "opsbot.db"))
    yield replace(world.tools, store=Store(fresh, world.tools.clock))
    fresh.close()


def _begun(world: DeployWorld, subject: str = "alpha: faster features") -> int:
    checklist = prepare(PROFILE, world.tools, "alpha", world.sha[subject])
    return begin(PROFILE, world.tools, checklist, DEPLOYER).id


def _started(world: DeployWorld, subject: str = "alpha: faster features") -> int:
    rollout_id = _begun(world, subject)
    assert start_canary(PROFILE, world.tools, rollout_id, DEPLOYER) is not None
    return rollout_id


def _claim(world: DeployWorld, rollout_id: int, to: RolloutState, **changes: Any) -> None:
    """What the killed process committed before it died: the store's side of a step only."""
    rollout = world.tools.store.get(rollout_id)
    assert rollout is not None
    assert world.tools.store.transition(
        Seen.of(rollout), to=to, actor=APPROVER, action="claimed", **changes
    )


def test_killed_after_claiming_the_start_the_canary_is_created_and_gets_its_step(
    world: DeployWorld, next_process: DeployTools
) -> None:
    rollout_id = _begun(world)
    rollout = world.tools.store.get(rollout_id)
    assert rollout is not None
    canary = canary_revision_name(rollout)
    _claim(world, rollout_id, RolloutState.CANARY, canary_revision=canary, step=0)
    assert world.serving() == [(STABLE, 100)]  # nothing happened in Cloud Run

    reconcile(PROFILE, next_process, rollout_id)
    assert world.serving() == [(STABLE, 90), (canary, 10)]
    [entry] = [
        e for e in next_process.store.audit_log(rollout_id) if e.action == "deploy.reconcile"
    ]
    assert entry.arguments["was"] == {STABLE: 100}
    assert entry.arguments["set"] == {STABLE: 90, canary: 10}


def test_killed_after_claiming_a_promotion_the_recorded_step_is_routed_once(
    world: DeployWorld, next_process: DeployTools
) -> None:
    rollout_id = _started(world)
    canary = world.serving()[1][0]
    _claim(world, rollout_id, RolloutState.CANARY, step=1)
    assert world.serving() == [(STABLE, 90), (canary, 10)]

    reconcile(PROFILE, next_process, rollout_id)
    reconcile(PROFILE, next_process, rollout_id)  # already matching: nothing more
    assert sorted(world.serving()) == sorted([(STABLE, 50), (canary, 50)])
    audit = [e.action for e in next_process.store.audit_log(rollout_id)]
    assert audit.count("deploy.reconcile") == 1


def test_killed_after_claiming_a_rollback_the_next_process_restores_the_stable_revision(
    world: DeployWorld, next_process: DeployTools
) -> None:
    rollout_id = _started(world)
    _claim(
        world,
        rollout_id,
        RolloutState.ROLLING_BACK,
        ending=RolloutState.ROLLED_BACK.value,
        reason="rolled back by hand",
    )
    assert len(world.serving()) == 2 and next_process.store.lock_holder("alpha") == rollout_id

    ended = reconcile(PROFILE, next_process, rollout_id)
    assert ended is not None and ended.state == RolloutState.ROLLED_BACK
    assert world.serving() == [(STABLE, 100)]
    assert next_process.store.lock_holder("alpha") is None  # the service is free again


def test_a_refused_restore_stays_rolling_back_and_the_driver_finishes_it(
    world: DeployWorld,
) -> None:
    rollout_id = _started(world, "alpha: bad refactor")
    world.cloud_run.refuse_writes = 1
    pending = abort_rollout(world.tools.cloud_run, world.tools.store, rollout_id, DEPLOYER, "x")
    assert pending is not None and pending.state == RolloutState.ROLLING_BACK
    assert len(world.serving()) == 2  # Cloud Run said no: still split, still owned
    assert world.tools.store.lock_holder("alpha") == rollout_id
    assert "deploy.restore.failed" in [e.action for e in world.tools.store.audit_log(rollout_id)]
    assert (
        abort_rollout(world.tools.cloud_run, world.tools.store, rollout_id, APPROVER, "y") is None
    )

    routes = world.cloud_run_writes()
    soon = tick(PROFILE, world.tools, rollout_id)  # the claimant may still be moving traffic
    assert soon is not None and soon.tick is Tick.WAITING and world.cloud_run_writes() == routes
    world.advance(PROFILE.deploy.interval_s)  # an interval later it is stuck: finish it
    done = tick(PROFILE, world.tools, rollout_id)
    assert done is not None and done.tick is Tick.ROLLED_BACK
    assert done.rollout.state == RolloutState.ROLLED_BACK and world.serving() == [(STABLE, 100)]


class _Overtaken:
    """Cloud Run whose next traffic change is preceded by another replica's action on the rollout
    (its claim and its route), so the change lands after it; records what was served after each
    change."""

    def __init__(self, world: DeployWorld, other_replica: Callable[[], object]) -> None:
        self.real, self.world, self.other_replica = world.tools.cloud_run, world, other_replica
        self.armed = True
        self.served: list[list[tuple[str, int]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def route(self, service: str, split: Any, unless: Any = None) -> Any:
        if self.armed:
            self.armed = False
            self.other_replica()
        routed = self.real.route(service, split, unless=unless)
        self.served.append(self.world.serving())  # what the service's users were served then
        return routed


def _rolled_back_first(world: DeployWorld, rollout_id: int) -> _Overtaken:
    def roll_back() -> None:
        tools = world.tools
        assert abort_rollout(tools.cloud_run, tools.store, rollout_id, APPROVER, "by hand")

    return _Overtaken(world, roll_back)


def test_a_promotion_routed_after_a_rollback_landed_puts_the_stable_revision_back(
    world: DeployWorld,
) -> None:
    """Found by the chaos soak (seed 5): a step's traffic change that lands after another
    replica's rollback must not leave the canary's split behind a rolled-back rollout."""
    rollout_id = _started(world)
    world.advance(PROFILE.deploy.interval_s)
    assert tick(PROFILE, world.tools, rollout_id).tick is Tick.ANALYSED  # type: ignore[union-attr]
    first = _rolled_back_first(world, rollout_id)
    racing = replace(world.tools, cloud_run=cast(CloudRun, first))
    promote(PROFILE, racing, rollout_id, APPROVER)
    ended = world.tools.store.get(rollout_id)
    assert ended is not None and ended.state is RolloutState.ROLLED_BACK
    assert world.serving() == [(STABLE, 100)]
    # not even for a moment is the 50% split served after the rollback (a window the chaos
    # soak's seed 8 pointed to): the promotion asks the store between reading and writing
    assert all(served == [(STABLE, 100)] for served in first.served)


def test_a_restart_reconciling_a_rollout_rolled_back_meanwhile_leaves_traffic_on_stable(
    world: DeployWorld, next_process: DeployTools
) -> None:
    """Found by the chaos soak (seed 5): a restarted replica read the rollout, the other rolled
    it back, and the reconcile routed the old 90/10 split over the rollback."""
    rollout_id = _started(world)
    _claim(world, rollout_id, RolloutState.CANARY, step=1)  # killed before routing 50%

    class ReadThenRolledBack(Store):
        """The store as the restarted process sees it: its first read comes just before the
        other replica's rollback."""

        reads = 0

        def get(self, rollout_id: int) -> Any:
            found = super().get(rollout_id)
            ReadThenRolledBack.reads += 1
            if ReadThenRolledBack.reads == 1:
                tools = world.tools
                assert abort_rollout(tools.cloud_run, tools.store, rollout_id, APPROVER, "by hand")
            return found

    racing = replace(
        next_process, store=ReadThenRolledBack(next_process.store.database, world.tools.clock)
    )
    reconcile(PROFILE, racing, rollout_id)
    assert world.serving() == [(STABLE, 100)]
    ended = world.tools.store.get(rollout_id)
    assert ended is not None and ended.state is RolloutState.ROLLED_BACK
    assert "deploy.reconcile" not in [e.action for e in world.tools.store.audit_log(rollout_id)]


def test_a_restart_reconciling_a_step_overtaken_by_a_later_one_writes_nothing(
    world: DeployWorld, next_process: DeployTools
) -> None:
    """Chaos soak (seed 5 on bc2f630): a claimed step whose write came after a later step's must
    not put the earlier split back; the step asks the store between reading and writing."""
    rollout_id = _started(world)
    _claim(world, rollout_id, RolloutState.CANARY, step=1, passed_step=1)  # killed before routing
    promoted_first = _Overtaken(world, lambda: promote(PROFILE, world.tools, rollout_id, APPROVER))
    racing = replace(next_process, cloud_run=cast(CloudRun, promoted_first))
    reconcile(PROFILE, racing, rollout_id)
    moved = world.tools.store.get(rollout_id)
    assert moved is not None and moved.step == 2
    canary = canary_revision_name(moved)
    later = dict(world.serving())
    assert later.get(canary, 0) == PROFILE.deploy.steps[2]  # the later step's split stands


def test_a_step_claimed_by_a_killed_replica_is_routed_by_the_other_before_it_completes(
    world: DeployWorld,
) -> None:
    """Found by the chaos soak (seed 5): the replica that claimed 100% was killed before writing
    it; the other replica's driver watched and completed the rollout with 50/50 still served, a
    split nobody owned, for good. A tick now first checks that Cloud Run is routed as recorded,
    and carries out a claim its writer left for an interval."""
    rollout_id = _started(world)
    canary = world.serving()[1][0]
    last = len(PROFILE.deploy.steps) - 1
    _claim(world, rollout_id, RolloutState.WATCH, step=last, step_started_at=world.clock[0])
    seen: list[tuple[RolloutState, list[tuple[str, int]]]] = []
    for _ in range(12):  # the watch (30 min) and then some, a tick each interval
        world.advance(PROFILE.deploy.interval_s)
        tick(PROFILE, world.tools, rollout_id)
        rollout = world.tools.store.get(rollout_id)
        assert rollout is not None
        seen.append((rollout.state, world.serving()))
    assert seen[0] == (RolloutState.WATCH, [(canary, 100)])  # routed an interval after the claim
    assert seen[-1] == (RolloutState.COMPLETE, [(canary, 100)])
    assert all(served == [(canary, 100)] for state, served in seen if state.terminal)
    reconciled = [e for e in world.tools.store.audit_log(rollout_id) if "reconcile" in e.action]
    assert [e.arguments["set"] for e in reconciled] == [{canary: 100}]
