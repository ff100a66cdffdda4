"""/deploy through the Slack emulator with two people: checklist, canary, approval, rollback."""

from __future__ import annotations

import json
from pathlib import Path

from bot.actions import ActionId
from opsbot.sandbox_serve import SandboxBot
from tests.slack.conftest import checklist_for, left_rollout, rollout_message
from tests.slack.helpers import (
    APPROVER,
    DEPLOYER,
    ONCALL,
    block_text,
    buttons,
    ephemeral_for,
    showing,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]


def test_a_bad_canary_rolls_itself_back_and_the_message_says_which_numbers_failed(
    deploying: SandboxBot,
) -> None:
    ws = deploying.slack.workspace
    deploying.slack.command(DEPLOYER, "#deployment-alerts", "/deploy nba-scrapers")
    checklist = checklist_for(ws, DEPLOYER)
    assert deploying.slack.click(DEPLOYER, checklist, ActionId.DEPLOY_START).status == 200
    ended = rollout_message(ws, "rolled back")
    text = block_text(ended)
    assert "5xx 12.0%" in text and "KeyError: 'bookmaker_id'" in text
    serving = deploying.platform.cloud_run.state.get_service(  # type: ignore[union-attr]
        "projects/nba-props-platform/locations/us-west2/services/nba-scrapers"
    )["trafficStatuses"]
    assert [(t["revision"], t["percent"]) for t in serving if t["percent"]] == [
        ("nba-scrapers-00055-368", 100)
    ]


def test_a_second_person_promotes_and_the_rollout_completes(deploying: SandboxBot) -> None:
    ws = deploying.slack.workspace
    deploying.slack.command(
        DEPLOYER, "#deployment-alerts", "/deploy nba-phase4-precompute-processors"
    )
    checklist = checklist_for(ws, DEPLOYER)
    assert "Ships* 202 commits" in block_text(checklist)
    assert "*Data now* vegas_line_coverage OK" in block_text(checklist)  # the real check, now
    deploying.slack.click(DEPLOYER, checklist, ActionId.DEPLOY_START)
    canary = rollout_message(ws, "canary at 10%")

    deploying.slack.click(DEPLOYER, canary, ActionId.ROLLOUT_PROMOTE_FULL)  # the requester may not
    wait_until(
        ws,
        lambda: next(
            (m for m in ws.messages if m.ephemeral_to == DEPLOYER and "approver role" in m.text),
            None,
        ),
    )
    # a step is promoted once an analysis has passed at it
    passed = wait_until(ws, showing(ws, canary, ":white_check_mark: pass"))
    deploying.slack.click(APPROVER, passed, ActionId.ROLLOUT_PROMOTE_FULL)
    done = rollout_message(ws, "complete")
    assert f"approved by <@{APPROVER}> (100%)" in block_text(done)
    assert deploying.runtime.deploy_tools is not None
    tools = deploying.runtime.deploy_tools()
    [rollout] = tools.store.recent()
    service = tools.cloud_run.get_service("nba-phase4-precompute-processors")
    assert service.labels["commit-sha"] == rollout.commit_sha[:8]  # names what now runs, short
    assert [(t.revision, t.percent) for t in service.serving] == [(rollout.canary_revision, 100)]
    actions = [(e.actor, e.action) for e in tools.store.audit_log(rollout.id)]
    assert actions[:2] == [(DEPLOYER, "deploy.begin"), (DEPLOYER, "deploy.start")]
    assert (DEPLOYER, "deploy.promote.refused") in actions and (
        APPROVER,
        "deploy.promote",
    ) in actions
    assert ("opsbot", "deploy.analysis") in actions and actions[-1] == ("opsbot", "deploy.complete")


def test_deploying_needs_the_deployer_role(deploying: SandboxBot) -> None:
    ack = deploying.slack.command(ONCALL, "#deployment-alerts", "/deploy nba-scrapers")
    assert "needs the deployer role" in ack.json()["text"]
    assert deploying.slack.workspace.bot_messages("#canary-alerts") == []


