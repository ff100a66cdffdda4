"""Rollouts as a careless operator, a flaky network and Slack's retries meet them."""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.actions import ActionId
from commands.deploy.abort import abort_rollout
from opsbot.profile import load_profile
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.platform import Sandbox
from sandbox.slack_workspace import ResponseUrl
from store.states import RolloutState
from tests.slack.conftest import FAST, ROOT, checklist_for, left_rollout, rollout_message
from tests.slack.helpers import (
    APPROVER,
    DEPLOYER,
    HEALTH_CHANNEL,
    ONCALL,
    block_text,
    buttons,
    finished,
    showing,
    wait_until,
)


def test_a_rollout_started_but_never_posted_gets_its_message_and_buttons_on_restart(
    tmp_path: Path,
) -> None:
    """Killed after Start was recorded and the canary took traffic, before the message posted."""
    with left_rollout(tmp_path, "nba-phase4-precompute-processors") as left:
        with left.bot() as bot:
            ws = bot.slack.workspace
            thread = bot.server.start_in_thread()
            try:
                posted = rollout_message(ws, "Deploy nba-phase4-precompute-processors")
                labels = [b["text"]["text"] for b in buttons(posted)]
                assert "Roll back" in labels and any(x.startswith("Promote") for x in labels)
            finally:
                bot.server.stop(thread)
        shown = left.tools.store.get(left.rollout.id)
        assert shown is not None and (shown.slack_channel, shown.slack_ts) == (
            posted.channel,
            posted.ts,
        )
        assert len(ws.bot_messages("#canary-alerts")) == 1  # one message, however many renders


def test_a_rollout_that_ended_while_its_message_lagged_is_shown_ended_on_restart(
    tmp_path: Path,
) -> None:
    """Found by the chaos soak (seed 3): a replica killed between recording a rollout's end and
    updating its message left it showing "100%, watched" for good."""
    with left_rollout(tmp_path, "nba-phase4-precompute-processors") as left:
        tools, live = left.tools, left.rollout
        with left.bot() as bot:
            ws = bot.slack.workspace
            posted = left.posted_in(ws)  # what the killed process had shown
            ended = abort_rollout(tools.cloud_run, tools.store, live.id, DEPLOYER, "by hand")
            assert ended is not None and ended.state is RolloutState.ROLLED_BACK
            assert "canary at 10%" in ws.find(posted.channel, posted.ts).text  # still lagging
            thread = bot.server.start_in_thread()
            try:
                shown = wait_until(ws, showing(ws, posted, "rolled back"))
            finally:
                bot.server.stop(thread)
        assert "Promote" not in " ".join(b["text"]["text"] for b in buttons(shown))
        top_level = [m for m in ws.bot_messages("#canary-alerts") if m.thread_ts is None]
        assert top_level == [shown]  # updated in place (its thread has the postmortem offer)


def test_a_message_posted_by_a_replica_killed_before_recording_it_is_deleted(
    tmp_path: Path,
) -> None:
    """Found by the chaos soak (seed 1): a replica killed between posting a rollout's message
    and recording it left a second message, stuck at "creating revision… 0 s"."""
    with left_rollout(tmp_path, "nba-phase4-precompute-processors") as left:
        with left.bot() as bot:
            ws = bot.slack.workspace
            stray = left.posted_unrecorded_in(ws)
            ws.post("#canary-alerts", "someone else's words", None, ONCALL)  # left alone
            thread = bot.server.start_in_thread()
            try:
                kept = wait_until(
                    ws,
                    lambda: next(
                        (m for m in ws.bot_messages("#canary-alerts") if m.ts != stray.ts), None
                    ),
                )
                deadline, version = time.monotonic() + 30, -1  # the rollout's updates go on
                while stray in ws.bot_messages("#canary-alerts") and time.monotonic() < deadline:
                    version = ws.wait_for_change(version, max(0.0, deadline - time.monotonic()))
            finally:
                bot.server.stop(thread)
        shown = left.tools.store.get(left.rollout.id)
        assert shown is not None and shown.slack_ts == kept.ts
        assert ws.bot_messages("#canary-alerts") == [kept]
        assert [m.text for m in ws.messages if m.user == ONCALL] == ["someone else's words"]


def test_racing_start_clicks_make_one_rollout_and_every_other_click_is_told_why(
    deploying: SandboxBot,
) -> None:
    ws = deploying.slack.workspace
    deploying.slack.command(
        DEPLOYER, "#deployment-alerts", "/deploy nba-phase4-precompute-processors"
    )
    checklist = checklist_for(ws, DEPLOYER)
    with ThreadPoolExecutor(10) as pool:
        answers = list(
            pool.map(
                lambda _: deploying.slack.click(DEPLOYER, checklist, ActionId.DEPLOY_START),
                range(10),
            )
        )
    assert [a.status for a in answers] == [200] * 10
    rollout_message(ws, "canary at 10%")

    def told() -> list[str] | None:
        said = [m.text for m in ws.messages if m.ephemeral_to == DEPLOYER and "progress" in m.text]
        return said if len(said) >= 9 else None

    for text in wait_until(ws, told):
        assert "rollout #1" in text and "in progress" in text
    assert not [m for m in ws.messages if "something went wrong" in m.text]
    assert len(ws.bot_messages("#canary-alerts")) == 1


