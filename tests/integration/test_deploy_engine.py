"""Rollouts end to end on the emulators: canary steps, approvals, automatic rollback, races."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from checks.result import CheckResult, Status
from commands.deploy.abort import abort_rollout
from commands.deploy.analysis import analyse
from commands.deploy.checklist import prepare
from commands.deploy.driver import release_all_abandoned
from commands.deploy.lifecycle import (
    NotPromoted,
    Unpromoted,
    begin,
    complete,
    promote,
    start,
    start_canary,
)
from commands.deploy.verdict import Verdict
from commands.errors import RequestError
from store.rollouts import Store
from store.states import RolloutState
from store.views import RolloutView
from tests.integration.deploy_world import DeployWorld, deploy_profile

PROFILE = deploy_profile()
DEPLOYER, APPROVER, ONCALL = "U0SAMDEPLY", "U0LEEAPPRV", "U0DANAONCL"
STABLE = "alpha-00001-aaa"


def _started(world: DeployWorld, commit: str) -> int:
    checklist = prepare(PROFILE, world.tools, "alpha", world.sha[commit][:8])
    rollout = begin(PROFILE, world.tools, checklist, DEPLOYER)
    assert start_canary(PROFILE, world.tools, rollout.id, DEPLOYER) is not None
    return rollout.id


def _passed(world: DeployWorld, rollout_id: int) -> None:
    """An interval of traffic and a passing analysis at the current step: promotable."""
    world.advance(300)
    step = analyse(PROFILE, world.tools, rollout_id)
    assert step is not None and step.analysis.verdict is Verdict.PASS


def test_the_checklist_says_what_ships_before_anything_changes(world: DeployWorld) -> None:
    checklist = prepare(PROFILE, world.tools, "alpha", None)
    assert checklist.commit.sha == world.sha["alpha: bad refactor"]  # main's newest touching alpha
    assert (
        checklist.stable_revision == STABLE and checklist.deployed == world.sha["alpha: first"][:7]
    )
    assert checklist.shipped_count == 2
    assert [c.subject for c in checklist.shipped] == [
        "alpha: bad refactor",
        "alpha: faster features",
    ]
    assert checklist.blockers(may_override_freeze=False) == []
    assert world.serving() == [(STABLE, 100)] and world.tools.store.active() == []


def test_the_happy_path_with_two_people_ends_complete_with_labels_and_an_audit(
    world: DeployWorld,
) -> None:
    rollout_id = _started(world, "alpha: faster features")
    canary = f"alpha-canary-{rollout_id}-{world.sha['alpha: faster features'][:7]}"
    assert world.serving() == [(STABLE, 90), (canary, 10)]

    world.advance(300)
    step = analyse(PROFILE, world.tools, rollout_id)
    assert (
        step is not None
        and step.analysis.verdict is Verdict.PASS
        and step.analysis.canary.requests == 600
    )

    with pytest.raises(RequestError, match="two-person rule"):
        promote(PROFILE, world.tools, rollout_id, DEPLOYER)
    with pytest.raises(RequestError, match="approver role"):
        promote(PROFILE, world.tools, rollout_id, ONCALL)
    assert world.serving() == [(STABLE, 90), (canary, 10)]  # refusals change nothing

    assert promote(PROFILE, world.tools, rollout_id, APPROVER) is not None
    assert world.serving() == [(STABLE, 50), (canary, 50)]
    world.advance(300)
    assert analyse(PROFILE, world.tools, rollout_id).analysis.verdict is Verdict.PASS  # type: ignore[union-attr]
    watched = promote(PROFILE, world.tools, rollout_id, APPROVER)
    assert (
        watched is not None
        and watched.state == RolloutState.WATCH
        and world.serving() == [(canary, 100)]
    )
    world.advance(1800)
    done = complete(world.tools, rollout_id)
    assert done is not None and done.state == RolloutState.COMPLETE
    assert (  # short, as every deploy of the platform labels it (docs/platform.md)
        world.tools.cloud_run.get_service("alpha").labels["commit-sha"]
        == world.sha["alpha: faster features"][:8]
    )
    assert world.tools.store.lock_holder("alpha") is None
    actions = [(e.actor, e.action) for e in world.tools.store.audit_log(rollout_id)]
    assert actions == [
        (DEPLOYER, "deploy.begin"),
        (DEPLOYER, "deploy.start"),
        (DEPLOYER, "deploy.revision.creating"),
        (DEPLOYER, "deploy.revision.ready"),
        ("opsbot", "deploy.analysis"),
        (DEPLOYER, "deploy.promote.refused"),
        (ONCALL, "deploy.promote.refused"),
        (APPROVER, "deploy.promote"),
        ("opsbot", "deploy.analysis"),
        (APPROVER, "deploy.promote"),
        ("opsbot", "deploy.complete"),
    ]


def test_a_bad_canary_rolls_itself_back_to_the_stable_revision_saying_which_numbers_failed(
    world: DeployWorld,
) -> None:
    rollout_id = _started(world, "alpha: bad refactor")
    world.advance(300)
    first = analyse(PROFILE, world.tools, rollout_id)
    assert first is not None and first.analysis.verdict is Verdict.FAIL and not first.rolled_back
    assert first.analysis.errors[0].text == "KeyError: 'vegas_line' in features.py:212"
    world.advance(300)
    second = analyse(PROFILE, world.tools, rollout_id)
    assert second is not None and second.rolled_back
    assert second.rollout.state == RolloutState.ROLLED_BACK
    assert (
        second.rollout.reason is not None
        and "2 failing analyses in a row: 5xx 12.0% of 600 requests is over 5%"
        in second.rollout.reason
    )
    assert world.serving() == [(STABLE, 100)]  # exactly: the revision recorded at the start


def test_too_little_traffic_is_never_a_pass_and_never_counts_as_a_failure(
    world: DeployWorld,
) -> None:
    rollout_id = _started(world, "alpha: faster features")
    world.advance(10)  # 10% of 20 rps for 10 s: 20 requests
    step = analyse(PROFILE, world.tools, rollout_id)
    assert step is not None and step.analysis.verdict is Verdict.INSUFFICIENT
    assert world.tools.store.get(rollout_id).failures == 0  # type: ignore[union-attr]


def test_an_image_the_registry_lacks_fails_the_rollout_and_moves_no_traffic(
    world: DeployWorld,
) -> None:
    world.missing_images.add(world.sha["alpha: faster features"])
    checklist = prepare(PROFILE, world.tools, "alpha", world.sha["alpha: faster features"])
    rollout = begin(PROFILE, world.tools, checklist, DEPLOYER)
    failed = start_canary(PROFILE, world.tools, rollout.id, DEPLOYER)
    assert (
        failed is not None
        and failed.state == RolloutState.FAILED
        and "not found" in (failed.reason or "")
    )
    assert world.serving() == [(STABLE, 100)] and world.tools.store.lock_holder("alpha") is None


def test_a_second_deploy_mid_rollout_is_refused_naming_the_active_one(world: DeployWorld) -> None:
    rollout_id = _started(world, "alpha: faster features")
    with pytest.raises(RequestError, match=f"rollout #{rollout_id} of alpha is still in progress"):
        prepare(PROFILE, world.tools, "alpha", None)


def test_a_freeze_blocks_a_deployer_but_an_approver_may_override(world: DeployWorld) -> None:
    frozen = deploy_profile(
        roles={"deployer": [DEPLOYER, APPROVER], "approver": [APPROVER]},
        freeze=[{"days": ["thu"], "start": "12:00", "end": "14:00", "reason": "games on"}],
    )
    checklist = prepare(frozen, world.tools, "alpha", None)  # Thu 13:00 ET
    with pytest.raises(RequestError, match="deploy freeze: games on"):
        begin(frozen, world.tools, checklist, DEPLOYER)
    assert world.tools.store.active() == []
    assert begin(frozen, world.tools, checklist, APPROVER).state == "checklist"


def test_someone_without_the_deployer_role_cannot_deploy_and_nothing_changes(
    world: DeployWorld,
) -> None:
    checklist = prepare(PROFILE, world.tools, "alpha", None)
    with pytest.raises(RequestError, match="deployer role"):
        begin(PROFILE, world.tools, checklist, ONCALL)
    assert world.tools.store.active() == [] and world.serving() == [(STABLE, 100)]
    assert [(e.actor, e.action) for e in world.tools.store.audit_log()] == [
        (ONCALL, "deploy.refused")
    ]


def test_twenty_concurrent_clicks_on_one_promote_button_make_one_step(world: DeployWorld) -> None:
    rollout_id = _started(world, "alpha: faster features")
    _passed(world, rollout_id)
    shown = world.tools.store.get(rollout_id)
    assert shown is not None
    results: list[bool] = []
    start = threading.Barrier(20)

    def click() -> None:
        start.wait()
        seen = (shown.state, shown.step)
        try:
            promote(PROFILE, world.tools, rollout_id, APPROVER, seen=seen)
            results.append(True)
        except NotPromoted as exc:
            assert exc.why in (Unpromoted.STALE, Unpromoted.LOST_RACE)
            results.append(False)

    threads = [threading.Thread(target=click) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [False] * 19 + [True]
    assert world.tools.store.get(rollout_id).step == 1  # type: ignore[union-attr]
    assert world.serving()[0] == (STABLE, 50)


def test_rollback_during_a_canary_returns_traffic_to_the_stable_revision(
    world: DeployWorld,
) -> None:
    rollout_id = _started(world, "alpha: faster features")
    _passed(world, rollout_id)
    promote(PROFILE, world.tools, rollout_id, APPROVER)
    ended = abort_rollout(
        world.tools.cloud_run, world.tools.store, rollout_id, ONCALL, "looks wrong"
    )
    assert ended is not None and ended.state == RolloutState.ROLLED_BACK
    assert world.serving() == [(STABLE, 100)]
    assert (
        abort_rollout(world.tools.cloud_run, world.tools.store, rollout_id, ONCALL, "again") is None
    )  # acts once


class DataHealth:
    """The service's data check as the canary sees it (the check library has its own tests)."""

    def __init__(self, status: Status) -> None:
        self.status = status

    def __call__(self, service: str) -> CheckResult:
        return CheckResult("bdb_coverage", self.status, f"{service}: coverage {self.status.value}")


