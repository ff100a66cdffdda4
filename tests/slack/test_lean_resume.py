"""A (re)started bot opens the platform's clients only when the store holds work to resume."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Access
from bot.regrade_tasks import RegradeTasks
from bot.rollout_tasks import RolloutTasks
from bot.runtime import Runtime
from commands.platform import Platform
from infra.once import Once
from opsbot.profile import load_profile
from store.backfills import Backfills
from store.database import Database
from store.location import sqlite_url
from store.rollouts import Store

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 2, 5, 18, 0, tzinfo=UTC)


def never_opened() -> NoReturn:
    raise AssertionError("the platform's clients were opened")


def no_platform() -> Platform:
    raise AssertionError("no platform is needed")


async def test_a_start_with_nothing_to_resume_opens_no_platform_client(tmp_path: Path) -> None:
    database = Database.open(sqlite_url(tmp_path / "opsbot.db"))
    try:
        runtime = Runtime(
            load_profile(ROOT / "opsbot.toml"),
            Access(load_profile(ROOT / "opsbot.toml").slack),
            no_platform,
            deploy_tools=Once(never_opened),
            regrade_tools=Once(never_opened),
            rollout_store=lambda: Store(database, lambda: NOW),
            backfill_store=lambda: Backfills(database, lambda: NOW),
        )
        client = AsyncWebClient(token="xoxb-unused")
        assert await RolloutTasks(runtime, client).resume() == []
        assert await RegradeTasks(runtime, client).resume() == []
    finally:
        database.close()


async def test_a_start_with_a_rollout_left_active_opens_the_tools_to_drive_it(
    tmp_path: Path,
) -> None:
    database = Database.open(sqlite_url(tmp_path / "opsbot.db"))
    opened = threading.Event()
    try:
        store = Store(database, lambda: NOW)
        store.begin(
            service="nba-scrapers",
            commit_sha="a" * 40,
            stable_revision="nba-scrapers-00001-abc",
            requested_by="U0SAMDEPLY",
        )

        def tools() -> NoReturn:
            opened.set()
            raise RuntimeError("stop here: the tools were asked for")

        runtime = Runtime(
            load_profile(ROOT / "opsbot.toml"),
            Access(load_profile(ROOT / "opsbot.toml").slack),
            no_platform,
            deploy_tools=Once(tools),
            rollout_store=lambda: store,
        )
        rollouts = RolloutTasks(runtime, AsyncWebClient(token="xoxb-unused"))
        resuming = asyncio.create_task(rollouts.resume())
        asked = await asyncio.to_thread(opened.wait, 10)  # the first attempt comes at once
        resuming.cancel()  # (then it would retry in a minute)
        assert asked
    finally:
        database.close()
