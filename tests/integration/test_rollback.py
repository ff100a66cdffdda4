"""Rolling back by hand: the choices, the role, the verified move, and aborting a rollout."""

from __future__ import annotations

import pytest

from adapters.cloudrun_model import CloudRunError
from commands import rollback
from commands.deploy.analysis import analyse
from commands.deploy.checklist import prepare
from commands.deploy.lifecycle import begin, complete, promote, start_canary
from commands.errors import RequestError
from store.states import RolloutState
from tests.integration.deploy_world import DeployWorld, deploy_profile

PROFILE = deploy_profile()
DEPLOYER, APPROVER, ONCALL = "U0SAMDEPLY", "U0LEEAPPRV", "U0DANAONCL"
STABLE = "alpha-00001-aaa"


def _completed(world: DeployWorld) -> str:
    """A finished rollout of "alpha: faster features"; returns its revision."""
    checklist = prepare(PROFILE, world.tools, "alpha", world.sha["alpha: faster features"])
    rollout = begin(PROFILE, world.tools, checklist, DEPLOYER)
    started = start_canary(PROFILE, world.tools, rollout.id, DEPLOYER)
    assert started is not None and started.canary_revision is not None
    world.advance(PROFILE.deploy.interval_s)
    analyse(PROFILE, world.tools, rollout.id)  # a passing analysis: the step may be promoted
    promote(PROFILE, world.tools, rollout.id, APPROVER, to_full=True)
    complete(world.tools, rollout.id)
    return started.canary_revision


def test_the_choices_show_commit_subject_age_and_traffic(world: DeployWorld) -> None:
    new = _completed(world)
    found = rollback.candidates(
        PROFILE, world.tools.cloud_run, world.tools.repo, "alpha", world.tools.store
    )
    assert [(c.revision, c.percent, c.subject) for c in found] == [
        (new, 100, "alpha: faster features"),
        (STABLE, 0, "alpha: first"),
    ]


def test_rolling_back_moves_all_traffic_verifies_it_and_audits(world: DeployWorld) -> None:
    _completed(world)
    done = rollback.roll_back(
        PROFILE, world.tools.cloud_run, world.tools.store, "alpha", STABLE, DEPLOYER
    )
    assert done is not None and done.aborted_rollout is None and world.serving() == [(STABLE, 100)]
    last = world.tools.store.audit_log()[-1]
    replaced = {r: p for r, p in last.arguments["from"].items()}
    assert (last.id, last.actor, last.action, last.arguments["to"], last.result) == (
        done.audit_id,
        DEPLOYER,
        "rollback",
        STABLE,
        "ok: 100% verified",
    )
    assert replaced and STABLE not in replaced and sum(replaced.values()) == 100  # what it replaced


def test_without_the_deployer_role_nothing_moves(world: DeployWorld) -> None:
    new = _completed(world)
    with pytest.raises(RequestError, match="deployer role"):
        rollback.roll_back(
            PROFILE, world.tools.cloud_run, world.tools.store, "alpha", STABLE, ONCALL
        )
    assert world.serving() == [(new, 100)]
    assert world.tools.store.audit_log()[-1].action == "rollback.refused"


def test_during_a_rollout_it_aborts_the_rollout_onto_its_stable_revision(
    world: DeployWorld,
) -> None:
    checklist = prepare(PROFILE, world.tools, "alpha", None)
    rollout = begin(PROFILE, world.tools, checklist, DEPLOYER)
    start_canary(PROFILE, world.tools, rollout.id, DEPLOYER)
    with pytest.raises(RequestError, match=f"ends it on its stable revision {STABLE}"):
        rollback.roll_back(
            PROFILE, world.tools.cloud_run, world.tools.store, "alpha", "alpha-99999-zzz", DEPLOYER
        )
    done = rollback.roll_back(
        PROFILE, world.tools.cloud_run, world.tools.store, "alpha", STABLE, DEPLOYER
    )
    assert done is not None and done.aborted_rollout == rollout.id
    assert world.tools.store.get(rollout.id).state == RolloutState.ROLLED_BACK  # type: ignore[union-attr]
    assert world.serving() == [(STABLE, 100)]


def test_the_same_confirmation_clicked_twice_moves_traffic_and_audits_once(
    world: DeployWorld,
) -> None:
    _completed(world)
    store, cloud_run = world.tools.store, world.tools.cloud_run
    once = "rollback:C0DEPLOY01:1764576000.000100:alpha:" + STABLE
    first = rollback.roll_back(PROFILE, cloud_run, store, "alpha", STABLE, DEPLOYER, once_key=once)
    again = rollback.roll_back(PROFILE, cloud_run, store, "alpha", STABLE, DEPLOYER, once_key=once)
    assert first is not None and again is None
    assert [e.action for e in store.audit_log()].count("rollback") == 1
    other = rollback.roll_back(  # another confirmation message is another request
        PROFILE, cloud_run, store, "alpha", STABLE, DEPLOYER, once_key=once + "-other"
    )
    assert other is not None


def test_a_confirmation_that_cloud_run_refused_can_be_clicked_again_and_then_acts(
    world: DeployWorld,
) -> None:
    new = _completed(world)
    store, cloud_run = world.tools.store, world.tools.cloud_run
    once = "rollback:C0DEPLOY01:1764576000.000200:alpha:" + STABLE
    world.cloud_run.refuse_writes = 1
    with pytest.raises(CloudRunError, match="denied"):
        rollback.roll_back(PROFILE, cloud_run, store, "alpha", STABLE, DEPLOYER, once_key=once)
    assert world.serving() == [(new, 100)]  # nothing moved, so the confirmation is not spent
    again = rollback.roll_back(PROFILE, cloud_run, store, "alpha", STABLE, DEPLOYER, once_key=once)
    assert again is not None and world.serving() == [(STABLE, 100)]
    assert (
        rollback.roll_back(PROFILE, cloud_run, store, "alpha", STABLE, DEPLOYER, once_key=once)
        is None
    )  # done once: a third click is a repeat


def test_a_confirmation_drawn_before_a_rollout_completed_is_refused_audited_and_not_spent(
    world: DeployWorld,
) -> None:
    """Drawn while STABLE served alone; a rollout completed since: nothing moves back to it."""
    drawn = rollback.Drawn(serving=frozenset({STABLE}))
    new = _completed(world)
    store, cloud_run = world.tools.store, world.tools.cloud_run
    once = "rollback:C0DEPLOY01:1764576000.000300:alpha:" + STABLE
    with pytest.raises(RequestError, match=rf"alpha now serves {new} \(100%\).*`/rollback alpha`"):
        rollback.roll_back(
            PROFILE, cloud_run, store, "alpha", STABLE, DEPLOYER, once_key=once, drawn=drawn
        )
    assert world.serving() == [(new, 100)]
    last = store.audit_log()[-1]
    assert (last.actor, last.action, last.arguments["drawn"]) == (
        DEPLOYER,
        "rollback.refused",
        STABLE,
    )
    looked_again = rollback.Drawn(serving=frozenset({new}))  # what a new list would carry
    done = rollback.roll_back(
        PROFILE, cloud_run, store, "alpha", STABLE, DEPLOYER, once_key=once, drawn=looked_again
    )
    assert done is not None and world.serving() == [(STABLE, 100)]
