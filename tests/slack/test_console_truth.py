"""Where the console could teach the wrong Slack: placeholders, dead buttons, commands, times."""

from __future__ import annotations

from bot.actions import ActionId
from opsbot.sandbox_serve import SandboxBot
from sandbox.slack_workspace import Message
from tests.slack.conftest import checklist_for
from tests.slack.helpers import DEPLOYER, ONCALL, block_text, buttons, wait_until


def test_a_command_outside_the_manifest_never_reaches_the_app(bot: SandboxBot) -> None:
    ws = bot.slack.workspace
    delivered = bot.slack.command(ONCALL, "#orchestration-health", "/help")
    assert delivered.status == 0  # Slack sent nothing
    said = [m for m in ws.visible_to(ONCALL) if "`/help` is not a valid command" in m.text]
    assert said and said[-1].user == "USLACKBOT"
    assert not [m for m in ws.messages if "dispatch_failed" in m.text]


def test_messages_are_stamped_with_the_sandbox_clock_as_it_passes(bot: SandboxBot) -> None:
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, "#orchestration-health", "/drift help")
    answer = wait_until(ws, lambda: next(iter(reversed(ws.visible_to(ONCALL))), None))
    now = bot.platform.clock().timestamp()
    assert now - 60 < float(answer.ts) <= now + 1  # 2026-02-05, not the machine's frozen start


def test_the_checklist_replaces_its_placeholder_and_loses_its_buttons_once_started(
    deploying: SandboxBot,
) -> None:
    ws = deploying.slack.workspace
    deploying.slack.command(
        DEPLOYER, "#deployment-alerts", "/deploy nba-phase4-precompute-processors"
    )
    checklist = checklist_for(ws, DEPLOYER)
    assert "Preparing the checklist" in checklist.history[0]  # the placeholder, replaced in place
    assert not [m for m in ws.visible_to(DEPLOYER) if m.text.startswith("Preparing")]
    deploying.slack.click(DEPLOYER, checklist, ActionId.DEPLOY_START)

    def replaced() -> Message | None:
        now = ws.find(checklist.channel, checklist.ts)
        return now if "started" in now.text else None

    started = wait_until(ws, replaced)
    assert buttons(started) == [] and "follow it in" in block_text(started)


def test_the_revision_list_and_a_commit_search_leave_no_placeholder_behind(
    deploying: SandboxBot,
) -> None:
    ws = deploying.slack.workspace
    deploying.slack.command(DEPLOYER, "#deployment-alerts", "/rollback nba-grading-service")
    listed = wait_until(
        ws, lambda: next((m for m in ws.visible_to(DEPLOYER) if "pick a revision" in m.text), None)
    )
    assert listed.history and "Reading nba-grading-service's revisions" in listed.history[0]
    deploying.slack.command(DEPLOYER, "#deployment-alerts", "/drift contains 3f18b34b")
    wait_until(
        ws,
        lambda: next(
            (m for m in ws.bot_messages("#deployment-alerts") if "Commit 3f18b34b" in m.text), None
        ),
    )
    wait_until(ws, lambda: not [m for m in ws.visible_to(DEPLOYER) if "Looking for" in m.text])
