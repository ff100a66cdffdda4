"""/drift from Slack: the per-service report, its expand button, and `contains`."""

from __future__ import annotations

import json

from bot.actions import ActionId
from opsbot.sandbox_serve import SandboxBot
from tests.slack.helpers import (
    HEALTH_CHANNEL,
    ONCALL,
    block_text,
    buttons,
    ephemeral_for,
    finished,
    wait_until,
)


def test_drift_lists_each_service_with_severity_commit_and_commits_behind(bot: SandboxBot) -> None:
    ws = bot.slack.workspace
    assert bot.slack.command(ONCALL, HEALTH_CHANNEL, "/drift").status == 200
    report = wait_until(ws, finished(ws, "Drift CRITICAL"))
    text = block_text(report)
    assert report.history[0].startswith("Drift: checking 7 services")
    assert "*nba-phase4-precompute-processors* CRITICAL" in text
    assert "runs `67d1551e` · 202 commits behind · oldest 9d 22h" in text
    assert "*prediction-worker* OK" in text
    assert "nba-scrapers-00055-368 (100%) runs no commit label · 6 commits behind (by time)" in text
    assert "fix: `/deploy nba-phase4-precompute-processors` ships `254b79e2`" in text
    expandable = sorted(json.loads(b["value"])["service"] for b in buttons(report))
    assert expandable == ["nba-grading-service", "nba-phase4-precompute-processors", "nba-scrapers"]


def test_the_expand_button_lists_the_undeployed_commits_of_that_service(bot: SandboxBot) -> None:
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, HEALTH_CHANNEL, "/drift nba-phase4-precompute-processors")
    report = wait_until(ws, finished(ws, "Drift CRITICAL"))
    assert "prediction-worker" not in block_text(report)  # only the service asked for
    bot.slack.click(ONCALL, report, ActionId.DRIFT_EXPAND)
    shown = wait_until(
        ws, ephemeral_for(ws, ONCALL, "nba-phase4-precompute-processors: 202 commits behind")
    )
    text = block_text(shown)
    assert text.count(" ago") == 20 and "_and 182 more_" in text


def test_drift_contains_says_where_a_commit_is_live_and_where_it_is_missing(
    bot: SandboxBot,
) -> None:
    ws = bot.slack.workspace
    ack = bot.slack.command(ONCALL, HEALTH_CHANNEL, "/drift contains 3f18b34b")
    assert "Looking for 3f18b34b in 7 services" in ack.json()["text"]
    answer = wait_until(ws, finished(ws, "Commit 3f18b34b: live on 6 services, missing on 1"))
    text = block_text(answer)
    assert "*nba-phase4-precompute-processors*" in text and "156 commits short" in text
    assert "fix(phase4): restore Vegas line coverage" in text


def test_an_unknown_commit_is_told_to_the_asker_only(bot: SandboxBot) -> None:
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, HEALTH_CHANNEL, "/drift contains deadbeef")
    shown = wait_until(ws, ephemeral_for(ws, ONCALL, "not in the platform repo"))
    assert shown.ephemeral_to == ONCALL
    assert [m for m in ws.bot_messages() if m.ephemeral_to is None] == []  # nothing in the channel


def test_the_ack_does_not_wait_for_the_work(bot: SandboxBot) -> None:
    """With Cloud Run answering slowly, the command is acknowledged before the report exists."""
    ws = bot.slack.workspace
    cloud_run = bot.platform.cloud_run
    assert cloud_run is not None
    cloud_run.latency_s = 1.0
    try:
        ack = bot.slack.command(ONCALL, HEALTH_CHANNEL, "/drift prediction-worker")
        assert ack.status == 200
        assert finished(ws, "Drift ")() is None  # acknowledged while the drift is still being read
    finally:
        cloud_run.latency_s = 0.0
    assert "prediction-worker" in block_text(wait_until(ws, finished(ws, "Drift OK")))