def test_a_canary_that_makes_the_services_data_worse_fails_naming_the_check(
    world: DeployWorld,
) -> None:
    profile = deploy_profile(data_check="bdb_coverage")
    health = DataHealth(Status.OK)
    tools = replace(world.tools, data_check=health)
    checklist = prepare(profile, tools, "alpha", world.sha["alpha: faster features"])
    assert checklist.health is not None and checklist.health.status is Status.OK
    rollout = begin(profile, tools, checklist, DEPLOYER)
    start_canary(profile, tools, rollout.id, DEPLOYER)
    health.status = Status.CRITICAL
    world.advance(300)
    step = analyse(profile, tools, rollout.id)
    assert step is not None and step.analysis.verdict is Verdict.FAIL
    assert step.analysis.reasons == [
        "data check: bdb_coverage was OK, now CRITICAL: alpha: coverage CRITICAL"
    ]


def test_data_that_was_already_bad_does_not_fail_a_canary_that_leaves_it_so(
    world: DeployWorld,
) -> None:
    profile = deploy_profile(data_check="bdb_coverage")
    tools = replace(world.tools, data_check=DataHealth(Status.CRITICAL))
    checklist = prepare(profile, tools, "alpha", world.sha["alpha: faster features"])
    rollout = begin(profile, tools, checklist, DEPLOYER)
    start_canary(profile, tools, rollout.id, DEPLOYER)
    world.advance(300)
    step = analyse(profile, tools, rollout.id)
    assert step is not None and step.analysis.verdict is Verdict.PASS


