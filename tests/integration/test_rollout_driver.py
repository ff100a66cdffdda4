"""Rollouts driven on schedule, and picked up by a new process on the same store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from commands.deploy.abort import abort_rollout
from commands.deploy.checklist import prepare
from commands.deploy.driver import Tick, active_rollouts, tick
from commands.deploy.lifecycle import begin, promote, start_canary
from commands.deploy.verdict import Verdict
from store.database import Database
from store.location import sqlite_url
from store.rollouts import Store
from store.states import RolloutState
from tests.integration.deploy_world import DeployWorld, deploy_profile

PROFILE = deploy_profile(watch_minutes=10)
DEPLOYER, APPROVER = "U0SAMDEPLY", "U0LEEAPPRV"
STABLE = "alpha-00001-aaa"


def _start(world: DeployWorld, subject: str) -> int:
    checklist = prepare(PROFILE, world.tools, "alpha", world.sha[subject])
    rollout = begin(PROFILE, world.tools, checklist, DEPLOYER)
    start_canary(PROFILE, world.tools, rollout.id, DEPLOYER)
    return rollout.id


def test_nothing_happens_before_the_interval(world: DeployWorld) -> None:
    rollout_id = _start(world, "alpha: faster features")
    world.advance(120)
    result = tick(PROFILE, world.tools, rollout_id)
    assert result is not None and result.tick is Tick.WAITING
    assert [e.action for e in world.tools.store.audit_log(rollout_id)] == [
        "deploy.begin",
        "deploy.start",
        "deploy.revision.creating",
        "deploy.revision.ready",
    ]


def test_a_new_process_on_the_same_store_resumes_and_finishes_the_rollout(
    world: DeployWorld, tmp_path: Path
) -> None:
    rollout_id = _start(world, "alpha: faster features")
    world.advance(300)
    assert tick(PROFILE, world.tools, rollout_id).tick is Tick.ANALYSED  # type: ignore[union-attr]
    # the first process dies (kill -9): nothing of it survives but the store
    fresh = Database.open(sqlite_url(tmp_path / "opsbot.db"))
    try:
        tools = replace(world.tools, store=Store(fresh, world.tools.clock))
        assert [r.id for r in active_rollouts(tools)] == [rollout_id]
        assert promote(PROFILE, tools, rollout_id, APPROVER, to_full=True) is not None
        world.advance(300)
        assert tick(PROFILE, tools, rollout_id).tick is Tick.ANALYSED  # type: ignore[union-attr]
        world.advance(300)
        finished = tick(PROFILE, tools, rollout_id)
        assert finished is not None and finished.tick is Tick.COMPLETED
        assert finished.rollout.state == RolloutState.COMPLETE and active_rollouts(tools) == []
        canary = finished.rollout.canary_revision
        assert world.serving() == [(canary, 100)]
    finally:
        fresh.close()


def test_a_bad_canary_driven_on_schedule_rolls_back_on_the_second_failure(
    world: DeployWorld,
) -> None:
    rollout_id = _start(world, "alpha: bad refactor")
    world.advance(300)
    assert tick(PROFILE, world.tools, rollout_id).tick is Tick.ANALYSED  # type: ignore[union-attr]
    world.advance(300)
    result = tick(PROFILE, world.tools, rollout_id)
    assert result is not None and result.tick is Tick.ROLLED_BACK
    assert world.serving() == [(STABLE, 100)]


def test_an_unapproved_canary_expires_and_rolls_back_saying_so(world: DeployWorld) -> None:
    rollout_id = _start(world, "alpha: faster features")
    world.advance(4 * 3600)
    result = tick(PROFILE, world.tools, rollout_id)
    assert result is not None and result.tick is Tick.EXPIRED
    assert result.rollout.reason == "approval expired: not promoted within 4 h"
    assert world.serving() == [(STABLE, 100)]


def test_an_analysis_without_enough_requests_waits_a_full_interval_before_the_next(
    world: DeployWorld,
) -> None:
    """A quiet canary is judged once an interval, never in a loop against Cloud Monitoring."""
    quiet = deploy_profile(min_requests=100_000)
    checklist = prepare(quiet, world.tools, "alpha", world.sha["alpha: faster features"])
    rollout = begin(quiet, world.tools, checklist, DEPLOYER)
    start_canary(quiet, world.tools, rollout.id, DEPLOYER)
    world.advance(300)
    first = tick(quiet, world.tools, rollout.id)
    assert first is not None and first.outcome is not None
    assert first.outcome.analysis.verdict is Verdict.INSUFFICIENT
    again = tick(quiet, world.tools, rollout.id)
    assert again is not None and again.tick is Tick.WAITING
    world.advance(300)
    later = tick(quiet, world.tools, rollout.id)
    assert later is not None and later.tick is Tick.ANALYSED


def test_a_rollback_cloud_run_keeps_refusing_is_retried_each_interval_without_failing_a_tick(
    world: DeployWorld,
) -> None:
    """Found by the chaos soak (seeds 1 and 3): a rollback whose restore Cloud Run refused failed each later
    tick with a traceback and was tried again 50 ms later, hammering a refusing API."""
    rollout_id = _start(world, "alpha: faster features")
    world.cloud_run.refuse_writes = 3  # this rollback, and the next two tries
    claimed = abort_rollout(
        world.tools.cloud_run, world.tools.store, rollout_id, APPROVER, "by hand"
    )
    assert claimed is not None and claimed.state is RolloutState.ROLLING_BACK
    world.advance(PROFILE.deploy.interval_s)
    for _ in range(2):
        refused = tick(PROFILE, world.tools, rollout_id)
        assert refused is not None and refused.tick is Tick.WAITING
        assert refused.retry_after_s == PROFILE.deploy.interval_s  # not at once
    assert world.serving()[0] == (STABLE, 90)  # nothing moved yet
    restored = tick(PROFILE, world.tools, rollout_id)
    assert restored is not None and restored.tick is Tick.ROLLED_BACK
    assert world.serving() == [(STABLE, 100)]
    actions = [e.action for e in world.tools.store.audit_log(rollout_id)]
    assert actions.count("deploy.restore.failed") == 3 and actions[-1] == "deploy.restored"


def test_a_tick_that_cannot_read_cloud_run_still_analyses_but_never_completes_unverified(
    world: DeployWorld,
) -> None:
    rollout_id = _start(world, "alpha: faster features")
    world.advance(300)
    assert tick(PROFILE, world.tools, rollout_id).tick is Tick.ANALYSED  # type: ignore[union-attr]
    assert promote(PROFILE, world.tools, rollout_id, APPROVER, to_full=True) is not None
    world.advance(300)
    assert tick(PROFILE, world.tools, rollout_id).tick is Tick.ANALYSED  # type: ignore[union-attr]
    world.advance(300)  # the watch is over, but Cloud Run cannot be read this tick
    world.cloud_run.refuse_reads = 1
    unverified = tick(PROFILE, world.tools, rollout_id)
    assert unverified is not None and unverified.tick is Tick.ANALYSED
    assert unverified.rollout.state is RolloutState.WATCH
    world.advance(300)
    finished = tick(PROFILE, world.tools, rollout_id)
    assert finished is not None and finished.tick is Tick.COMPLETED
