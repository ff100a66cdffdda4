"""`/x help` and any argument a command cannot read: its usage, privately, and nothing else."""

from __future__ import annotations

import pytest

from opsbot.sandbox_serve import SandboxBot
from tests.slack.helpers import DEPLOYER, HEALTH_CHANNEL

# Each was an HTTP 500 for /regrade ("dispatch_failed"): its usage text was missing.
BAD = [
    "/regrade help",
    "/regrade tomorrow",
    "/regrade 2026-02-30",
    "/regrade 2026-01-01 2026-01-02 2026-01-03",
    "/regrade ²⁰²⁶-01-01",
    "/regrade --include-graded yesterday",
    "/health help",
    "/health 2026-13-01",
    "/drift help",
    "/deploy help",
    "/rollback help",
    "/digest help",
    "/postmortem help",
]


@pytest.mark.parametrize("line", BAD)
def test_help_or_an_unreadable_argument_answers_the_usage_privately(
    bot: SandboxBot, line: str
) -> None:
    ws = bot.slack.workspace
    answer = bot.slack.command(DEPLOYER, HEALTH_CHANNEL, line)
    assert answer.status == 200 and not answer.timed_out
    said = answer.json()
    assert said["response_type"] == "ephemeral"
    assert "Usage:" in said["text"] and line.split()[0] in said["text"]
    seen = [m for m in ws.bot_messages(HEALTH_CHANNEL) if m.ephemeral_to is None]
    assert seen == []  # nothing posted for the channel to see
