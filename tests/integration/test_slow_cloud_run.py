"""Cloud Run as it is in production: writes that take minutes, and other people's writes racing ours.

Revision creation is a long-running operation (image pull, start-up, health checks). The emulator
answers `done: false` for `operation_s`; opsbot records the operation, polls it on each driver
tick and moves traffic only once the revision is ready. A stale etag is refused (409 ABORTED),
and opsbot never overwrites a change it did not see.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from adapters.cloudrun_model import TrafficShare
from commands.deploy.abort import restore_stable
from commands.deploy.checklist import prepare
from commands.deploy.driver import Tick, reconcile, tick
from commands.deploy.lifecycle import begin, promote, start_canary
from commands.deploy.tools import DeployTools
from store.database import Database
from store.location import sqlite_url
from store.rollouts import Store
from store.states import RolloutState
from store.views import RolloutView
from tests.integration.deploy_world import REGISTRY, DeployWorld, deploy_profile

PROFILE = deploy_profile(revision_ready_timeout_s=600, operation_poll_s=5)
DEPLOYER, APPROVER = "U0SAMDEPLY", "U0LEEAPPRV"
STABLE = "alpha-00001-aaa"


def _started(world: DeployWorld, subject: str = "alpha: faster features") -> int:
    checklist = prepare(PROFILE, world.tools, "alpha", world.sha[subject])
    rollout = begin(PROFILE, world.tools, checklist, DEPLOYER)
    assert start_canary(PROFILE, world.tools, rollout.id, DEPLOYER) is not None
    return rollout.id


def _rolled_back_by_hand(
    world: DeployWorld, rollout: RolloutView, actor: str
) -> RolloutView | None:
    return restore_stable(
        world.tools.cloud_run,
        world.tools.store,
        rollout,
        RolloutState.ROLLED_BACK,
        actor,
        "deploy.rollback",
        "rolled back by hand",
    )


def _gcloud_deploy(world: DeployWorld, commit: str) -> None:
    """Someone deploys with gcloud: a new revision serving 100%."""
    name = "projects/nba-props-platform/locations/us-west2/services/alpha"
    current = world.state.get_service(name)
    template = {**current["template"], "containers": [{"image": f"{REGISTRY}/alpha:{commit}"}]}
    world.state.update_service(
        name,
        {"template": template, "traffic": [{"type": 1, "percent": 100}]},
        ["template", "traffic"],
        validate_only=False,
    )


def test_a_revision_that_takes_25_s_is_waited_for_and_only_then_gets_traffic(
    world: DeployWorld,
) -> None:
    world.state.operation_s = 25  # longer than a Cloud Run request's 20 s timeout
    rollout_id = _started(world)
    creating = world.tools.rollout(rollout_id)
    assert creating.state is RolloutState.CANARY and creating.operation is not None
    assert world.serving() == [(STABLE, 100)]
    with pytest.raises(Exception, match="still creating the canary revision"):
        promote(PROFILE, world.tools, rollout_id, APPROVER)

    world.advance(10)
    waiting = tick(PROFILE, world.tools, rollout_id)
    assert waiting is not None and waiting.tick is Tick.CREATING
    assert world.serving() == [(STABLE, 100)]

    world.advance(16)
    started = tick(PROFILE, world.tools, rollout_id)
    assert started is not None and started.tick is Tick.STARTED
    assert started.rollout.operation is None
    assert world.serving() == [(STABLE, 90), (creating.canary_revision, 10)]


def test_a_restart_mid_operation_resumes_waiting_on_the_recorded_operation(
    world: DeployWorld, tmp_path: Path
) -> None:
    world.state.operation_s = 40
    rollout_id = _started(world)
    operation = world.tools.rollout(rollout_id).operation
    fresh = Database.open(sqlite_url(tmp_path / "opsbot.db"))
    try:  # the next process: its own store connection, nothing else kept
        after: DeployTools = replace(world.tools, store=Store(fresh, world.tools.clock))
        assert reconcile(PROFILE, after, rollout_id) is not None
        assert after.store.get(rollout_id).operation == operation  # type: ignore[union-attr]
        assert world.serving() == [(STABLE, 100)]
        world.advance(41)
        result = tick(PROFILE, after, rollout_id)
        assert result is not None and result.tick is Tick.STARTED
        patches = world.cloud_run_writes()
        assert [r for r, p in world.serving() if r != STABLE] == [result.rollout.canary_revision]
        assert patches == 2  # one revision created, one traffic change: nothing made twice
    finally:
        fresh.close()


def test_an_image_that_cannot_start_fails_the_rollout_with_cloud_runs_error_and_no_traffic_moved(
    world: DeployWorld,
) -> None:
    world.state.operation_s = 30
    world.missing_images.add(world.sha["alpha: faster features"])
    rollout_id = _started(world)
    world.advance(31)
    result = tick(PROFILE, world.tools, rollout_id)
    assert result is not None and result.tick is Tick.FAILED
    assert result.rollout.state is RolloutState.FAILED
    assert "not found" in (result.rollout.reason or "")
    assert "no traffic moved" in (result.rollout.reason or "")
    splits = world.state.split_history(
        "projects/nba-props-platform/locations/us-west2/services/alpha"
    )
    assert all(split == {STABLE: 100} for _, split in splits)
    assert world.tools.store.lock_holder("alpha") is None
    assert world.cloud_run_writes() == 1  # the creation only: nothing to restore


def test_a_revision_not_ready_by_the_deadline_fails_the_rollout_saying_so(
    world: DeployWorld,
) -> None:
    world.state.operation_s = 3600
    rollout_id = _started(world)
    world.advance(300)
    assert tick(PROFILE, world.tools, rollout_id).tick is Tick.CREATING  # type: ignore[union-attr]
    world.advance(301)
    result = tick(PROFILE, world.tools, rollout_id)
    assert result is not None and result.tick is Tick.FAILED
    assert result.rollout.state is RolloutState.FAILED
    assert "not ready after 600 s" in (result.rollout.reason or "")
    assert world.serving() == [(STABLE, 100)]
    assert world.cloud_run_writes() == 1  # the creation only: nothing to restore


def test_a_gcloud_deploy_between_read_and_write_is_never_overwritten(world: DeployWorld) -> None:
    checklist = prepare(PROFILE, world.tools, "alpha", world.sha["alpha: faster features"])
    rollout = begin(PROFILE, world.tools, checklist, DEPLOYER)
    world.cloud_run.before_next_write = lambda: _gcloud_deploy(
        world, world.sha["alpha: bad refactor"]
    )
    ended = start_canary(PROFILE, world.tools, rollout.id, DEPLOYER)
    assert ended is not None and ended.state is RolloutState.FAILED
    assert "changed after opsbot read it" in (ended.reason or "")
    assert "image now" in (ended.reason or "") and "did not overwrite" in (ended.reason or "")
    (serving,) = world.serving()
    assert serving[0] != STABLE and serving[1] == 100  # the other person's deploy stands


def test_a_change_to_something_opsbot_does_not_touch_is_retried_with_the_new_etag(
    world: DeployWorld,
) -> None:
    rollout_id = _started(world)
    canary = world.tools.rollout(rollout_id).canary_revision
    assert canary is not None

    def relabel() -> None:  # someone adds a label: the etag changes, traffic does not
        world.tools.cloud_run.set_service_labels("alpha", {"team": "props"})

    world.cloud_run.before_next_write = relabel
    world.tools.cloud_run.route("alpha", [TrafficShare(STABLE, 50), TrafficShare(canary, 50)])
    assert world.serving() == [(STABLE, 50), (canary, 50)]
    assert world.tools.cloud_run.get_service("alpha").labels["team"] == "props"


def test_a_stale_etag_is_refused_as_cloud_run_refuses_it(world: DeployWorld) -> None:
    name = "projects/nba-props-platform/locations/us-west2/services/alpha"
    read = world.state.get_service(name)
    world.tools.cloud_run.set_service_labels("alpha", {"team": "props"})
    with pytest.raises(Exception, match="stale") as refused:
        world.state.update_service(name, {**read, "labels": {}}, ["labels"], validate_only=False)
    assert getattr(refused.value, "status", "") == "ABORTED"


def test_a_rollback_another_replica_finished_first_is_not_an_error(world: DeployWorld) -> None:
    """Found by the chaos soak (seed 3): two replicas both restoring the stable revision; the one
    that wrote second saw the traffic changed since it read it and failed its tick with a
    traceback, although the traffic was exactly what it was asked to make."""
    rollout_id = _started(world)
    rollout = world.tools.store.get(rollout_id)
    assert rollout is not None

    def other_replica_restores() -> None:  # between this replica's read and its write
        world.tools.cloud_run.route("alpha", [TrafficShare(STABLE, 100)])

    world.cloud_run.before_next_write = other_replica_restores
    ended = _rolled_back_by_hand(world, rollout, DEPLOYER)
    assert ended is not None and ended.state is RolloutState.ROLLED_BACK
    assert world.serving() == [(STABLE, 100)]


def _accepted_not_served(world: DeployWorld, split: list[tuple[str, int]]) -> None:
    """Another replica's traffic change, accepted by Cloud Run and still reconciling."""
    world.state.update_service(
        "projects/nba-props-platform/locations/us-west2/services/alpha",
        {"traffic": [{"type": 2, "revision": r, "percent": p} for r, p in split]},
        ["traffic"],
        validate_only=False,
    )


