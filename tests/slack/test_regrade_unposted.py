"""A backfill whose progress message Slack will not take is still driven to its end, and whoever
started it is told where to follow it (issue 30, defects 1 and 3)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.actions import ActionId
from bot.slack_clients import RATE_LIMIT_RETRIES
from commands.regrade.completions import take_completions
from commands.regrade.engine import pump
from opsbot.profile import load_profile
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.platform import Sandbox
from sandbox.slack_emulator import SlackEmulator
from sandbox.slack_workspace import Message, SlackError, Workspace
from store.location import sqlite_url
from tests.slack.conftest import FAST, ROOT
from tests.slack.helpers import HEALTH_CHANNEL, ONCALL, block_text, ephemeral_for, wait_until

POSTS = RATE_LIMIT_RETRIES + 1  # what one chat.postMessage takes: the call and its retries
LAST = "2026-01-30"  # the last of the three dates these backfills regrade


def _values(start: str, end: str) -> dict[str, object]:
    return {
        "start": {"start": {"type": "datepicker", "selected_date": start}},
        "end": {"end": {"type": "datepicker", "selected_date": end}},
        "graded": {"graded": {"type": "checkboxes", "selected_options": []}},
        "reason": {"reason": {"type": "plain_text_input", "value": ""}},
    }


def _plan(bot: SandboxBot, text: str) -> Message:
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, HEALTH_CHANNEL, f"/regrade {text}")
    return wait_until(ws, ephemeral_for(ws, ONCALL, "review the plan"))


def _progress(ws: Workspace, channel: str, words: str = "") -> Callable[[], Message | None]:
    """The bot's backfill message in `channel` (a user id: the DM), once its text has `words`."""

    def find() -> Message | None:
        return next(
            (
                m
                for m in ws.bot_messages(channel)
                if "Regrade backfill" in m.text and words in m.text
            ),
            None,
        )

    return find


def _refused(ws: Workspace, error: str) -> int:
    """How often Slack refused chat.postMessage with `error`; forgotten, as the scenario's own."""
    mine = ("chat.postMessage", error)
    count = ws.rejections.count(mine)
    ws.rejections[:] = [r for r in ws.rejections if r != mine]
    return count


def test_a_shortcut_whose_message_was_deleted_before_start_posts_progress_in_the_channel(
    regrading: SandboxBot,
) -> None:
    """Defect 1: the message was deleted before Start; the post in its thread was refused and
    nothing else happened (four dates published, the rest queued for good, nobody told)."""
    ws = regrading.slack.workspace
    alert = ws.post(HEALTH_CHANNEL, "grading missed 2026-01-28 and 2026-01-30", None, ONCALL)
    regrading.slack.message_action(ONCALL, alert, "regrade.from_message")
    opened = wait_until(ws, lambda: next(iter(ws.views.values()), None))
    ws.messages.remove(alert)  # its author deletes it, then presses Start
    regrading.slack.submit_view(ONCALL, opened.id, _values("2026-01-28", "2026-01-30"))
    progress = wait_until(ws, _progress(ws, HEALTH_CHANNEL, "3/3 ended (done)"), timeout_s=60)
    assert progress.thread_ts is None  # the thread is gone: in the channel itself
    wait_until(ws, lambda: "progress is in" in str(ws.views[opened.id].view))
    assert f"in <#{progress.channel}>" in str(ws.views[opened.id].view)
    assert _refused(ws, "thread_not_found") == 1  # Slack's answer for a deleted parent


def test_a_start_rate_limited_past_the_retries_is_followed_in_the_starters_dms(
    regrading: SandboxBot,
) -> None:
    """Defect 1: chat.postMessage answering 429 past the client's retries left the backfill
    without a message and its starter without an answer."""
    ws = regrading.slack.workspace
    plan = _plan(regrading, "2026-01-28 2026-01-30")
    ws.rate_limit("chat.postMessage", times=POSTS, retry_after_s=0)  # 429 with Retry-After: 0
    regrading.slack.click(ONCALL, plan, ActionId.REGRADE_START)
    told = wait_until(ws, ephemeral_for(ws, ONCALL, "direct messages"))
    assert "refused it" in told.text
    dm = wait_until(ws, _progress(ws, ONCALL, "3/3 ended (done)"), timeout_s=60)
    assert dm.channel.startswith("D") and "refused it" in block_text(dm)
    assert _progress(ws, HEALTH_CHANNEL)() is None


