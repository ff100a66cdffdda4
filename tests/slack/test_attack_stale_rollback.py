"""A Details message drawn before a redeploy still offers the Roll back its cause named then.

On 2026-01-27 the Vegas-line check's Details names phase 4's deploy of 2026-01-26
(`-00076-`, "still serving") with **Roll back** to the revision before it (`-00075-`). A
deployer then ships the fix (a new revision, 100% of traffic). The ephemeral Details is still on
on-call's screen; its Roll back, clicked after the redeploy, sends all of phase 4's traffic to
`-00075-`: code from before 2026-01-26, older than the bad deploy, undoing the fix. The cause it
acted on ("-00076- still serving") was no longer true when it was clicked.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.cloudrun_model import TrafficShare, build_of
from bot.actions import ActionId
from opsbot.platform import sandbox_drift_sources
from opsbot.profile import load_profile
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.platform import Sandbox
from sandbox.slack_workspace import Message
from tests.integration.deploy_world import create_revision
from tests.slack.helpers import (
    DEPLOYER,
    HEALTH_CHANNEL,
    buttons,
    ephemeral_for,
    finished,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
PHASE4 = "nba-phase4-precompute-processors"
DAY = "2026-01-27"


@pytest.fixture
def own_bot() -> Iterator[SandboxBot]:
    """A sandbox of its own (this test changes Cloud Run), served."""
    with Sandbox() as platform, sandbox_bot(load_profile(ROOT / "opsbot.toml"), platform) as bot:
        thread = bot.server.start_in_thread()
        yield bot
        bot.server.stop(thread)


def _details(bot: SandboxBot, check: str) -> Message:
    ws = bot.slack.workspace
    bot.slack.command(DEPLOYER, HEALTH_CHANNEL, f"/health {DAY}")
    report = wait_until(ws, finished(ws, f"Health {DAY}: "))
    value = next(
        b["value"]
        for b in buttons(report)
        if b["action_id"] == ActionId.HEALTH_DETAILS and json.loads(b["value"])["check"] == check
    )
    bot.slack.click(DEPLOYER, report, ActionId.HEALTH_DETAILS, value)
    return wait_until(ws, ephemeral_for(ws, DEPLOYER, f"{check} on {DAY}"))


def _redeploy(bot: SandboxBot) -> str:
    """Someone ships main to phase 4 (as a rollout would: a new revision, then all traffic)."""
    profile, platform = bot.runtime.profile, bot.platform
    assert platform.repo_path is not None
    sha = subprocess.run(
        ["git", "-C", str(platform.repo_path), "rev-parse", "main"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    cloud_run = sandbox_drift_sources(profile, platform).cloud_run
    serving = cloud_run.get_service(PHASE4).serving
    build = build_of(profile.deploy.image, PHASE4, sha)
    name = f"{PHASE4}-00099-fix"
    create_revision(
        cloud_run,
        PHASE4,
        revision=name,
        image=build.image,
        labels=build.labels,
        env=build.env,
        keep=[TrafficShare(t.revision, t.percent) for t in serving],
        tag="fix",
    )
    cloud_run.route(PHASE4, [TrafficShare(name, 100)])
    return name


@pytest.mark.xfail(
    strict=True,
    reason="RollbackTo (bot/actions.py) carries only the target revision: the listener cannot "
    "tell that the revision the cause named has stopped serving; fix: the cause's button "
    "carries the revision it found serving (e.g. RollbackTo.replacing, optional), and "
    "commands/rollback.roll_back refuses when the service no longer serves it ('phase 4 now "
    "serves …: run /health again'), as a stale rollout button is refused",
)
def test_roll_back_from_details_drawn_before_a_redeploy_does_not_undo_it(
    own_bot: SandboxBot,
) -> None:
    details = _details(own_bot, "vegas_line_coverage")
    roll_back = next(b for b in buttons(details) if b["action_id"] == ActionId.ROLLBACK_TO)
    assert json.loads(roll_back["value"])["service"] == PHASE4

    drawn = details.text  # the workspace updates its messages in place
    fixed = _redeploy(own_bot)
    ws = own_bot.slack.workspace
    own_bot.slack.click(DEPLOYER, details, ActionId.ROLLBACK_TO, roll_back["value"])
    told = wait_until(
        ws,
        lambda: next(
            (
                m
                for m in ws.messages
                if m.ephemeral_to == DEPLOYER and m.text != drawn and PHASE4 in m.text
            ),
            None,
        ),
    )
    cloud_run = sandbox_drift_sources(own_bot.runtime.profile, own_bot.platform).cloud_run
    serving = {t.revision: t.percent for t in cloud_run.get_service(PHASE4).serving}
    assert serving == {fixed: 100}, f"{told.text!r}; now serving {serving}"