def test_a_rollback_overtaken_by_its_own_step_still_in_flight_routes_over_it(
    world: DeployWorld,
) -> None:
    """Found by the chaos soak (seed 8): the rollout's first step (90/10) was accepted just
    before the rollback wrote; the rollback, refused for the stale etag, took the stable traffic
    still served for its own and ended ROLLED_BACK, and then the step's split was served behind
    it for seconds. Now the rollback ends only once stable is served again, and routes over its
    own step at once."""
    rollout_id = _started(world)
    rollout = world.tools.store.get(rollout_id)
    assert rollout is not None and rollout.canary_revision is not None
    canary = rollout.canary_revision
    _accepted_not_served(world, [(STABLE, 100), (canary, 0)])  # as before its first step
    world.state.operation_s = 5
    world.cloud_run.before_next_write = lambda: _accepted_not_served(
        world, [(STABLE, 90), (canary, 10)]
    )
    ended = _rolled_back_by_hand(world, rollout, APPROVER)
    assert ended is not None and ended.state is RolloutState.ROLLED_BACK
    world.advance(10)  # every write accepted so far has been served
    assert world.serving() == [(STABLE, 100)]
    history = world.state.split_history(
        "projects/nba-props-platform/locations/us-west2/services/alpha"
    )
    ended_at = world.tools.store.get(rollout_id).updated_at  # type: ignore[union-attr]
    served_after_end = [split for at, split in history if at > ended_at]
    assert served_after_end == []  # the step's split came and went while it was still owned
    assert history[-1][1] == {STABLE: 100}
    assert world.tools.store.get(rollout_id).ending is RolloutState.ROLLED_BACK  # type: ignore[union-attr]


