"""Start postmortem from /health's Details, an ephemeral message: the draft is posted in the
channel, not under the ephemeral's ts (which names no message there: Slack's thread_not_found)."""

from __future__ import annotations

import json

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.actions import ActionId
from opsbot.sandbox_serve import SandboxBot
from sandbox.slack_emulator import SlackEmulator
from sandbox.slack_workspace import Message
from tests.slack.helpers import (
    HEALTH_CHANNEL,
    ONCALL,
    buttons,
    ephemeral_for,
    finished,
    wait_until,
)


def _phase3_details(bot: SandboxBot) -> Message:
    """`/health 2026-01-14`, then Details of phase3_completion (a bad deploy, rolled back)."""
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, HEALTH_CHANNEL, "/health 2026-01-14")
    report = wait_until(ws, finished(ws, "Health 2026-01-14: "))
    value = next(
        b["value"]
        for b in buttons(report)
        if b["action_id"] == ActionId.HEALTH_DETAILS
        and json.loads(b["value"])["check"] == "phase3_completion"
    )
    bot.slack.click(ONCALL, report, ActionId.HEALTH_DETAILS, value)
    return wait_until(ws, ephemeral_for(ws, ONCALL, "phase3_completion on 2026-01-14"))


def test_start_postmortem_from_health_details_posts_the_draft_in_the_channel(
    bot: SandboxBot,
) -> None:
    ws = bot.slack.workspace
    details = _phase3_details(bot)
    assert details.ephemeral_to == ONCALL
    start = next(b for b in buttons(details) if b["action_id"] == ActionId.POSTMORTEM_START)
    payload = bot.slack.click_payload(ONCALL, details, ActionId.POSTMORTEM_START, start["value"])
    assert payload["container"]["is_ephemeral"] is True and "message" not in payload

    bot.slack.click(ONCALL, details, ActionId.POSTMORTEM_START, start["value"])

    said = ("Started: <", "Already started: <")  # a link to its message either way
    told = wait_until(
        ws,
        lambda: next(
            (m for m in ws.messages if m.ephemeral_to == ONCALL and m.text.startswith(said)), None
        ),
        timeout_s=60,
    )
    draft = next(
        m
        for m in ws.bot_messages(HEALTH_CHANNEL)
        if m.ephemeral_to is None and m.text.startswith("Postmortem")
    )
    assert draft.thread_ts is None  # in the channel, where everyone sees it
    assert "on 2026-01-14" in draft.text and f"p{draft.ts.replace('.', '')}|" in told.text
    assert ("chat.postMessage", "thread_not_found") not in ws.rejections
    # the session's bot may have started it in an earlier test's workspace: its update finding
    # that message gone is no refusal of this test's
    ws.rejections[:] = [r for r in ws.rejections if r != ("chat.update", "message_not_found")]


def test_a_reply_under_an_ephemeral_messages_ts_is_thread_not_found(slack: SlackEmulator) -> None:
    """An ephemeral message is no message of the channel: chat.postMessage refuses to thread
    under its ts, as under any ts that names no message; the channel itself takes the post."""
    ws = slack.workspace
    client = WebClient(token=ws.bot_token, base_url=slack.api_url)
    shown = client.chat_postEphemeral(channel="#orchestration-health", user=ONCALL, text="Details")
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(
            channel="#orchestration-health", thread_ts=shown["message_ts"], text="Postmortem: …"
        )
    assert refused.value.response["error"] == "thread_not_found"
    posted = client.chat_postMessage(channel="#orchestration-health", text="Postmortem: …")
    assert ws.find(str(posted["channel"]), str(posted["ts"])).thread_ts is None
