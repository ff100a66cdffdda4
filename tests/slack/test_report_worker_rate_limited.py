"""Attacks on /health's report, in the bot's process and in the report worker, as a flaky
network meets them: Slack refusing the report's updates with its rate limit. What the person who
asked sees must say what happened and what to do, not a reference to a logged traceback for a
limit they can wait out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import pytest

from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from tests.slack.helpers import (
    HEALTH_CHANNEL,
    ONCALL,
    ephemeral_for,
    wait_until,
)

DAY = "2026-01-27"


@contextmanager
def asking(bot: SandboxBot, in_worker: bool) -> Iterator[SandboxBot]:
    """The served bot (in-process reports), or one of its own with a report worker."""
    with (
        sandbox_bot(bot.runtime.profile, bot.platform, report_worker=True)
        if in_worker
        else (nullcontext(bot)) as asked
    ):
        thread = asked.server.start_in_thread() if in_worker else None
        try:
            yield asked
        finally:
            if thread is not None:
                asked.server.stop(thread)


@pytest.mark.parametrize("in_worker", [False, True], ids=["in-process", "report-worker"])
def test_a_report_slack_rate_limits_tells_who_asked_to_wait_not_a_traceback_reference(
    bot: SandboxBot, in_worker: bool
) -> None:
    """Slack answers every chat.update with 429 for a while (a busy channel; Slack's rate-limit
    page: chat.update is Tier 3, and a burst past it is refused with `ratelimited` and a
    Retry-After). slack_sdk retries three times and gives up; the person who asked must be told
    Slack is limiting opsbot and to try again shortly. Was: "something went wrong on opsbot's
    side (ref …)", a reference to a traceback, for a limit the person can simply wait out."""
    with asking(bot, in_worker) as asked:
        ws = asked.slack.workspace
        ws.rate_limit("chat.update", times=1000, retry_after_s=0)
        try:
            asked.slack.command(ONCALL, HEALTH_CHANNEL, f"/health {DAY}")
            told = wait_until(ws, ephemeral_for(ws, ONCALL, f"Health {DAY}"), timeout_s=60)
        finally:
            ws.rate_limit("chat.update", times=0)
    assert "something went wrong" not in told.text, told.text
    assert "ref `" not in told.text, told.text
    assert "rate" in told.text.lower(), told.text  # says it is Slack's rate limit, to wait
