"""A live message shows progress at most once per interval and its final state at once."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any, cast

from slack_sdk.web.async_client import AsyncWebClient

from bot.live_message import LiveMessage


class RecordingSlack:
    """Records the texts chat.update was asked to show, in order."""

    def __init__(self) -> None:
        self.shown: list[str] = []

    async def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        self.shown.append(str(kwargs["text"]))
        return {"ok": True}


def _live(slack: RecordingSlack, interval_s: float) -> LiveMessage:
    return LiveMessage(cast(AsyncWebClient, slack), "C1", "1.0", interval_s=interval_s)


async def test_progress_inside_the_interval_is_not_sent_and_the_end_is_not_delayed() -> None:
    slack = RecordingSlack()
    live = _live(slack, interval_s=3600.0)  # an hour: any wait on it would hang the test
    drawn: list[int] = []

    def state(done: int) -> tuple[str, list[Any]]:
        drawn.append(done)
        return f"{done} of 10 done", []

    for done in range(1, 10):
        live.show(partial(state, done))
        await asyncio.sleep(0)  # let the flusher run between states, as results arrive
    await asyncio.wait_for(live.finish("report", []), timeout=5)
    assert slack.shown == ["report"]
    assert drawn == []  # a state never shown is never drawn (Block Kit costs the acks' CPU)


async def test_without_an_interval_every_state_is_shown_and_the_newest_wins() -> None:
    slack = RecordingSlack()
    live = _live(slack, interval_s=0.0)
    live.show(lambda: ("1 of 3 done", []))
    live.show(lambda: ("2 of 3 done", []))  # before the flusher ran: the older state is skipped
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    live.show(lambda: ("3 of 3 done", []))
    await asyncio.wait_for(live.finish("report", []), timeout=5)
    assert slack.shown[0] == "2 of 3 done" and slack.shown[-1] == "report"
    assert "1 of 3 done" not in slack.shown
