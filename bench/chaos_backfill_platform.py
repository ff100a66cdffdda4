"""The backfill soak's commands to the platform's process (bench/chaos_world.py serves them).

- `grading`: the grading function's faults from now on (RegradeFaults' keys: dates that fail,
  dates answered only after `slow_s`);
- `completion`: a completion on nba-grading-complete that cannot be understood, for a date
  (`nan`: `graded_count` NaN, as issue 30 saw it; `garbage`: a body that is not JSON);
- `triggers`: what was published on nba-grading-trigger, read from the Pub/Sub emulator's own
  records: (correlation id, date, publish time as epoch seconds), oldest first.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.platform import Sandbox

TRIGGER_TOPIC, COMPLETE_TOPIC = "nba-grading-trigger", "nba-grading-complete"
KNOWN = ("grading", "completion", "triggers")


def answer(sandbox: Sandbox, command: str, argument: Any) -> Any:
    """The answer to one of KNOWN (bench/chaos_world.py's serve_commands asks this module)."""
    from sandbox.faults import RegradeFaults

    assert sandbox.pubsub is not None and sandbox.grading is not None
    if command == "grading":
        sandbox.grading.faults = RegradeFaults(**dict(argument or {}))
        return None
    if command == "completion":
        kind, correlation, day = argument
        if kind == "nan":
            named = f'"target_date": {json.dumps(day)}, "correlation_id": {json.dumps(correlation)}'
            body = (
                "{" + named + ', "status": "success", "graded_count": NaN, "mae": 1.5}'
            ).encode()
        else:
            body = b'{"target_date": "' + str(day).encode() + b'", "status": succ'
        sandbox.pubsub.publish(COMPLETE_TOPIC, body, {})
        return None
    if command == "triggers":
        return triggers(sandbox)
    raise ValueError(f"unknown command {command!r}")


def triggers(sandbox: Sandbox) -> list[tuple[str, str, float]]:
    import base64

    assert sandbox.pubsub is not None
    found = []
    for topic, message in list(sandbox.pubsub.published):
        if topic != TRIGGER_TOPIC:
            continue
        try:
            body = json.loads(base64.b64decode(message["data"]))
        except ValueError:
            continue
        at = datetime.fromisoformat(str(message["publishTime"]).replace("Z", "+00:00"))
        found.append(
            (str(body.get("correlation_id")), str(body.get("target_date")), at.timestamp())
        )
    return found
