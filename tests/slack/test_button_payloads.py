"""Buttons pressed where there is nothing to answer: a click from a view (a modal, the App Home)
has no channel and no response_url. It is logged in one line and answered with nothing: never a
500, never a traceback, nothing posted, nothing started."""

from __future__ import annotations

import json
import logging
import time
from datetime import date
from urllib.parse import urlencode

import pytest

from bot.actions import (
    ActionId,
    CheckDetails,
    DeployStart,
    DriftExpand,
    RollbackTo,
    RolloutAction,
)
from opsbot.sandbox_serve import SandboxBot
from store.states import RolloutState
from tests.slack.helpers import DEPLOYER
from tests.slack.test_hostile_requests import post, signed

COMMIT = "0" * 40
STEP = RolloutAction(rollout=1, state=RolloutState.CANARY, step=1).encode()
VALUES = {  # each of the deploy, rollback, health and drift buttons, with a value opsbot draws
    ActionId.HEALTH_DETAILS: CheckDetails(
        check="vegas_line_coverage", as_of=date(2026, 2, 5)
    ).encode(),
    ActionId.DRIFT_EXPAND: DriftExpand(service="nba-scrapers").encode(),
    ActionId.DIGEST_DEPLOY: DriftExpand(service="nba-scrapers").encode(),
    ActionId.DEPLOY_START: DeployStart(service="nba-scrapers", commit=COMMIT).encode(),
    ActionId.DEPLOY_CANCEL: "cancel",
    ActionId.ROLLOUT_PROMOTE: STEP,
    ActionId.ROLLOUT_PROMOTE_FULL: STEP,
    ActionId.ROLLOUT_ROLL_BACK: STEP,
    ActionId.ROLLBACK_TO: RollbackTo(
        service="nba-grading-service", revision="nba-grading-service-00083-499"
    ).encode(),
}


def from_a_view(action_id: str, value: str | None) -> dict[str, object]:
    """The block_actions payload Slack sends for a button in a view: no channel, no response_url."""
    action: dict[str, object] = {
        "type": "button",
        "action_id": action_id,
        "block_id": "b1",
        "text": {"type": "plain_text", "text": "Go"},
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        action["value"] = value
    payload: dict[str, object] = {
        "type": "block_actions",
        "user": {"id": DEPLOYER, "username": "sam", "name": "sam", "team_id": "T0SANDBOX1"},
        "api_app_id": "A0OPSBOT00",
        "token": "sandbox-verification-token",
        "container": {"type": "view", "view_id": "V0MODAL001"},
        "trigger_id": "1.2.3",
        "team": {"id": "T0SANDBOX1", "domain": "sandbox"},
        "view": {"id": "V0MODAL001", "type": "modal", "callback_id": "anything"},
        "actions": [action],
    }
    return payload


def form(payload: dict[str, object]) -> bytes:
    """An interaction's body as Slack posts it."""
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.mark.parametrize("action_id", list(VALUES))
def test_a_button_pressed_in_a_view_is_logged_once_and_answered_with_nothing(
    bot: SandboxBot, action_id: ActionId, caplog: pytest.LogCaptureFixture
) -> None:
    assert bot.runtime.deploy_tools is not None
    store = bot.runtime.deploy_tools().store
    before = [r.id for r in store.recent()]
    caplog.set_level(logging.INFO)
    body = form(from_a_view(action_id, VALUES[action_id]))

    status, _ = post(bot, body, signed(bot, body))

    assert status < 500
    time.sleep(0.3)  # anything the click might have started after its ack
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not any(r.exc_info for r in caplog.records), "no traceback"
    said = [r.getMessage() for r in caplog.records if "nothing to answer" in r.getMessage()]
    assert len(said) == 1 and action_id in said[0]
    assert bot.slack.workspace.messages == []
    assert [c for c in bot.slack.workspace.calls if c != "auth.test"] == []
    assert [r.id for r in store.recent()] == before


def test_a_click_in_a_channel_without_a_response_url_is_not_answered_either(
    bot: SandboxBot, caplog: pytest.LogCaptureFixture
) -> None:
    """A deployer's Roll back in #deployment-alerts, as a broken client sends it: nowhere to say
    anything, so nothing is done (the role check and the rollback both answer there)."""
    payload = from_a_view(ActionId.ROLLOUT_ROLL_BACK, STEP)
    channel = bot.slack.workspace.channel("#deployment-alerts")
    payload.pop("view")
    payload["channel"] = {"id": channel.id, "name": channel.name}
    payload["container"] = {"type": "message", "channel_id": channel.id, "message_ts": "1.000001"}
    body = form(payload)

    status, _ = post(bot, body, signed(bot, body))

    assert status == 200
    time.sleep(0.3)
    assert not any(r.exc_info or r.levelno >= logging.ERROR for r in caplog.records)
    said = [r.getMessage() for r in caplog.records if "nothing to answer" in r.getMessage()]
    assert said == ["ignored a rollout.roll_back click: nothing to answer (no response_url)"]
    assert [c for c in bot.slack.workspace.calls if c != "auth.test"] == []