WRITES = deploy_profile(canary_output="predictions")  # alpha judged by the predictions it writes


def _canary_of(world: DeployWorld) -> tuple[int, str]:
    checklist = prepare(WRITES, world.tools, "alpha", world.sha["alpha: faster features"])
    rollout = begin(WRITES, world.tools, checklist, DEPLOYER)
    started = start_canary(WRITES, world.tools, rollout.id, DEPLOYER)
    assert started is not None and started.canary_revision is not None
    return rollout.id, started.canary_revision


def test_a_canary_that_answers_every_request_but_writes_no_predictions_fails_and_rolls_back(
    world: DeployWorld,
) -> None:
    rollout_id, _ = _canary_of(world)
    steps = []
    for _ in range(2):
        world.advance(300)
        world.write_predictions(STABLE, 5400)  # the stable revision writes as it always did
        step = analyse(WRITES, world.tools, rollout_id)
        assert step is not None and step.analysis.verdict is Verdict.FAIL
        steps.append(step)
    assert steps[-1].analysis.reasons == [  # its 5xx and latency are healthy: only data tells
        "output: the canary wrote 0 predictions for 600 requests (0.00 a request), the stable "
        "revision 5400 for 5400 (1.00), under 50% of its rate"
    ]
    assert steps[-1].rolled_back and world.serving() == [(STABLE, 100)]


