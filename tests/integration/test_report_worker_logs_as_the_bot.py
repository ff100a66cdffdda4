"""A failure inside the report worker that shows a person a reference must be findable in the
bot's logs under that reference, as every other one is (bot/errors.py: "the logs have the
details under that reference"; `opsbot serve` logs one JSON object a line with `error_ref`, which
is what Cloud Logging indexes and on-call searches).

The worker is a spawned process: nothing configures its logging, so what it logs goes to
logging's last-resort handler, as plain lines without `error_ref` (a traceback split into one
Cloud Run entry per line), and at WARNING and up only.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from datetime import date
from functools import partial
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.health_message import ShownReport
from bot.report_worker import ReportWorker
from bot.slack_clients import slack_api
from commands.errors import RequestError
from config import Profile
from opsbot.platform import attached_sandbox_platforms
from sandbox.platform import Sandbox
from sandbox.slack_emulator import SlackEmulator

DAY = date(2026, 1, 28)
CHANNEL = "#orchestration-health"


def _json_lines(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            found.append(entry)
    return found


def test_a_reference_the_worker_shows_is_in_the_bots_logs_under_that_reference(
    sandbox: Sandbox,
    profile: Profile,
    slack: SlackEmulator,
    served_log: io.StringIO,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The bot token is revoked (the app reinstalled) while a report is being shown: the
    worker's chat.update is refused with `invalid_auth`, an unexpected error, and the person is
    given a reference. That reference must be in a structured log entry (`error_ref`), in the
    bot's own log or the worker's."""
    recipe = partial(attached_sandbox_platforms, profile, sandbox.address("sqlite://"))
    web_api = slack_api(slack.workspace.bot_token, slack.api_url)
    worker = ReportWorker(profile, recipe, web_api, deadline_s=profile.health.check_timeout_s + 30)
    try:
        client = WebClient(token=slack.workspace.bot_token, base_url=slack.api_url)
        posted = client.chat_postMessage(channel=CHANNEL, text="Health 2026-01-28: running")
        slack.workspace.bot_token = "xoxb-reinstalled-" + "0" * 24  # the worker's is revoked
        job = ShownReport(DAY, sandbox.now, str(posted["channel"]), str(posted["ts"]))
        with pytest.raises(RequestError) as failed:
            asyncio.run(worker.show(job, lambda: None))
    finally:
        worker.stop()
    said = re.search(r"ref `([0-9a-f]+)`", str(failed.value))
    assert said is not None, str(failed.value)  # an unexpected error: a reference is shown
    reference = said.group(1)
    entries = _json_lines(served_log.getvalue()) + _json_lines(capfd.readouterr().err)
    assert any(entry.get("error_ref") == reference for entry in entries), (
        f"ref {reference} is in no structured log entry"
    )