def test_rollback_lists_revisions_and_a_confirmed_click_moves_all_traffic(
    deploying: SandboxBot,
) -> None:
    ws = deploying.slack.workspace
    deploying.slack.command(DEPLOYER, "#deployment-alerts", "/rollback nba-grading-service")
    listed = wait_until(
        ws,
        lambda: next(
            (m for m in ws.messages if m.ephemeral_to == DEPLOYER and "pick a revision" in m.text),
            None,
        ),
    )
    text = block_text(listed)
    assert (
        "*nba-grading-service-00083-499* · 90% now" in text
        and "*nba-grading-service-00084-20b* · 10% now" in text
    )
    target = next(  # it carries what served when drawn (a click after that changed is refused)
        b["value"]
        for b in buttons(listed)
        if json.loads(b["value"])["revision"] == "nba-grading-service-00083-499"
    )
    # a double click: both requests leave before the first answer replaces the message
    second = deploying.slack.click_payload(DEPLOYER, listed, ActionId.ROLLBACK_TO, target)
    assert deploying.slack.click(DEPLOYER, listed, ActionId.ROLLBACK_TO, target).status == 200
    posted = wait_until(
        ws,
        lambda: next(
            (m for m in ws.bot_messages("#deployment-alerts") if m.ephemeral_to is None), None
        ),
    )
    assert "100% of traffic on nba-grading-service-00083-499, verified" in posted.text
    wait_until(
        ws, lambda: "Done: nba-grading-service serves" in ws.find(listed.channel, listed.ts).text
    )
    assert buttons(ws.find(listed.channel, listed.ts)) == []  # replaced whole: no live buttons
    assert deploying.slack.sender is not None
    deploying.slack.sender.interaction(second)
    wait_until(
        ws,
        lambda: next(
            (m for m in ws.messages if m.ephemeral_to == DEPLOYER and "Already done" in m.text),
            None,
        ),
    )
    public = [
        m
        for m in ws.bot_messages("#deployment-alerts")
        if m.ephemeral_to is None and m.thread_ts is None  # the postmortem offer is in its thread
    ]
    assert len(public) == 1


def test_rollback_with_a_revision_goes_straight_to_the_confirmation(deploying: SandboxBot) -> None:
    ack = deploying.slack.command(
        DEPLOYER,
        "#deployment-alerts",
        "/rollback nba-grading-service nba-grading-service-00083-499",
    )
    assert ack.json()["text"] == "Checking nba-grading-service-00083-499…"
    ws = deploying.slack.workspace
    asked = wait_until(
        ws,
        ephemeral_for(
            ws, DEPLOYER, "Roll back nba-grading-service to nba-grading-service-00083-499?"
        ),
    )
    assert ":warning:" not in block_text(asked)  # nothing went wrong with it
    assert (
        deploying.slack.command(ONCALL, "#deployment-alerts", "/rollback nba-grading-service")
        .json()["text"]
        .startswith(":no_entry:")
    )


def test_a_restarted_bot_picks_up_the_rollout_it_left_and_finishes_it(tmp_path: Path) -> None:
    """The first bot died mid-canary (only the store survives): the next one drives it to the end."""
    with left_rollout(tmp_path, "nba-scrapers") as left:
        tools, started = left.tools, left.rollout
        with left.bot() as bot:
            ws = bot.slack.workspace
            message = left.posted_in(ws)  # what the first bot posted
            thread = bot.server.start_in_thread()
            try:
                wait_until(
                    ws, lambda: "rolled back" in ws.find(message.channel, message.ts).text, 30
                )
            finally:
                bot.server.stop(thread)
        ended = tools.store.get(started.id)
        assert ended is not None and ended.state == "rolled_back"
        serving = tools.cloud_run.get_service("nba-scrapers").serving
        assert [(t.revision, t.percent) for t in serving] == [("nba-scrapers-00055-368", 100)]


def test_a_slow_revision_is_shown_being_created_then_its_canary_gets_traffic(
    deploying: SandboxBot,
) -> None:
    assert deploying.platform.cloud_run is not None
    deploying.platform.cloud_run.state.operation_s = 1.5  # Cloud Run creating the revision
    ws = deploying.slack.workspace
    deploying.slack.command(
        DEPLOYER, "#deployment-alerts", "/deploy nba-phase4-precompute-processors"
    )
    deploying.slack.click(DEPLOYER, checklist_for(ws, DEPLOYER), ActionId.DEPLOY_START)
    creating = rollout_message(ws, "creating revision…")
    assert "Cloud Run is creating the canary revision" in block_text(creating)
    assert [b["text"]["text"] for b in buttons(creating)] == ["Roll back"]  # nothing to promote
    canary = rollout_message(ws, "canary at 10%")
    assert canary.ts == creating.ts  # the same one message, updated
    assert "Promote to 50%" in [b["text"]["text"] for b in buttons(canary)]
