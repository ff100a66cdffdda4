"""What a rollout's message, the rollback picker and the drift fix say is true (issue 31: 9, 11, 13).

Each scenario runs a real rollout on the deploy world (Cloud Run, Monitoring and Logging
emulators behind the official clients, a real repo, a store) and reads what a person reads.
"""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.views.deploy import rollout_view
from bot.views.drift import drift_report
from bot.views.rollback import candidates_view
from checks.drift_model import DriftSources
from commands import rollback
from commands.deploy.analysis import StepOutcome, analyse
from commands.deploy.checklist import prepare
from commands.deploy.lifecycle import begin, promote, start_canary
from commands.deploy.verdict import Verdict
from commands.drift import deploy_advice, run_drift
from commands.errors import RequestError
from tests.integration.deploy_world import DeployWorld, deploy_profile

PROFILE = deploy_profile()
DEPLOYER, APPROVER = "U0SAMDEPLY", "U0LEEAPPRV"
STABLE = "alpha-00001-aaa"


def texts(blocks: list[Block]) -> str:
    """Every text a person reads in the blocks, in order (confirmation dialogs included)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk([b.to_dict() for b in blocks])
    return "\n".join(found)


def _started(world: DeployWorld, commit: str) -> int:
    checklist = prepare(PROFILE, world.tools, "alpha", world.sha[commit][:8])
    rollout = begin(PROFILE, world.tools, checklist, DEPLOYER)
    assert start_canary(PROFILE, world.tools, rollout.id, DEPLOYER) is not None
    return rollout.id


def _analysed(world: DeployWorld, rollout_id: int) -> StepOutcome:
    world.advance(PROFILE.deploy.interval_s)
    outcome = analyse(PROFILE, world.tools, rollout_id)
    assert outcome is not None
    return outcome


def _failed_canary(world: DeployWorld) -> int:
    """The bad commit's canary, rolled back by its second failing analysis."""
    rollout_id = _started(world, "alpha: bad refactor")
    _analysed(world, rollout_id)
    assert _analysed(world, rollout_id).rolled_back
    return rollout_id


def test_after_a_promotion_the_message_names_the_step_its_analysis_judged_and_the_next_one(
    world: DeployWorld,
) -> None:
    """Issue 31 (9): promoted to 50%, the message kept "Last analysis: ✅ pass" of the 10% step
    without saying so, and a Promote click was then refused."""
    rollout_id = _started(world, "alpha: faster features")
    passed = _analysed(world, rollout_id)
    assert passed.analysis.verdict is Verdict.PASS
    promoted = promote(PROFILE, world.tools, rollout_id, APPROVER)
    world.advance(60)

    shown = texts(rollout_view(promoted, PROFILE.deploy, passed.analysis, world.clock[0])[1])
    assert "*Last analysis, at 10%:* :white_check_mark: pass" in shown
    assert "next analysis at 50% due in 240 s" in shown
    assert "Promote waits until an analysis passes at 50%" in shown
    with pytest.raises(RequestError, match="no analysis has passed at 50% yet"):
        promote(PROFILE, world.tools, rollout_id, APPROVER)  # as the message said it would be

    again = _analysed(world, rollout_id)
    shown = texts(rollout_view(again.rollout, PROFILE.deploy, again.analysis, world.clock[0])[1])
    assert "*Last analysis, at 50%:* :white_check_mark: pass" in shown
    assert "passed at 50%, so it may be promoted now" in shown


def test_the_rollback_picker_marks_the_canary_that_failed_and_its_confirmation_warns(
    world: DeployWorld,
) -> None:
    """Issue 31 (11): "Roll back" to the canary that had just failed (12% 5xx), without a word."""
    rollout_id = _failed_canary(world)
    found = rollback.candidates(
        PROFILE, world.tools.cloud_run, world.tools.repo, "alpha", world.tools.store
    )
    canary = next(c for c in found if c.revision.startswith("alpha-canary-"))
    stable = next(c for c in found if c.revision == STABLE)
    assert canary.setback is not None and stable.setback is None

    _, blocks = candidates_view("alpha", found, world.clock[0])
    rows = {b.to_dict()["text"]["text"].split("*")[1]: b.to_dict() for b in blocks[1:-1]}
    row = rows[canary.revision]
    assert f":warning: *failed its canary (rollout #{rollout_id})*" in row["text"]["text"]
    assert "5xx 12.0%" in row["text"]["text"]
    confirm = row["accessory"]["confirm"]
    assert confirm["title"]["text"] == "Roll back to a bad revision?"
    assert confirm["text"]["text"].startswith(
        f"Warning: {canary.revision} failed its canary (rollout #{rollout_id}) on "
    )
    assert len(confirm["text"]["text"]) <= 300  # Slack's limit on a confirmation's text
    assert "accessory" not in rows[STABLE]  # it serves everything: nothing to roll back to
    assert ":warning:" not in rows[STABLE]["text"]["text"]


def test_the_drift_fix_is_deploy_and_says_the_commit_to_ship_failed_its_canary(
    world: DeployWorld,
) -> None:
    """Issue 31 (13): the fix line said `./bin/deploy-service.sh SERVICE`, which ships main's
    newest commit: the very one whose canary had just failed."""
    scripted = PROFILE.model_copy(
        update={
            "drift": PROFILE.drift.model_copy(update={"action": "./bin/deploy-service.sh $service"})
        }
    )
    rollout_id = _failed_canary(world)
    sources = DriftSources(world.tools.cloud_run, world.tools.repo)
    report = run_drift(scripted, sources, ["alpha"], world.clock[0])
    advice = deploy_advice(scripted, sources, report, world.tools.store)

    shown = texts(drift_report(report, advice)[1])
    bad = world.sha["alpha: bad refactor"][:8]
    assert f"fix: `/deploy alpha` ships `{bad}` alpha: bad refactor" in shown
    assert f":warning: {bad} failed its canary (rollout #{rollout_id}) on 2026-02-05 " in shown
    assert "2 failing analyses in a row: 5xx 12.0%" in shown
    assert "ship an earlier commit: /deploy alpha COMMIT" in shown
    assert "deploy-service.sh" not in shown
