"""A backfill's message posted by a replica killed before it recorded the ts is the one kept: the
replica that drives the backfill next finds it by its metadata instead of posting a second."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, cast

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.pubsub import PubSub
from bot.access import Access
from bot.regrade_tasks import RegradeTasks
from bot.runtime import Runtime
from commands.regrade.engine import RegradeTools
from infra.once import Once
from opsbot.profile import load_profile
from sandbox.slack_emulator import SlackEmulator
from store.backfill_views import BackfillState, Place
from store.backfills import Backfills
from store.database import Database
from store.location import sqlite_url
from tests.slack.conftest import ROOT
from tests.slack.helpers import HEALTH_CHANNEL, ONCALL

DAYS = ["2026-01-08", "2026-01-09", "2026-01-10", "2026-01-11"]


class Killed(BaseException):
    """SIGKILL: nothing after it runs in the process (no except clause, no finally's work)."""


class KilledAfterPost(AsyncWebClient):
    """A replica's client: Slack takes the post, then the replica is killed before it records."""

    async def chat_postMessage(self, **kwargs: Any) -> AsyncSlackResponse:
        await super().chat_postMessage(**kwargs)
        raise Killed


def no_platform() -> NoReturn:
    raise AssertionError("a backfill's message needs no platform view")


def _replica(backfills: Backfills, client: AsyncWebClient) -> RegradeTasks:
    """A replica on the shared store showing backfills with `client` (it needs no platform)."""
    profile = load_profile(ROOT / "opsbot.toml")
    tools = RegradeTools(backfills, cast(PubSub, None), cast(Any, None), backfills.clock)
    runtime = Runtime(
        profile,
        Access(profile.slack),
        no_platform,
        regrade_tools=Once(lambda: tools),
        backfill_store=lambda: backfills,
    )
    return RegradeTasks(runtime, client)


@pytest.mark.parametrize("in_thread", [False, True], ids=["in-the-channel", "in-a-thread"])
async def test_a_replica_killed_after_posting_a_backfills_message_leaves_it_the_only_message(
    slack: SlackEmulator, tmp_path: Path, in_thread: bool
) -> None:
    """Found by the backfill soak, seed 3 at N=30: backfill #4 was started, the replica that
    posted its message was killed before recording the ts, and the replica that took it over
    posted a second message; the first showed "running" for good beside the canceled one.
    Now the taker finds the first by its metadata, records it, and shows the end in it."""
    ws = slack.workspace
    database = Database.open(sqlite_url(tmp_path / "opsbot.db"))
    try:
        backfills = Backfills(database, lambda: datetime.now(UTC))
        channel = ws.channel(HEALTH_CHANNEL).id
        alert = ws.post(HEALTH_CHANNEL, "grading missed 2026-01-08..11", None, ONCALL)
        thread = alert.ts if in_thread else None  # asked for from a message's shortcut
        made, _ = backfills.submit(
            request_key="seed-3",
            requested_by=ONCALL,
            reason="",
            include_graded=False,
            estimate_bytes=0,
            dates=DAYS,
            place=Place(channel, thread),
        )
        token, api = ws.bot_token, slack.api_url
        killed = _replica(backfills, KilledAfterPost(token=token, base_url=api))
        with pytest.raises(Killed):
            await killed.show(made.id)
        assert len(ws.bot_messages(HEALTH_CHANNEL)) == 1  # Slack has it; the store does not
        backfills.set_state(made.id, BackfillState.CANCELED, ONCALL, "regrade.cancel")
        taker = _replica(backfills, AsyncWebClient(token=token, base_url=api))
        assert await taker.show(made.id) == channel
        mine = [m for m in ws.bot_messages(HEALTH_CHANNEL) if f"backfill #{made.id}" in m.text]
        assert len(mine) == 1, [m.text for m in mine]
        assert mine[0].thread_ts == thread
        assert "(canceled)" in mine[0].text, mine[0].text
        recorded = backfills.get(made.id)
        assert recorded is not None and recorded.slack_ts == mine[0].ts
    finally:
        database.close()