def test_a_canary_writing_as_the_stable_revision_does_passes_with_its_output_shown(
    world: DeployWorld,
) -> None:
    rollout_id, canary = _canary_of(world)
    world.advance(300)
    world.write_predictions(STABLE, 5400)
    world.write_predictions(canary, 590)
    world.write_predictions(canary, 500, seconds_ago=400)  # before its window: not counted
    step = analyse(WRITES, world.tools, rollout_id)
    assert step is not None and step.analysis.verdict is Verdict.PASS
    assert step.analysis.output is not None and step.analysis.output.ok
    assert "the canary wrote 590 predictions for 600 requests (0.98 a request)" in (
        step.analysis.output.detail
    )


def test_with_no_predictions_being_written_at_all_the_output_is_not_judged(
    world: DeployWorld,
) -> None:
    rollout_id, _ = _canary_of(world)  # e.g. an off day: the stable revision writes none either
    world.advance(300)
    step = analyse(WRITES, world.tools, rollout_id)
    assert step is not None and step.analysis.verdict is Verdict.PASS
    assert step.analysis.output is None


def test_promote_waits_for_a_passing_analysis_at_the_step_and_says_when_it_is_due(
    world: DeployWorld,
) -> None:
    rollout_id = _started(world, "alpha: faster features")
    with pytest.raises(
        RequestError, match=r"no analysis has passed at 10% yet; the next is due at .* \(in 300 s\)"
    ):
        promote(PROFILE, world.tools, rollout_id, APPROVER)
    assert world.serving()[0] == (STABLE, 90)  # nothing moved
    _passed(world, rollout_id)
    promoted = promote(PROFILE, world.tools, rollout_id, APPROVER)
    assert promoted is not None and promoted.step == 1
    with pytest.raises(RequestError, match="no analysis has passed at 50% yet"):  # the new step
        promote(PROFILE, world.tools, rollout_id, APPROVER)


def test_a_button_drawn_before_an_analysis_at_the_same_step_still_promotes(
    world: DeployWorld,
) -> None:
    rollout_id = _started(world, "alpha: faster features")
    drawn = world.tools.store.get(rollout_id)  # the message as first posted
    assert drawn is not None
    _passed(world, rollout_id)  # an analysis re-renders the message; the step is the same
    _passed(world, rollout_id)
    seen = (drawn.state, drawn.step)
    assert promote(PROFILE, world.tools, rollout_id, APPROVER, seen=seen) is not None
    with pytest.raises(NotPromoted, match="moved on to 50% since this message was drawn"):
        promote(PROFILE, world.tools, rollout_id, APPROVER, seen=seen)  # a repeat: stale


