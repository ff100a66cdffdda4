"""Each Slack test starts from an empty workspace and ends with Slack's rules checked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opsbot.serve import SandboxBot
from tests.slack.helpers import assert_slack_would_accept


@pytest.fixture
def bot(served_bot: SandboxBot) -> Iterator[SandboxBot]:
    """The served bot with an empty workspace; afterwards, every message it sent is checked."""
    served_bot.slack.workspace.clear()
    assert len(served_bot.runtime.in_flight) == 0, "a report from the last test is still running"
    yield served_bot
    assert_slack_would_accept(served_bot.slack.workspace)
