"""What the sandbox delivers is what Bolt expects from Slack: each payload kind reaches its listener."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.server import Server, asgi_app, bind
from sandbox.slack_emulator import SlackEmulator
from tests.slack.helpers import wait_until

SECRET = "delivery-test-secret"


@pytest.fixture
def wired() -> Iterator[tuple[SlackEmulator, list[tuple[str, Any]]]]:
    """A small Bolt app that records what each listener received, behind the emulator."""
    slack = SlackEmulator()
    slack.start()
    seen: list[tuple[str, Any]] = []
    app = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(token=slack.workspace.bot_token, base_url=slack.api_url),
    )

    @app.command("/regrade")
    async def command(ack: Any, command: dict[str, Any], client: AsyncWebClient) -> None:
        seen.append(("command", command["text"]))
        await ack()
        view = {
            "type": "modal",
            "callback_id": "regrade",
            "title": {"type": "plain_text", "text": "Regrade"},
            "submit": {"type": "plain_text", "text": "Publish"},
            "blocks": [
                {
                    "type": "input",
                    "block_id": "dates",
                    "label": {"type": "plain_text", "text": "Dates"},
                    "element": {"type": "plain_text_input", "action_id": "range"},
                }
            ],
        }
        await client.views_open(trigger_id=command["trigger_id"], view=view)

    @app.shortcut("regrade_from_alert")
    async def shortcut(ack: Any, shortcut: dict[str, Any]) -> None:
        seen.append(("message_action", shortcut["message"]["text"]))
        await ack()

    @app.view("regrade")
    async def submitted(ack: Any, view: dict[str, Any], body: dict[str, Any]) -> None:
        seen.append(("view_submission", (body["user"]["id"], view["state"]["values"])))
        await ack()

    @app.action("go")
    async def clicked(ack: Any, action: dict[str, Any], respond: Any) -> None:
        seen.append(("block_actions", action["value"]))
        await ack()
        await respond(text="done", replace_original=True)

    server = Server(asgi_app(app, lambda: {}, SECRET), bind("127.0.0.1", 0))
    thread = server.start_in_thread()
    slack.connect_app(f"{server.url}/slack/events", SECRET)
    yield slack, seen
    server.stop(thread)
    slack.stop()


def test_a_command_opens_a_modal_for_its_sender_and_the_submit_reaches_the_view_listener(
    wired: tuple[SlackEmulator, list[tuple[str, Any]]],
) -> None:
    slack, seen = wired
    assert slack.command("U0LEEAPPRV", "#nba-alerts", "/regrade 2026-02-01").status == 200
    ws = slack.workspace
    opened = wait_until(ws, lambda: next(iter(ws.views.values()), None))  # opened after the ack
    assert opened.user == "U0LEEAPPRV"
    values = {"dates": {"range": {"type": "plain_text_input", "value": "2026-02-01..2026-02-03"}}}
    assert slack.submit_view("U0LEEAPPRV", opened.id, values).status == 200
    assert seen == [
        ("command", "2026-02-01"),
        ("view_submission", ("U0LEEAPPRV", values)),
    ]
    assert slack.workspace.views == {}  # an empty ack closes the modal


def test_a_message_shortcut_and_a_button_reach_their_listeners(
    wired: tuple[SlackEmulator, list[tuple[str, Any]]],
) -> None:
    slack, seen = wired
    button = {
        "type": "button",
        "action_id": "go",
        "value": "v1",
        "text": {"type": "plain_text", "text": "Go"},
    }
    alert = slack.workspace.post(
        "#nba-alerts",
        "grading below 50%",
        [{"type": "section", "text": {"type": "mrkdwn", "text": "grading"}, "accessory": button}],
        "U0OPSBOT00",
    )
    assert slack.message_action("U0DANAONCL", alert, "regrade_from_alert").status == 200
    assert slack.click("U0DANAONCL", alert, "go").status == 200
    assert seen == [("message_action", "grading below 50%"), ("block_actions", "v1")]
    ws = slack.workspace
    wait_until(ws, lambda: ws.find(alert.channel, alert.ts).text == "done")  # replace_original