def test_an_automatic_rollback_is_said_in_the_deployment_channel_to_who_started_it(
    deploying: SandboxBot,
) -> None:
    ws = deploying.slack.workspace
    deploying.slack.command(DEPLOYER, "#deployment-alerts", "/deploy nba-scrapers")
    deploying.slack.click(DEPLOYER, checklist_for(ws, DEPLOYER), ActionId.DEPLOY_START)
    rollout_message(ws, "rolled back")
    said = wait_until(
        ws,
        lambda: next(
            (
                m
                for m in ws.bot_messages("#deployment-alerts")
                if m.ephemeral_to is None and "rolled itself back" in m.text
            ),
            None,
        ),
    )
    assert f"<@{DEPLOYER}>" in said.text and "nba-scrapers-00055-368" in said.text
    assert "failing analyses in a row" in said.text


def test_rolling_back_by_the_button_says_who_did_it_and_offers_a_postmortem(
    deploying: SandboxBot,
) -> None:
    ws = deploying.slack.workspace
    deploying.slack.command(
        DEPLOYER, "#deployment-alerts", "/deploy nba-phase4-precompute-processors"
    )
    deploying.slack.click(DEPLOYER, checklist_for(ws, DEPLOYER), ActionId.DEPLOY_START)
    canary = rollout_message(ws, "canary at 10%")
    deploying.slack.click(DEPLOYER, canary, ActionId.ROLLOUT_ROLL_BACK)
    said = wait_until(
        ws,
        lambda: next(
            (m for m in ws.bot_messages("#deployment-alerts") if m.ephemeral_to is None), None
        ),
    )
    assert f"<@{DEPLOYER}> rolled back rollout #1" in said.text
    ended = rollout_message(ws, "rolled back")
    assert f"rolled back by <@{DEPLOYER}>" in block_text(ended)
    offer = wait_until(
        ws,
        lambda: next((m for m in ws.messages if m.thread_ts == ended.ts), None),
    )
    assert (
        offer.text
        == ":memo: Rollout #1 of nba-phase4-precompute-processors rolled back: write it up while it is fresh."
    )
    assert offer.blocks[0]["accessory"]["value"] == '{"subject":"rollout:1"}'


@pytest.mark.parametrize(
    "revision",
    [
        "../../etc/passwd",
        "<@U0LEEAPPRV>",
        "NBA-grading-service-00083-499",
        "--upload-pack=/tmp/pwned",
        "a" * 10_000,
        "nba-grading\x00-service",
    ],
)
def test_rollback_to_a_malformed_revision_is_answered_with_usage_and_changes_nothing(
    bot: SandboxBot, revision: str
) -> None:
    answer = bot.slack.command(
        DEPLOYER, "#deployment-alerts", f"/rollback nba-grading-service {revision}"
    )
    assert answer.status == 200
    said = answer.json()
    assert said["response_type"] == "ephemeral" and "bad revision" in said["text"]
    assert "Usage: `/rollback SERVICE [revision]`" in said["text"]
    assert "chat.postMessage" not in bot.slack.workspace.calls


def test_slacks_retries_of_a_command_already_acknowledged_post_one_report(bot: SandboxBot) -> None:
    ws = bot.slack.workspace
    sender = bot.slack.sender
    assert sender is not None
    fields = {
        "command": "/health",
        "text": "2026-02-03",
        "channel_id": "C0HEALTH01",
        "channel_name": "orchestration-health",
        "user_id": ONCALL,
        "team_id": "T0SANDBOX1",
        "response_url": ws.new_response_url(
            bot.slack.url, ResponseUrl("C0HEALTH01", ONCALL, None, False)
        ),
        "trigger_id": f"13.{secrets.token_hex(6)}",
    }
    body = urlencode(fields)
    assert sender.send(body, "application/x-www-form-urlencoded").status == 200
    wait_until(ws, finished(ws, "Health 2026-02-03"))
    for retry in range(1, 5):  # Slack thought the first went unanswered
        answer = sender.send(body, "application/x-www-form-urlencoded", retry_num=retry)
        assert answer.status == 200 and answer.body == ""
    reports = [m for m in ws.bot_messages(HEALTH_CHANNEL) if m.text.startswith("Health 2026-02-03")]
    assert len(reports) == 1
    assert not [m for m in ws.messages if m.ephemeral_to == ONCALL]


def test_drift_contains_counts_a_service_named_many_times_once(bot: SandboxBot) -> None:
    line = "/drift contains 3f18b34b " + " ".join(["prediction-worker"] * 300)
    answer = bot.slack.command(ONCALL, HEALTH_CHANNEL, line).json()
    assert "in 1 service…" in answer["text"]  # counted once, and said in the singular
    wait_until(bot.slack.workspace, lambda: len(bot.runtime.in_flight) == 0)


