"""A modal submitted by someone without the role is refused in the modal, whatever its form."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest

from opsbot.sandbox_serve import SandboxBot
from tests.slack.test_hostile_requests import post, signed

NOBODY = "U0NOROLE01"  # in the workspace's channels, in no role of the profile


def _submission(user: str, callback_id: str, metadata: Any) -> bytes:
    payload = {
        "type": "view_submission",
        "team": {"id": "T0SANDBOX1"},
        "user": {"id": user},
        "view": {
            "id": "V0TEST0001",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": json.dumps(metadata),
            "state": {
                "values": {
                    "start": {"start": {"type": "datepicker", "selected_date": "2026-01-28"}},
                    "end": {"end": {"type": "datepicker", "selected_date": "2026-01-29"}},
                }
            },
        },
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def test_a_regrade_submitted_without_the_role_says_why_in_the_modal(bot: SandboxBot) -> None:
    body = _submission(
        NOBODY, "regrade.modal", {"channel": "C0HEALTH01", "channel_name": "orchestration-health"}
    )
    status, text = post(bot, body, signed(bot, body))
    assert status == 200
    answer = json.loads(text)
    assert answer["response_action"] == "update"  # not `errors` on a block the form may lack
    said = answer["view"]["blocks"][0]["text"]["text"]
    assert "regrader role" in said
    assert bot.slack.workspace.messages == []


@pytest.mark.parametrize("name", [["a"], {"b": 1}, 7])
def test_metadata_of_a_type_slack_never_sends_is_refused_without_a_traceback(
    bot: SandboxBot, caplog: pytest.LogCaptureFixture, name: object
) -> None:
    body = _submission(
        "U0SAMDEPLY", "regrade.modal", {"channel": "C0HEALTH01", "channel_name": name}
    )
    with caplog.at_level(logging.WARNING):
        status, _ = post(bot, body, signed(bot, body))
    assert status < 500
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
    assert [m for m in bot.slack.workspace.messages if m.ephemeral_to is None] == []
