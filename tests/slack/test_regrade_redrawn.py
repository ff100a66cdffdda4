"""A backfill's message ends showing how the backfill ended, whichever replica's chat.update Slack
takes last (issue 30, invariant 2 of the backfill soak)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.regrade_tasks import RegradeTasks
from bot.slack_clients import RATE_LIMIT_RETRIES
from commands.regrade.completions import take_completions
from commands.regrade.engine import RegradeTools, cancel, pump
from config import Profile
from opsbot.profile import load_profile
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.platform import Sandbox
from sandbox.slack_emulator import SlackEmulator
from sandbox.slack_workspace import Message, Workspace
from store.backfill_views import BackfillDateView, BackfillView, DateState, Place
from tests.slack.conftest import FAST, ROOT
from tests.slack.helpers import HEALTH_CHANNEL, ONCALL

DAYS = [f"2026-01-{day}" for day in range(26, 31)]  # five: four published, one left queued
UPDATES = RATE_LIMIT_RETRIES + 1  # what one chat.update takes: the call and its retries


class HeldUpdate:
    """The first chat.update held unanswered until released: Slack answers its caller late (as
    after 429s, each retried after its Retry-After), and applies it only then."""

    def __init__(self, slack: SlackEmulator) -> None:
        self.arrived, self.released = threading.Event(), threading.Event()
        self._call, self._held = slack.call, False
        slack.call = self  # type: ignore[method-assign]

    def __call__(self, method: str, token: str | None, args: dict[str, Any]) -> dict[str, Any]:
        if method == "chat.update" and not self._held:
            self._held = True
            self.arrived.set()
            self.released.wait(30)
        return self._call(method, token, args)


def held_in_flight(
    bot: SandboxBot, platform: Sandbox, key: str, dates: Sequence[str]
) -> tuple[RegradeTools, str, BackfillView]:
    """A backfill of `dates` submitted in #orchestration-health, its grading held (each date
    answers in an hour) until the test lifts the fault: the tools, the channel, the backfill."""
    grading = platform.grading
    assert grading is not None and bot.runtime.regrade_tools is not None
    grading.faults = grading.faults.model_copy(update={"slow_dates": list(dates), "slow_s": 3600.0})
    tools = bot.runtime.regrade_tools()
    channel = bot.slack.workspace.channel(HEALTH_CHANNEL).id
    made, _ = tools.backfills.submit(
        request_key=key,
        requested_by=ONCALL,
        reason="",
        include_graded=True,
        estimate_bytes=0,
        dates=list(dates),
        place=Place(channel),
    )
    return tools, channel, made


async def test_a_canceled_backfill_shows_its_end_when_an_older_render_lands_last() -> None:
    """Found by the backfill soak, seed 8 at N=30: Cancel on one replica drew "2/4 ended
    (running)"; its chat.update, slowed by 429s, landed after the other replica's driver had
    drawn "4/4 ended (canceled)" and stopped, and the message said "running" for good."""
    profile = load_profile(ROOT / "opsbot.toml")
    with Sandbox() as platform, sandbox_bot(profile, platform, deploy_timing=FAST) as bot:
        grading, ws = platform.grading, bot.slack.workspace
        assert grading is not None and platform.pubsub is not None
        assert bot.runtime.regrade_tools is not None
        tools, channel, made = held_in_flight(bot, platform, "seed-8", DAYS)
        published = [d for d in pump(profile, tools, made.id).dates if d.correlation_id]
        client = AsyncWebClient(token=ws.bot_token, base_url=bot.slack.api_url)
        clicked_on, driving = RegradeTasks(bot.runtime, client), RegradeTasks(bot.runtime, client)
        assert await driving.show(made.id) == channel  # its message, "0/5 ended (running)"
        held = HeldUpdate(bot.slack)

        cancel(tools, made.id, ONCALL)  # Cancel, on one replica: its render is held by Slack
        drawing = asyncio.create_task(clicked_on.show(made.id))
        assert await asyncio.to_thread(held.arrived.wait, 30)

        # the published dates' grading answers: the other replica's driver ends it and draws it
        grading.faults = grading.faults.model_copy(update={"slow_dates": []})
        ended = _graded(platform, profile, tools, made.id, published)
        assert ended is not None and ended.count(DateState.CANCELED) == 1 and ended.ended
        await driving.show(made.id)

        held.released.set()  # the Cancel's render, "1/5 ended (running)", lands last
        await asyncio.wait_for(drawing, timeout=30)
        assert "5/5 ended (canceled)" in _message(ws, channel).text


async def test_an_ended_backfills_message_rate_limited_past_the_retries_is_drawn_again() -> None:
    """Found by the backfill soak, seed 8 at N=30: a driver whose last chat.update met more 429s
    than its client retries stopped all the same, and the message kept its running state."""
    shipped = load_profile(ROOT / "opsbot.toml")
    profile = shipped.model_copy(
        update={"regrade": shipped.regrade.model_copy(update={"poll_s": 0.05})}
    )
    with Sandbox() as platform, sandbox_bot(profile, platform, deploy_timing=FAST) as bot:
        grading, ws = platform.grading, bot.slack.workspace
        assert grading is not None and bot.runtime.regrade_tools is not None
        tools, channel, made = held_in_flight(bot, platform, "seed-8-final", DAYS[:2])
        published = pump(profile, tools, made.id).dates
        client = AsyncWebClient(token=ws.bot_token, base_url=bot.slack.api_url)
        driving = RegradeTasks(bot.runtime, client)
        assert await driving.show(made.id) == channel  # "0/2 ended (running)"
        grading.faults = grading.faults.model_copy(update={"slow_dates": []})
        assert _graded(platform, profile, tools, made.id, published) is not None

        ws.rate_limit("chat.update", times=UPDATES, retry_after_s=0)  # its next update, refused
        driving.arm(made.id)
        task = driving.driver(made.id)
        assert task is not None
        await asyncio.wait_for(task, timeout=30)
        assert "2/2 ended (done)" in _message(ws, channel).text


def _graded(
    platform: Sandbox,
    profile: Profile,
    tools: RegradeTools,
    backfill_id: int,
    published: Sequence[BackfillDateView],
) -> BackfillView | None:
    """The backfill once the published dates' grading has answered and a pump ended it."""
    assert platform.grading is not None and platform.pubsub is not None
    for day in published:
        body = {"target_date": day.game_date, "correlation_id": day.correlation_id}
        platform.grading.on_trigger(body, {})
    for _ in range(400):
        take_completions(profile, tools)
        if pump(profile, tools, backfill_id).ended:
            break
        platform.pubsub.stopping.wait(0.05)  # bounded: Pub/Sub delivers on its threads
    return tools.backfills.get(backfill_id)


def _message(ws: Workspace, channel: str) -> Message:
    [message] = [m for m in ws.bot_messages(channel) if "Regrade backfill" in m.text]
    return message
