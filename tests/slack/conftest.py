"""The bot served over HTTP on loopback, wired to the session's sandbox and a Slack emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbot.bot.serve import SandboxBot, sandbox_bot
from opsbot.config import load_profile
from opsbot.sandbox.platform import Sandbox
from tests.slack.helpers import assert_slack_would_accept

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def served_bot(sandbox: Sandbox) -> Iterator[SandboxBot]:
    profile_path = ROOT / "opsbot.toml"
    with sandbox_bot(load_profile(profile_path), profile_path, sandbox) as bot:
        thread = bot.server.start_in_thread()
        yield bot
        bot.server.stop(thread)


@pytest.fixture
def bot(served_bot: SandboxBot) -> Iterator[SandboxBot]:
    """The served bot with an empty workspace; afterwards, every message it sent is checked."""
    served_bot.slack.workspace.clear()
    yield served_bot
    assert_slack_would_accept(served_bot.slack.workspace)
