"""A backfill that ended while its driver was killed, before its end was drawn, is drawn ended by
the replica that resumes (issue 30, invariant 2 of the backfill soak)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.regrade_tasks import RegradeTasks
from commands.regrade.engine import pump
from opsbot.profile import load_profile
from opsbot.sandbox_serve import sandbox_bot
from sandbox.platform import Sandbox
from tests.slack.conftest import FAST, ROOT
from tests.slack.test_regrade_redrawn import DAYS, _graded, _message, held_in_flight


@pytest.mark.parametrize("by", ["resume", "takeover"])
async def test_a_backfill_ended_by_a_killed_driver_is_drawn_ended_by_the_next_replica(
    by: str,
) -> None:
    """Found by the backfill soak, seed 7 at N=30: the driver recorded the backfill's end and was
    killed before it drew it; a restarted replica (resume) or one taking over (its watch loop)
    drove only running backfills, and the message said "1/2 ended (running)" for good."""
    profile = load_profile(ROOT / "opsbot.toml")
    with Sandbox() as platform, sandbox_bot(profile, platform, deploy_timing=FAST) as bot:
        grading, ws = platform.grading, bot.slack.workspace
        assert grading is not None and bot.runtime.regrade_tools is not None
        tools, channel, made = held_in_flight(bot, platform, "seed-7", DAYS[:2])
        published = pump(profile, tools, made.id).dates
        client = AsyncWebClient(token=ws.bot_token, base_url=bot.slack.api_url)
        killed = RegradeTasks(bot.runtime, client)
        assert await killed.show(made.id) == channel  # "0/2 ended (running)"
        grading.faults = grading.faults.model_copy(update={"slow_dates": []})
        ended = _graded(platform, profile, tools, made.id, published)
        assert ended is not None and ended.ended  # recorded; the driver killed before drawing it

        other = RegradeTasks(bot.runtime, client)
        if by == "resume":
            try:
                await other.resume()
            finally:
                if other._watcher is not None:
                    other._watcher.cancel()
        else:
            other.lease = timedelta(0)  # the killed driver's lease has run out
            assert await other.adopt_unattended() == []  # nothing running to drive
        assert "2/2 ended (done)" in _message(ws, channel).text
