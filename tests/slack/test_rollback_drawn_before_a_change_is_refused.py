"""A Roll back drawn before what a service serves changed is refused, not acted on.

On 2026-01-27 the Vegas-line check's Details names phase 4's deploy of 2026-01-26
(`-00076-`, "still serving") with **Roll back** to the revision before it (`-00075-`). A
deployer then ships the fix (a new revision, 100% of traffic). The ephemeral Details is still on
on-call's screen; its Roll back, clicked after the redeploy, used to send all of phase 4's traffic
to `-00075-`: code from before 2026-01-26, older than the bad deploy, undoing the fix. The cause
it acted on ("-00076- still serving") was no longer true when it was clicked. /rollback's own
picker, drawn before the redeploy, had the same hole. Now each Roll back carries what it saw
serving, and a click after that changed says what serves now and to look again.
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
from sandbox.slack_workspace import BOT_USER, Message
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
    """A sandbox of its own (these tests change Cloud Run), served."""
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


def _picker(bot: SandboxBot, after: Message | None = None) -> Message:
    """`/rollback phase4`'s list of revisions (a new one, when `after` is the last)."""
    ws = bot.slack.workspace
    bot.slack.command(DEPLOYER, "#deployment-alerts", f"/rollback {PHASE4}")
    return wait_until(
        ws,
        lambda: next(
            (
                m
                for m in reversed(ws.messages)
                if m.ephemeral_to == DEPLOYER
                and "pick a revision" in m.text
                and (after is None or m.ts > after.ts)
            ),
            None,
        ),
    )


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


def _serving(bot: SandboxBot) -> dict[str, int]:
    cloud_run = sandbox_drift_sources(bot.runtime.profile, bot.platform).cloud_run
    return {t.revision: t.percent for t in cloud_run.get_service(PHASE4).serving}


def _told(bot: SandboxBot, drawn: Message) -> Message:
    """The answer to a click on `drawn`: an ephemeral to the deployer about phase 4, or `drawn`
    itself replaced by what was done."""
    ws = bot.slack.workspace

    def answer() -> Message | None:
        replaced = ws.find(drawn.channel, drawn.ts)
        if replaced.text.startswith("Done:"):
            return replaced
        return next(
            (
                m
                for m in ws.messages
                if m.ephemeral_to == DEPLOYER
                and m.ts > drawn.ts
                and PHASE4 in m.text
                and "pick a revision" not in m.text
            ),
            None,
        )

    return wait_until(ws, answer)


def _assert_refused(told: Message, fixed: str) -> None:
    assert f"now serves {fixed} (100%)" in told.text, told.text  # what serves now
    assert f"`/rollback {PHASE4}`" in told.text, told.text  # and to look again
    assert "nothing moved" in told.text, told.text


def test_roll_back_from_details_drawn_before_a_redeploy_is_refused_and_says_what_serves(
    own_bot: SandboxBot,
) -> None:
    details = _details(own_bot, "vegas_line_coverage")
    roll_back = next(b for b in buttons(details) if b["action_id"] == ActionId.ROLLBACK_TO)
    assert json.loads(roll_back["value"])["service"] == PHASE4

    fixed = _redeploy(own_bot)
    own_bot.slack.click(DEPLOYER, details, ActionId.ROLLBACK_TO, roll_back["value"])
    told = _told(own_bot, details)
    assert _serving(own_bot) == {fixed: 100}, told.text  # the fix still serves
    _assert_refused(told, fixed)


def test_rollbacks_own_picker_drawn_before_a_redeploy_is_refused_and_a_new_one_acts(
    own_bot: SandboxBot,
) -> None:
    picker = _picker(own_bot)
    roll_back = buttons(picker)[0]
    target = json.loads(roll_back["value"])["revision"]

    fixed = _redeploy(own_bot)
    own_bot.slack.click(DEPLOYER, picker, ActionId.ROLLBACK_TO, roll_back["value"])
    told = _told(own_bot, picker)
    assert _serving(own_bot) == {fixed: 100}, told.text
    _assert_refused(told, fixed)

    again = _picker(own_bot, after=told)  # looking again, as told: its Roll back acts
    fresh = next(b for b in buttons(again) if json.loads(b["value"])["revision"] == target)
    own_bot.slack.click(DEPLOYER, again, ActionId.ROLLBACK_TO, fresh["value"])
    ws = own_bot.slack.workspace
    wait_until(
        ws, lambda: f"Done: {PHASE4} serves {target}" in ws.find(again.channel, again.ts).text
    )
    assert _serving(own_bot) == {target: 100}


def test_a_roll_back_posted_before_buttons_said_what_served_still_acts(
    own_bot: SandboxBot,
) -> None:
    """Buttons already in channels carry only the service and revision: they act as before."""
    ws = own_bot.slack.workspace
    target = next(iter(json.loads(b["value"]) for b in buttons(_picker(own_bot))))["revision"]
    old = json.dumps({"service": PHASE4, "revision": target}, separators=(",", ":"))
    button = {
        "type": "button",
        "action_id": ActionId.ROLLBACK_TO.value,
        "text": {"type": "plain_text", "text": "Roll back"},
        "value": old,
    }
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "old"}, "accessory": button}
    posted = ws.post("#deployment-alerts", f"Roll back {PHASE4}", [section], BOT_USER.id)
    fixed = _redeploy(own_bot)
    assert _serving(own_bot) == {fixed: 100}
    own_bot.slack.click(DEPLOYER, posted, ActionId.ROLLBACK_TO, old)
    wait_until(
        ws, lambda: f"Done: {PHASE4} serves {target}" in ws.find(posted.channel, posted.ts).text
    )
    assert _serving(own_bot) == {target: 100}
