"""What `opsbot serve` logs: one JSON object a line, each naming its Slack request and rollout."""

from __future__ import annotations

import io
import json
import logging
import re
from typing import Any

from bot.actions import ActionId
from bot.errors import describe
from opsbot.logs import configure_logging
from opsbot.sandbox_serve import SandboxBot
from tests.slack.conftest import checklist_for, rollout_message
from tests.slack.helpers import DEPLOYER


def _entries(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]  # each line: one object


def test_every_mutation_is_an_info_entry_naming_the_slack_ids_and_the_rollout(
    deploying: SandboxBot, served_log: io.StringIO
) -> None:
    ws = deploying.slack.workspace
    deploying.slack.command(
        DEPLOYER, "#deployment-alerts", "/deploy nba-phase4-precompute-processors"
    )
    deploying.slack.click(DEPLOYER, checklist_for(ws, DEPLOYER), ActionId.DEPLOY_START)
    rollout_message(ws, "canary at 10%")
    entries = _entries(served_log)
    started = next(
        e
        for e in entries
        if isinstance(e.get("audit"), dict) and e["audit"]["action"] == "deploy.start"
    )
    assert started["severity"] == "INFO" and "deploy.start by U0SAMDEPLY" in str(started["message"])
    assert started["slack"] == {"team": ws.team_id, "channel": "C0DEPLOY01", "user": DEPLOYER}
    assert isinstance(started["rollout_id"], int)
    assert ws.bot_token not in served_log.getvalue()  # never a token


def test_an_unexpected_error_is_one_entry_with_its_whole_traceback_and_reference(
    served_log: io.StringIO,
) -> None:
    try:
        _ = dict[str, int]()["missing"]
    except KeyError as error:
        said = describe(error)
    [entry] = [e for e in _entries(served_log) if e.get("error_ref")]
    assert entry["severity"] == "ERROR" and entry["error_ref"] == said.reference
    assert "Traceback (most recent call last)" in str(entry["message"])
    assert "KeyError: 'missing'" in str(entry["message"])


def test_a_serving_terminal_s_lines_say_when_and_which_rollout(deploying: SandboxBot) -> None:
    root, ours = logging.getLogger(), logging.getLogger("opsbot")
    kept = (root.handlers[:], root.level, ours.level)
    stream = io.StringIO()
    configure_logging("text", stream=stream, serving=True)
    try:
        ws = deploying.slack.workspace
        deploying.slack.command(
            DEPLOYER, "#deployment-alerts", "/deploy nba-phase4-precompute-processors"
        )
        deploying.slack.click(DEPLOYER, checklist_for(ws, DEPLOYER), ActionId.DEPLOY_START)
        rollout_message(ws, "canary at 10%")
    finally:
        root.handlers[:], _, _ = kept
        root.setLevel(kept[1])
        ours.setLevel(kept[2])
    started = next(line for line in stream.getvalue().splitlines() if "deploy.start by" in line)
    stamp, level, _ = started.split(" ", 2)
    assert stamp.endswith("Z") and "T" in stamp and level == "INFO"
    assert re.search(r"\[rollout #\d+\]$", started)
