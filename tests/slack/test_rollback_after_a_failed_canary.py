"""After nba-scrapers' canary fails (the sandbox's bad commit, 12% 5xx), whatever offers that
revision or that commit again says so: the rollback picker, its confirmation, the drift fix
(issue 31: 11, 13)."""

from __future__ import annotations

from bot.actions import ActionId
from opsbot.sandbox_serve import SandboxBot
from sandbox.slack_workspace import Message
from tests.slack.conftest import checklist_for, rollout_message
from tests.slack.helpers import (
    DEPLOYER,
    HEALTH_CHANNEL,
    ONCALL,
    block_text,
    buttons,
    ephemeral_for,
    finished,
    wait_until,
)

SERVICE = "nba-scrapers"


def _failed_canary(bot: SandboxBot) -> tuple[str, str]:
    """/deploy nba-scrapers, started: it rolls itself back. Its canary revision and commit."""
    ws = bot.slack.workspace
    bot.slack.command(DEPLOYER, "#deployment-alerts", f"/deploy {SERVICE}")
    bot.slack.click(DEPLOYER, checklist_for(ws, DEPLOYER), ActionId.DEPLOY_START)
    rollout_message(ws, "rolled back")
    assert bot.runtime.deploy_tools is not None
    [rollout] = bot.runtime.deploy_tools().store.recent()
    assert rollout.canary_revision is not None
    return rollout.canary_revision, rollout.commit_sha


def _picker(bot: SandboxBot) -> Message:
    ws = bot.slack.workspace
    bot.slack.command(DEPLOYER, "#deployment-alerts", f"/rollback {SERVICE}")
    return wait_until(ws, ephemeral_for(ws, DEPLOYER, "pick a revision"))


def test_the_rollback_picker_marks_the_canary_that_just_failed_and_confirms_with_a_warning(
    deploying: SandboxBot,
) -> None:
    canary, _ = _failed_canary(deploying)
    picker = _picker(deploying)
    text = block_text(picker)
    row = next(line for line in text.split("\n*") if line.startswith(f"{canary}*"))
    assert ":warning: *failed its canary (rollout #1)*" in row and "5xx 12.0%" in row
    [button] = [b for b in buttons(picker) if canary in b["value"]]
    assert button["confirm"]["title"]["text"] == "Roll back to a bad revision?"
    assert button["confirm"]["text"]["text"].startswith(
        f"Warning: {canary} failed its canary (rollout #1) on 2026-02-05 "
    )
    others = [b for b in buttons(picker) if canary not in b["value"]]
    assert others and all(b["confirm"]["title"]["text"] == "Roll back?" for b in others)

    ws = deploying.slack.workspace  # naming the revision goes to the same warning
    deploying.slack.command(DEPLOYER, "#deployment-alerts", f"/rollback {SERVICE} {canary}")
    asked = wait_until(ws, ephemeral_for(ws, DEPLOYER, f"Roll back {SERVICE} to {canary}?"))
    assert ":warning: It failed its canary (rollout #1)" in block_text(asked)
    [confirm] = buttons(asked)
    assert confirm["confirm"]["title"]["text"] == "Roll back to a bad revision?"


def test_drift_suggests_deploy_and_says_the_commit_it_would_ship_failed_its_canary(
    deploying: SandboxBot,
) -> None:
    _, commit = _failed_canary(deploying)
    ws = deploying.slack.workspace
    deploying.slack.command(ONCALL, HEALTH_CHANNEL, f"/drift {SERVICE}")
    report = wait_until(ws, finished(ws, "Drift WARN"))
    text = block_text(report)
    assert f"fix: `/deploy {SERVICE}` ships `{commit[:8]}`" in text
    assert f":warning: {commit[:8]} failed its canary (rollout #1) on 2026-02-05 " in text
    assert f"ship an earlier commit: /deploy {SERVICE} COMMIT" in text
    assert "deploy-service.sh" not in text