def test_a_promote_that_makes_no_step_says_which_of_stale_ended_or_lost_race(
    world: DeployWorld,
) -> None:
    """The person is told why their click did nothing, not only that it did nothing."""
    rollout_id = _started(world, "alpha: faster features")
    _passed(world, rollout_id)
    drawn = world.tools.store.get(rollout_id)
    assert drawn is not None
    promote(PROFILE, world.tools, rollout_id, APPROVER)  # another click's step commits first

    class ReadBeforeIt(Store):
        """The store as a racing click read it: just before the other step committed."""

        def get(self, wanted: int) -> RolloutView | None:
            return drawn if wanted == rollout_id else super().get(wanted)

    racing = replace(
        world.tools, store=ReadBeforeIt(world.tools.store.database, world.tools.store.clock)
    )
    with pytest.raises(NotPromoted) as lost:
        promote(PROFILE, racing, rollout_id, APPROVER, seen=(drawn.state, drawn.step))
    assert lost.value.why is Unpromoted.LOST_RACE and "moved once" in str(lost.value)
    with pytest.raises(NotPromoted) as stale:
        promote(PROFILE, world.tools, rollout_id, APPROVER, seen=(drawn.state, drawn.step))
    assert stale.value.why is Unpromoted.STALE
    abort_rollout(world.tools.cloud_run, world.tools.store, rollout_id, DEPLOYER, "test")
    with pytest.raises(NotPromoted) as ended:
        promote(PROFILE, world.tools, rollout_id, APPROVER)
    assert ended.value.why is Unpromoted.WRONG_STATE and "rolled back" in str(ended.value)


def test_a_second_begin_for_a_busy_service_says_which_rollout_is_in_progress(
    world: DeployWorld,
) -> None:
    checklist = prepare(PROFILE, world.tools, "alpha", world.sha["alpha: faster features"][:8])
    first = begin(PROFILE, world.tools, checklist, DEPLOYER)  # both clicks saw a free service
    with pytest.raises(RequestError, match=f"rollout #{first.id} of alpha is in progress"):
        begin(PROFILE, world.tools, checklist, DEPLOYER)


def test_a_rollout_whose_process_died_before_its_canary_frees_the_service_for_the_next_deploy(
    world: DeployWorld,
) -> None:
    """Found by the chaos soak (seed 12): a replica killed between recording a rollout and
    starting its canary left it in CHECKLIST holding the lock, and every later /deploy of the
    service was refused as "still in progress"."""
    checklist = prepare(PROFILE, world.tools, "alpha", world.sha["alpha: faster features"][:8])
    left = begin(PROFILE, world.tools, checklist, DEPLOYER)  # and then the process was killed
    world.advance(2)  # moments later it may still be starting in another replica: refused
    with pytest.raises(RequestError) as starting:
        prepare(PROFILE, world.tools, "alpha", None)
    assert f"rollout #{left.id} of alpha is being started" in str(starting.value)
    assert "try again in 3 s" in str(starting.value)  # found by seed 7: "still in progress"
    world.advance(3)
    again = prepare(PROFILE, world.tools, "alpha", None)  # abandoned: cancelled, lock freed
    assert not again.blockers(may_override_freeze=False)
    abandoned = world.tools.store.get(left.id)
    assert abandoned is not None and abandoned.state is RolloutState.CANCELLED
    assert "stopped between recording it and starting its canary" in (abandoned.reason or "")
    rollout = start(PROFILE, world.tools, again, DEPLOYER)
    assert rollout.state is RolloutState.CANARY and world.serving()[0][1] == 90
    assert world.tools.store.lock_holder("alpha") == rollout.id


def test_a_restarted_bot_cancels_the_rollouts_left_before_their_canary_and_no_others(
    world: DeployWorld,
) -> None:
    checklist = prepare(PROFILE, world.tools, "alpha", world.sha["alpha: faster features"][:8])
    left = begin(PROFILE, world.tools, checklist, DEPLOYER)
    assert release_all_abandoned(world.tools) == []  # too young to call abandoned
    world.advance(5)
    assert release_all_abandoned(world.tools) == [left.id]
    assert release_all_abandoned(world.tools) == []
    live = _started(world, "alpha: faster features")
    world.advance(600)
    assert release_all_abandoned(world.tools) == []  # a canary is driven, never cancelled so
    current = world.tools.store.get(live)
    assert current is not None and current.state is RolloutState.CANARY
