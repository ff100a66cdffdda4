"""A /health report shown in Slack by the worker process itself: the bot posts the first state,
the worker fills the same message in and ends it with the report, says when it is about to (the
bot then frees the channel), and a worker killed midway finishes the same message on a new one."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Iterator
from datetime import date
from functools import partial

import pytest
from slack_sdk import WebClient

from bot.health_message import ShownReport
from bot.report_worker import ReportWorker
from bot.slack_clients import slack_api
from bot.views.health import health_report
from commands.health import run_health
from config import Profile
from opsbot.platform import attached_sandbox_platforms, sandbox_platforms
from sandbox.faults import BigQueryFaults, FaultPlan
from sandbox.platform import Sandbox
from sandbox.slack_emulator import SlackEmulator
from sandbox.slack_workspace import Message

DAY = date(2026, 1, 28)
CHANNEL = "#orchestration-health"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    # every query takes 0.3 s: the report takes long enough to be seen in progress and killed
    with Sandbox(faults=FaultPlan(bigquery=BigQueryFaults(query_s=0.3))) as started:
        yield started


@pytest.fixture
def worker(sandbox: Sandbox, profile: Profile, slack: SlackEmulator) -> Iterator[ReportWorker]:
    recipe = partial(attached_sandbox_platforms, profile, sandbox.address("sqlite://"))
    web_api = slack_api(slack.workspace.bot_token, slack.api_url)
    started = ReportWorker(profile, recipe, web_api, deadline_s=profile.health.check_timeout_s + 30)
    yield started
    started.stop()


def posted(slack: SlackEmulator) -> Message:
    """The bot's first state, as bot/listeners/health.py posts it."""
    client = WebClient(token=slack.workspace.bot_token, base_url=slack.api_url)
    answer = client.chat_postMessage(channel=CHANNEL, text="Health 2026-01-28: running 6 checks")
    return slack.workspace.find(str(answer["channel"]), str(answer["ts"]))


def expected_text(profile: Profile, sandbox: Sandbox) -> str:
    platform = sandbox_platforms(profile, sandbox)()
    report = asyncio.run(
        run_health(
            profile,
            platform.warehouse,
            now=sandbox.now,
            as_of=DAY,
            drift_sources=platform.drift_sources,
        )
    )
    return health_report(report)[0]


def test_the_worker_ends_the_posted_message_with_the_report_and_says_when_it_finishes(
    worker: ReportWorker, slack: SlackEmulator, sandbox: Sandbox, profile: Profile
) -> None:
    message = posted(slack)
    finishing: list[str] = []
    job = ShownReport(DAY, sandbox.now, message.channel, message.ts)
    asyncio.run(worker.show(job, lambda: finishing.append(message.text)))
    shown = slack.workspace.find(message.channel, message.ts)
    assert shown.text == expected_text(profile, sandbox)
    assert len(finishing) == 1  # told once, before the report was shown (the claim is freed)
    assert [m.ts for m in slack.workspace.bot_messages(CHANNEL)] == [message.ts]  # no new post


def test_a_worker_killed_while_showing_a_report_finishes_the_same_message_on_a_new_one(
    worker: ReportWorker, slack: SlackEmulator, sandbox: Sandbox, profile: Profile
) -> None:
    worker.start()
    first = worker.pid
    assert first is not None
    message = posted(slack)
    killed = threading.Event()

    def kill_once_it_shows_progress() -> None:
        version = -1
        for _ in range(200):  # bounded: each wait ends on a change in the workspace, or 10 s
            now = slack.workspace.find(message.channel, message.ts)
            if now.edits:  # its first update is progress: the report takes 2 s a query here
                if ": running " in now.text:
                    os.kill(first, signal.SIGKILL)
                    killed.set()
                return
            version = slack.workspace.wait_for_change(version, 10.0)

    killer = threading.Thread(target=kill_once_it_shows_progress, daemon=True)
    killer.start()
    job = ShownReport(DAY, sandbox.now, message.channel, message.ts, queued=True)
    assert sandbox.bigquery is not None
    sandbox.bigquery.query_s = 2.0  # longer than the 1 s between progress updates
    try:
        asyncio.run(worker.show(job, lambda: None))
    finally:
        sandbox.bigquery.query_s = 0.3
    killer.join(10)
    assert killed.is_set() and worker.pid not in (None, first)
    shown = slack.workspace.find(message.channel, message.ts)
    assert shown.text == expected_text(profile, sandbox)
    assert [m.ts for m in slack.workspace.bot_messages(CHANNEL)] == [message.ts]