def test_a_backfill_slack_takes_no_message_for_runs_to_its_end_and_says_so_once(
    regrading: SandboxBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Defect 1: the channel and the DM both refused: every date still ends, the failure is
    logged once, the starter is told, and the final state is posted once Slack takes it."""
    ws = regrading.slack.workspace
    assert regrading.platform.grading is not None
    plan = _plan(regrading, "2026-01-28 2026-01-30")
    ws.rate_limit("chat.postMessage", times=2 * POSTS, retry_after_s=0)
    with caplog.at_level(logging.ERROR, logger="opsbot.regrade"):
        regrading.slack.click(ONCALL, plan, ActionId.REGRADE_START)
        told = wait_until(ws, ephemeral_for(ws, ONCALL, "nowhere yet"))
        ended = wait_until(ws, _progress(ws, HEALTH_CHANNEL, "3/3 ended (done)"), timeout_s=60)
    assert "runs to its end" in told.text and ended.thread_ts is None
    said = [r for r in caplog.records if "took its message nowhere" in r.getMessage()]
    assert len(said) == 1, [r.getMessage() for r in caplog.records]


class HeldPost:
    """chat.postMessage held unanswered: the bot that asked is killed while it waits."""

    def __init__(self, slack: SlackEmulator) -> None:
        self.arrived, self.released = threading.Event(), threading.Event()
        self._call = slack.call
        slack.call = self  # type: ignore[method-assign]

    def __call__(self, method: str, token: str | None, args: dict[str, Any]) -> dict[str, Any]:
        if method != "chat.postMessage":
            return self._call(method, token, args)
        self.arrived.set()
        self.released.wait(30)
        raise SlackError("fatal_error")  # never read: its caller is gone


@pytest.mark.parametrize("ended_meanwhile", [False, True])
def test_a_backfill_whose_start_was_killed_mid_post_gets_its_message_on_restart(
    tmp_path: Path, ended_meanwhile: bool
) -> None:
    """Defect 3: killed during Start's post, the backfill never had a message, even once it
    had finished. The next bot posts it where it was asked for (its final state if it ended)."""
    profile = load_profile(ROOT / "opsbot.toml")
    quick = profile.model_copy(
        update={"regrade": profile.regrade.model_copy(update={"poll_s": 0.1})}
    )
    url = sqlite_url(tmp_path / "opsbot.db")
    with Sandbox() as platform:
        grading = platform.grading
        assert grading is not None and platform.pubsub is not None
        if not ended_meanwhile:  # its last date's grading answers only after the restart
            grading.faults = grading.faults.model_copy(
                update={"slow_dates": [LAST], "slow_s": 3600.0}
            )
        with sandbox_bot(quick, platform, deploy_timing=FAST, store_url=url) as first:
            thread = first.server.start_in_thread()
            held = HeldPost(first.slack)
            first.slack.click(ONCALL, _plan(first, f"2026-01-28 {LAST}"), ActionId.REGRADE_START)
            assert held.arrived.wait(30)
            first.server.stop(thread)  # killed while Slack had not answered its post
            held.released.set()
        with sandbox_bot(quick, platform, deploy_timing=FAST, store_url=url) as second:
            assert second.runtime.regrade_tools is not None
            tools = second.runtime.regrade_tools()
            [left] = tools.backfills.recent()
            assert left.slack_ts is None
            for _ in range(400 if ended_meanwhile else 0):  # another replica finishes it
                take_completions(quick, tools)
                if pump(quick, tools, left.id).ended:
                    break
                platform.pubsub.stopping.wait(0.05)  # bounded: the grading runs on threads
            assert ended_meanwhile is (not tools.backfills.running())
            grading.faults = grading.faults.model_copy(update={"slow_dates": []})
            if not ended_meanwhile:  # the slow date's grading answers after all
                [late] = [d for d in left.dates if d.game_date == LAST]
                grading.on_trigger({"target_date": LAST, "correlation_id": late.correlation_id}, {})
            thread = second.server.start_in_thread()
            try:
                ws = second.slack.workspace
                shown = wait_until(ws, _progress(ws, HEALTH_CHANNEL, "3/3 ended (done)"), 60)
                assert f"#{left.id}" in shown.text
                assert [m.ts for m in ws.bot_messages(HEALTH_CHANNEL)] == [shown.ts]
            finally:
                second.server.stop(thread)


def test_the_buttons_of_a_backfill_followed_in_dms_work_there(regrading: SandboxBot) -> None:
    """Found by the backfill soak (seeds 1 and 2): Retry failed and Cancel on the message sent to
    the starter's DM were refused, "opsbot answers in #…", so a failed date could not be retried."""
    ws = regrading.slack.workspace
    assert regrading.platform.grading is not None
    grading = regrading.platform.grading
    grading.faults = grading.faults.model_copy(update={"fail_dates": ["2026-01-29"]})
    plan = _plan(regrading, "2026-01-28 2026-01-30")
    ws.rate_limit("chat.postMessage", times=POSTS, retry_after_s=0)
    regrading.slack.click(ONCALL, plan, ActionId.REGRADE_START)
    dm = wait_until(ws, _progress(ws, ONCALL, "3/3 ended"), timeout_s=60)
    assert dm.channel.startswith("D") and "failed" in block_text(dm)
    grading.faults = grading.faults.model_copy(update={"fail_dates": []})

    regrading.slack.click(ONCALL, dm, ActionId.BACKFILL_RETRY)
    retried = wait_until(ws, ephemeral_for(ws, ONCALL, "retries the failed dates"))
    assert ":no_entry:" not in retried.text
    assert not [m for m in ws.messages if m.ephemeral_to == ONCALL and ":no_entry:" in m.text]