def test_a_canary_channel_the_bot_is_not_in_blocks_the_deploy_before_anything_moves(
    deploying: SandboxBot,
) -> None:
    ws = deploying.slack.workspace
    service = "nba-phase4-precompute-processors"
    deploying.slack.command(DEPLOYER, "#deployment-alerts", f"/deploy {service}")
    reviewed = checklist_for(ws, DEPLOYER)  # reviewed while the bot was still in the channel
    ws.leave(["#canary-alerts"])
    deploying.slack.command(DEPLOYER, "#deployment-alerts", f"/deploy {service}")
    blocked = wait_until(
        ws,
        lambda: next((m for m in ws.visible_to(DEPLOYER) if "Cannot start" in block_text(m)), None),
    )
    assert "opsbot cannot see #canary-alerts" in block_text(blocked)
    deploying.slack.click(DEPLOYER, reviewed, ActionId.DEPLOY_START)
    refused = wait_until(
        ws,
        lambda: next((m for m in ws.visible_to(DEPLOYER) if "Cannot deploy" in m.text), None),
    )
    assert "invite @opsbot" in refused.text and "Nothing was changed" in refused.text
    assert deploying.runtime.deploy_tools is not None
    assert deploying.runtime.deploy_tools().store.recent() == []
    assert deploying.platform.cloud_run is not None
    assert not [c for c in deploying.platform.cloud_run.received if c.method == "PATCH"]


@pytest.mark.parametrize(
    ("left", "posted_in"),
    [(["#canary-alerts"], "#deployment-alerts"), (["#canary-alerts", "#deployment-alerts"], None)],
)
def test_a_live_rollout_whose_channel_refuses_it_is_posted_elsewhere_or_rolled_back(
    tmp_path: Path, left: list[str], posted_in: str | None
) -> None:
    """The bot was removed from the channel after the checklist passed: never an unseen canary."""
    with left_rollout(tmp_path, "nba-phase4-precompute-processors") as found:
        tools, live = found.tools, found.rollout
        with found.bot() as bot:
            ws = bot.slack.workspace
            ws.leave(left)
            thread = bot.server.start_in_thread()
            try:
                if posted_in is not None:
                    posted = wait_until(
                        ws, lambda: next(iter(ws.bot_messages(posted_in)), None), timeout_s=30
                    )
                    note = wait_until(
                        ws,
                        lambda: next(
                            (m for m in ws.bot_messages(posted_in) if "cannot post" in m.text),
                            None,
                        ),
                    )
                    assert "Deploy nba-phase4-precompute-processors" in posted.text
                    assert "#canary-alerts (not_in_channel)" in note.text
                else:  # no channel takes it: rolled back, and the requester told directly
                    told = wait_until(
                        ws, lambda: next(iter(ws.bot_messages(DEPLOYER)), None), timeout_s=30
                    )
                    assert f"Rollout #{live.id}" in told.text and "rolled back" in told.text
            finally:
                bot.server.stop(thread)
        ended = tools.store.get(live.id)
        assert ended is not None
        if posted_in is None:
            assert ended.state.value == "rolled_back"
            assert "could not be posted in #canary-alerts" in (ended.reason or "")
            serving = tools.cloud_run.get_service("nba-phase4-precompute-processors").serving
            assert [t.percent for t in serving] == [100]
        else:
            assert ended.slack_channel == ws.channel(posted_in).id


def test_a_completion_whose_label_write_is_refused_still_shows_complete(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Found by the chaos soak (seed 4): COMPLETE was recorded, then Cloud Run refused the
    commit-sha label; the tick failed, the driver stopped at the ended rollout, and the message
    kept saying "100%, watched". The label is informational (drift reads the revision's), so a
    refusal is a warning, not a failed tick."""
    profile = load_profile(ROOT / "opsbot.toml")
    timing = FAST | {"watch_minutes": 0.1}  # watched 6 s: time to refuse the next write
    with Sandbox() as platform, sandbox_bot(profile, platform, deploy_timing=timing) as bot:
        assert platform.traffic is not None and platform.cloud_run is not None
        platform.traffic.rates["nba-phase4-precompute-processors"] = 500.0
        thread = bot.server.start_in_thread()
        try:
            ws = bot.slack.workspace
            bot.slack.command(
                DEPLOYER, "#deployment-alerts", "/deploy nba-phase4-precompute-processors"
            )
            bot.slack.click(DEPLOYER, checklist_for(ws, DEPLOYER), ActionId.DEPLOY_START)
            canary = rollout_message(ws, "canary at 10%")
            passed = wait_until(ws, showing(ws, canary, ":white_check_mark: pass"), timeout_s=60)
            bot.slack.click(APPROVER, passed, ActionId.ROLLOUT_PROMOTE_FULL)
            wait_until(ws, showing(ws, canary, "100%, watched"))
            platform.cloud_run.refuse_writes = 1  # the label written at completion is refused
            done = wait_until(ws, showing(ws, canary, "· complete"), timeout_s=60)
        finally:
            bot.server.stop(thread)
        assert "Promote" not in block_text(done)
        said = [r.getMessage() for r in caplog.records if r.name.startswith("opsbot")]
        assert any("label was not updated" in line for line in said), said
        assert not any("tick failed" in line for line in said), said
