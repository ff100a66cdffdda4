"""Events API envelopes the emulator sends, shaped as Slack documents them."""

from __future__ import annotations

import secrets
import time
from typing import Any

from sandbox.slack_workspace import Workspace


def app_home_opened(workspace: Workspace, user_id: str) -> dict[str, Any]:
    """`app_home_opened` in an `event_callback` envelope (a JSON body, signed like every request),
    carrying the Home tab's current view when one was published before, as Slack's event does.

    docs.slack.dev/reference/events/app_home_opened: `user`, `channel` (the app's DM),
    `event_ts`, `tab` ("home"); "If they opened a Home tab and that tab has had a view published
    at least once before, a view field will also be included"; sent "each time a user enters
    into the App Home space"."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": f"D{user_id[1:]}",
        "tab": "home",
        "event_ts": f"{time.time():.6f}",
    }
    if user_id in workspace.homes:
        event["view"] = workspace.homes[user_id]
    return {
        "token": "sandbox-verification-token",
        "team_id": workspace.team_id,
        "api_app_id": "A0OPSBOT00",
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{secrets.token_hex(5).upper()}",
        "event_time": int(time.time()),
    }