def test_a_rollback_overtaken_by_a_gcloud_deploy_in_flight_overwrites_nothing(
    world: DeployWorld,
) -> None:
    """Someone else's deploy, accepted but still reconciling, is not taken for the rollback's
    own step: the rollout stays ROLLING_BACK, audited, and the deploy is served as they asked."""
    rollout_id = _started(world)
    rollout = world.tools.store.get(rollout_id)
    assert rollout is not None
    world.advance(1)  # the deploy's revision is the newest (LATEST serves it)
    world.state.operation_s = 5
    world.cloud_run.before_next_write = lambda: _gcloud_deploy(
        world, world.sha["alpha: bad refactor"]
    )
    claimed = _rolled_back_by_hand(world, rollout, APPROVER)
    assert claimed is not None and claimed.state is RolloutState.ROLLING_BACK
    failed = [e for e in world.tools.store.audit_log(rollout_id) if e.action.endswith("failed")]
    assert [e.action for e in failed] == ["deploy.restore.failed"]
    assert "did not overwrite" in (failed[0].result or "")
    world.advance(5)
    ((revision, percent),) = world.serving()
    assert revision not in (STABLE, rollout.canary_revision) and percent == 100


def test_a_restore_of_the_same_traffic_still_in_flight_is_waited_for(world: DeployWorld) -> None:
    """The other replica's restore of the stable revision was accepted but is not served yet:
    this one ends the rollout only once Cloud Run serves it."""
    rollout_id = _started(world)
    rollout = world.tools.store.get(rollout_id)
    assert rollout is not None
    world.state.operation_s = 5
    world.cloud_run.before_next_write = lambda: _accepted_not_served(world, [(STABLE, 100)])
    ended = _rolled_back_by_hand(world, rollout, DEPLOYER)
    assert ended is not None and ended.state is RolloutState.ROLLED_BACK
    assert world.serving() == [(STABLE, 100)]
    assert world.cloud_run_writes() == 3  # creation, 10%, this one's write (refused: stale)


def test_a_promotion_overtaken_by_an_earlier_write_of_its_own_rollout_routes_over_it(
    world: DeployWorld,
) -> None:
    """A stale write of the rollout's own (its first step's split, from a writer that lagged)
    lands between the promotion's read and its write: the promotion, still what the store
    records, routes over it instead of failing the rollout with that split left served."""
    rollout_id = _started(world)
    canary = world.tools.rollout(rollout_id).canary_revision
    assert canary is not None
    world.advance(PROFILE.deploy.interval_s)
    assert tick(PROFILE, world.tools, rollout_id).tick is Tick.ANALYSED  # type: ignore[union-attr]
    world.state.operation_s = 5

    def stale_first_step() -> None:
        world.state.update_service(
            "projects/nba-props-platform/locations/us-west2/services/alpha",
            {
                "traffic": [
                    {"type": 2, "revision": STABLE, "percent": 80},
                    {"type": 2, "revision": canary, "percent": 20, "tag": "canary"},
                ]
            },
            ["traffic"],
            validate_only=False,
        )

    world.cloud_run.before_next_write = stale_first_step
    promoted = promote(PROFILE, world.tools, rollout_id, APPROVER)
    assert promoted is not None and promoted.state is RolloutState.CANARY and promoted.step == 1
    world.advance(10)
    assert sorted(world.serving()) == sorted([(STABLE, 50), (canary, 50)])
    assert world.tools.rollout(rollout_id).state is RolloutState.CANARY
