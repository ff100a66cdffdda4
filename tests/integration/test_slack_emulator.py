"""The Slack emulator answers the real slack_sdk client as Slack would, errors included."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from sandbox.slack_emulator import SlackEmulator
from sandbox.slack_workspace import ResponseUrl


def _client(slack: SlackEmulator, token: str | None = None) -> WebClient:
    return WebClient(token=token or slack.workspace.bot_token, base_url=slack.api_url)


def _error(call: object) -> str:
    assert isinstance(call, SlackApiError)
    return str(call.response["error"])


def test_post_then_update_in_place(slack: SlackEmulator) -> None:
    client = _client(slack)
    assert client.auth_test()["user_id"] == "U0OPSBOT00"
    posted = client.chat_postMessage(channel="#orchestration-health", text="running")
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="done")
    [message] = slack.workspace.bot_messages("#orchestration-health")
    assert (message.text, message.history, message.edits) == ("done", ["running"], 1)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "#no-such-channel", "text": "x"}, "channel_not_found"),
        (
            {"channel": "C0HEALTH01", "text": "x", "blocks": [{"type": "divider"}] * 51},
            "invalid_blocks",
        ),
        (
            {
                "channel": "C0HEALTH01",
                "text": "x",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            },
            "invalid_blocks",
        ),
        (
            {"channel": "C0HEALTH01", "text": "x", "blocks": [{"type": "no_such_block"}]},
            "invalid_blocks",
        ),
        ({"channel": "C0HEALTH01", "text": "x" * 40_001}, "msg_too_long"),
    ],
)
def test_what_slack_rejects_is_rejected_with_slacks_error(
    slack: SlackEmulator, kwargs: dict[str, object], error: str
) -> None:
    with pytest.raises(SlackApiError) as refused:
        _client(slack).chat_postMessage(**kwargs)  # type: ignore[arg-type]
    assert _error(refused.value) == error
    assert slack.workspace.messages == []


def test_a_wrong_token_is_invalid_auth(slack: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as refused:
        _client(slack, token="xoxb-wrong").chat_postMessage(channel="C0HEALTH01", text="x")
    assert _error(refused.value) == "invalid_auth"


def test_rate_limits_answer_429_with_retry_after(slack: SlackEmulator) -> None:
    slack.workspace.rate_limit("chat.postMessage", times=1, retry_after_s=7)
    with pytest.raises(SlackApiError) as refused:
        _client(slack).chat_postMessage(channel="C0HEALTH01", text="x")
    assert refused.value.response.status_code == 429
    assert refused.value.response.headers["Retry-After"] in ("7", ["7"])
    _client(slack).chat_postMessage(channel="C0HEALTH01", text="x")  # the next call goes through


def test_response_url_posts_are_ephemeral_unless_in_channel(slack: SlackEmulator) -> None:
    url = slack.workspace.new_response_url(
        slack.url, ResponseUrl("C0HEALTH01", "U0DANAONCL", None, False)
    )
    WebhookClient(url).send(text="only you")
    WebhookClient(url).send(text="everyone", response_type="in_channel")
    shown = {m.text: m.ephemeral_to for m in slack.workspace.messages}
    assert shown == {"only you": "U0DANAONCL", "everyone": None}


def test_modals_open_update_and_push(slack: SlackEmulator) -> None:
    client = _client(slack)
    body = [{"type": "section", "text": {"type": "mrkdwn", "text": "Regrade 2026-02-01"}}]
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Regrade"}, "blocks": body}
    trigger = slack.workspace.issue_trigger("U0LEEAPPRV")
    opened = client.views_open(trigger_id=trigger, view=view)
    client.views_update(
        view_id=opened["view"]["id"],
        view=view | {"title": {"type": "plain_text", "text": "Regrade 2"}},
    )
    pushed_from_the_modal = slack.workspace.issue_trigger("U0LEEAPPRV")  # each trigger: one view
    client.views_push(trigger_id=pushed_from_the_modal, view=view)
    [open_view] = slack.workspace.views.values()
    assert open_view.view["title"]["text"] == "Regrade 2" and len(open_view.stack) == 1
    assert open_view.user == "U0LEEAPPRV"  # the modal opens for whoever's action gave the trigger
    with pytest.raises(SlackApiError) as refused:
        client.views_open(
            trigger_id=slack.workspace.issue_trigger("U0LEEAPPRV"),
            view={"type": "modal", "blocks": body},  # no title
        )
    assert _error(refused.value) == "invalid_arguments"
    with pytest.raises(SlackApiError) as refused:
        client.views_open(trigger_id="1.2.made-up", view=view)
    assert _error(refused.value) == "invalid_trigger_id"


SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "Health 2026-02-05"}}
TITLE = {"type": "plain_text", "text": "opsbot"}


@pytest.mark.parametrize(
    ("home", "error"),
    [
        ({"type": "home", "blocks": [SECTION] * 101}, "invalid_blocks"),
        (
            {
                "type": "home",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
            },
            "invalid_blocks",
        ),
        ({"type": "home", "blocks": [{"type": "no_such_block"}]}, "invalid_blocks"),
        ({"type": "home", "title": TITLE, "blocks": [SECTION]}, "invalid_arguments"),
        ({"type": "modal", "title": TITLE, "blocks": [SECTION]}, "invalid_arguments"),
    ],
    ids=["101 blocks", "3001 characters", "unknown block", "a title", "a modal"],
)
def test_views_publish_refuses_what_views_open_and_chat_refuse(
    slack: SlackEmulator, home: dict[str, object], error: str
) -> None:
    """One validator: Slack's limits for a Home tab (100 blocks, a section's text 3,000
    characters, known blocks only, no title/submit/close) as views.open applies a modal's."""
    client = _client(slack)
    with pytest.raises(SlackApiError) as refused:
        client.views_publish(user_id="U0DANAONCL", view=home)
    assert _error(refused.value) == error
    assert slack.workspace.homes == {}
    if error == "invalid_blocks":  # the same blocks in a modal, or a message, are refused alike
        modal = {**home, "type": "modal", "title": TITLE}
        with pytest.raises(SlackApiError) as opened:
            client.views_open(trigger_id=slack.workspace.issue_trigger("U0DANAONCL"), view=modal)
        assert _error(opened.value) == error
    published = client.views_publish(
        user_id="U0DANAONCL", view={"type": "home", "blocks": [SECTION]}
    )
    assert published["view"]["type"] == "home" and "U0DANAONCL" in slack.workspace.homes


def test_a_trigger_opens_one_view_within_three_seconds(slack: SlackEmulator) -> None:
    """Slack: trigger_ids expire 3 s after they are sent to the app, and are exchanged once."""
    client, ws = _client(slack), slack.workspace
    now = [1000.0]
    ws.monotonic = lambda: now[0]
    body = [{"type": "section", "text": {"type": "mrkdwn", "text": "Regrade 2026-02-01"}}]
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Regrade"}, "blocks": body}
    trigger = ws.issue_trigger("U0LEEAPPRV")
    now[0] += 2.9
    client.views_open(trigger_id=trigger, view=view)
    with pytest.raises(SlackApiError) as again:
        client.views_open(trigger_id=trigger, view=view)
    assert _error(again.value) == "exchanged_trigger_id"
    late = ws.issue_trigger("U0LEEAPPRV")
    now[0] += 3.1
    with pytest.raises(SlackApiError) as expired:
        client.views_open(trigger_id=late, view=view)
    assert _error(expired.value) == "expired_trigger_id"
    assert len(ws.views) == 1


def test_a_private_channel_the_bot_is_not_in_refuses_its_posts_and_is_invisible(
    slack: SlackEmulator,
) -> None:
    client, ws = _client(slack), slack.workspace
    ws.leave(["#canary-alerts"])
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="#canary-alerts", text="canary at 10%")
    assert _error(refused.value) == "not_in_channel"
    with pytest.raises(SlackApiError) as hidden:
        client.conversations_info(channel="C0CANARY01")
    assert _error(hidden.value) == "channel_not_found"
    listed = {c["name"]: c["is_member"] for c in client.conversations_list()["channels"]}
    assert "canary-alerts" not in listed and listed["deployment-alerts"] is True
    info = client.conversations_info(channel="C0DEPLOY01")
    headers = {key.lower(): value for key, value in info.headers.items()}
    assert "chat:write" in headers["x-oauth-scopes"].split(",")


def test_socket_mode_opens_with_the_app_token_only_and_each_url_connects_once(
    slack: SlackEmulator,
) -> None:
    import asyncio

    import aiohttp

    with pytest.raises(SlackApiError) as refused:
        _client(slack).apps_connections_open(app_token=slack.workspace.bot_token)
    assert _error(refused.value) == "not_allowed_token_type"
    url = _client(slack).apps_connections_open(app_token=slack.workspace.app_token)["url"]

    async def connect_twice() -> tuple[dict[str, object], int]:
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as first:
            hello = await first.receive_json(timeout=10)
            try:
                async with session.ws_connect(url):
                    return hello, 101
            except aiohttp.WSServerHandshakeError as again:
                return hello, again.status

    hello, second = asyncio.run(connect_twice())
    assert hello["type"] == "hello" and second == 401


def test_history_is_newest_first_without_replies_and_carries_metadata_when_asked(
    slack: SlackEmulator,
) -> None:
    client = _client(slack)
    marked = {"event_type": "opsbot_rollout", "event_payload": {"rollout_id": 7}}
    first = client.chat_postMessage(channel="#canary-alerts", text="first", metadata=marked)
    client.chat_postMessage(channel="#canary-alerts", text="reply", thread_ts=first["ts"])
    second = client.chat_postMessage(channel="#canary-alerts", text="second")
    channel = str(first["channel"])
    plain = client.conversations_history(channel=channel)
    assert [m["text"] for m in plain["messages"]] == ["second", "first"]
    assert all("metadata" not in m for m in plain["messages"])
    older = client.conversations_history(
        channel=channel, latest=second["ts"], include_all_metadata=True, limit=1
    )
    assert [(m["text"], m.get("metadata")) for m in older["messages"]] == [("first", marked)]
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel=channel, text="x", metadata={"event_type": "x"})
    assert _error(refused.value) == "invalid_metadata_format"


def test_history_needs_the_history_scope(slack: SlackEmulator) -> None:
    slack.workspace.scopes = [s for s in slack.workspace.scopes if s != "channels:history"]
    with pytest.raises(SlackApiError) as refused:
        _client(slack).conversations_history(channel="C0HEALTH01")
    assert _error(refused.value) == "missing_scope"


class _App(BaseHTTPRequestHandler):
    """An app at a request URL that answers every delivery with `answer` after `delay_s`."""

    delay_s = 0.0
    answer = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(self.delay_s)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self.answer)))
            self.end_headers()
            self.wfile.write(self.answer)
        except ConnectionError:  # Slack hung up at its deadline
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _app_answering(slack: SlackEmulator, answer: bytes, delay_s: float) -> Iterator[None]:
    handler = type("Handler", (_App,), {"delay_s": delay_s, "answer": answer})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    slack.connect_app(f"http://127.0.0.1:{server.server_address[1]}/slack/events", "secret")
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _modal(slack: SlackEmulator, user: str) -> str:
    body = [
        {
            "type": "input",
            "block_id": "start",
            "label": {"type": "plain_text", "text": "Start"},
            "element": {"type": "datepicker", "action_id": "start"},
        }
    ]
    view = {
        "type": "modal",
        "callback_id": "regrade",
        "title": {"type": "plain_text", "text": "Regrade"},
        "submit": {"type": "plain_text", "text": "Start"},
        "blocks": body,
    }
    trigger = slack.workspace.issue_trigger(user)
    return str(_client(slack).views_open(trigger_id=trigger, view=view)["view"]["id"])


def test_a_command_answered_after_the_deadline_is_discarded_and_slackbot_says_operation_timeout(
    slack: SlackEmulator,
) -> None:
    """Slack: an app has 3 s to acknowledge; past them its answer is not shown and the person
    reads '/cmd failed with the error "operation_timeout"' (the deadline lowered here)."""
    ws = slack.workspace
    slack.ack_deadline_s = 0.3
    with _app_answering(slack, b'{"text": "too late to be seen"}', delay_s=0.6):
        delivery = slack.command("U0DANAONCL", "#orchestration-health", "/health")
    assert delivery.timed_out and delivery.status == 0
    [said] = ws.messages
    assert (said.user, said.ephemeral_to) == ("USLACKBOT", "U0DANAONCL")
    assert said.text == '/health failed with the error "operation_timeout"'
    [late] = ws.late_acks
    assert (late.kind, late.name, late.user, late.late) == (
        "slash_commands",
        "/health",
        "U0DANAONCL",
        True,
    )
    assert late.seconds >= 0.3
    assert ws.rejections == [("slash_commands /health", "operation_timeout")]


def test_an_answer_inside_the_deadline_is_shown_and_timed(slack: SlackEmulator) -> None:
    ws = slack.workspace
    with _app_answering(slack, b'{"text": "on it"}', delay_s=0.1):
        delivery = slack.command("U0DANAONCL", "#orchestration-health", "/health")
        alert = ws.post("#orchestration-health", "2026-01-30 ungraded", None, "U0DANAONCL")
        slack.message_action("U0DANAONCL", alert, "regrade.from_message")
        slack.open_home("U0DANAONCL")
    assert delivery.status == 200 and not delivery.timed_out
    assert [m.text for m in ws.messages if m.ephemeral_to] == ["on it"]
    assert [(a.kind, a.name, a.late) for a in ws.acks] == [
        ("slash_commands", "/health", False),
        ("message_action", "regrade.from_message", False),
        ("event_callback", "app_home_opened", False),
    ]
    assert all(0.1 <= a.seconds < 3.0 for a in ws.acks)
    assert ws.late_acks == [] and ws.rejections == []


def test_a_late_view_submission_leaves_the_modal_open_with_slacks_banner(
    slack: SlackEmulator,
) -> None:
    ws = slack.workspace
    view_id = _modal(slack, "U0LEEAPPRV")
    slack.ack_deadline_s = 0.3
    values = {"start": {"start": {"type": "datepicker", "selected_date": "2026-01-30"}}}
    with _app_answering(slack, b"", delay_s=0.6):
        assert slack.submit_view("U0LEEAPPRV", view_id, values).timed_out
    assert view_id in ws.views  # still open, what was typed kept
    assert ws.view_errors == {view_id: "We had some trouble connecting. Try again?"}
    assert [(a.kind, a.name) for a in ws.late_acks] == [("view_submission", "regrade")]
    slack.ack_deadline_s = 3.0
    with _app_answering(slack, b"", delay_s=0.0):  # "Try again?": in time, it closes
        assert slack.submit_view("U0LEEAPPRV", view_id, values).status == 200
    assert ws.views == {} and ws.view_errors == {}


def test_a_view_submissions_answer_does_what_its_response_action_says(
    slack: SlackEmulator,
) -> None:
    ws = slack.workspace
    view_id = _modal(slack, "U0LEEAPPRV")
    errors = b'{"response_action": "errors", "errors": {"start": "pick a date"}}'
    with _app_answering(slack, errors, delay_s=0.0):
        slack.submit_view("U0LEEAPPRV", view_id, {})
    assert ws.field_errors == {view_id: {"start": "pick a date"}} and view_id in ws.views
    working = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Regrade"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Starting…"}}],
    }
    update = json.dumps({"response_action": "update", "view": working}).encode()
    with _app_answering(slack, update, delay_s=0.0):
        slack.submit_view("U0LEEAPPRV", view_id, {})
    assert ws.views[view_id].view["blocks"] == working["blocks"] and ws.field_errors == {}
    with _app_answering(slack, b'{"response_action": "clear"}', delay_s=0.0):
        slack.submit_view("U0LEEAPPRV", view_id, {})
    assert ws.views == {} and ws.rejections == []


def test_a_trigger_is_good_up_to_exactly_three_seconds(slack: SlackEmulator) -> None:
    """The rule: issued at t, exchanged at any time up to and including t + 3 s."""
    ws = slack.workspace
    now = [50.0]
    ws.monotonic = lambda: now[0]
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Regrade"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
    }
    trigger = ws.issue_trigger("U0LEEAPPRV")
    now[0] += 3.0
    _client(slack).views_open(trigger_id=trigger, view=view)
    assert len(ws.views) == 1


def test_an_update_answer_does_not_overwrite_a_views_update_the_app_made_after_it(
    slack: SlackEmulator,
) -> None:
    """Slack applies an ack's view as it arrives, before the app's later views.update; the
    emulator applies it when the HTTP call returns, so a views.update already in stays."""
    ws = slack.workspace
    view_id = _modal(slack, "U0LEEAPPRV")

    def modal(text: str) -> dict[str, object]:
        return {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Regrade"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }

    saving = json.dumps({"response_action": "update", "view": modal("Saving…")}).encode()
    later = threading.Timer(
        0.1, lambda: _client(slack).views_update(view_id=view_id, view=modal("Saved"))
    )
    # the emulator handles the answer after "Saved" came in: as when an app acks, then updates
    # and its views.update overtakes the HTTP answer on its way
    with _app_answering(slack, saving, delay_s=0.4):
        later.start()
        assert slack.submit_view("U0LEEAPPRV", view_id, {}).status == 200
    later.join()
    assert ws.views[view_id].view["blocks"][0]["text"]["text"] == "Saved"


DATE_INPUT = {
    "type": "input",
    "block_id": "start",
    "label": {"type": "plain_text", "text": "Start"},
    "element": {"type": "datepicker", "action_id": "start"},
}
NO_SUBMIT = {  # an input block, and no submit button to send it with
    "type": "modal",
    "callback_id": "regrade",
    "title": {"type": "plain_text", "text": "Regrade"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "blocks": [SECTION, DATE_INPUT],
}
SLACKS_WORDS = (  # what Slack answers, as apps log it (slackapi/node-slack-sdk#875 and others)
    "[ERROR] must define `submit` to use an `input` block in modals "
    "[json-pointer:/view/blocks/1/input]"
)


def test_a_modal_with_an_input_and_no_submit_is_refused_as_slack_refuses_it(
    slack: SlackEmulator,
) -> None:
    """Slack's modal view object: `submit` "is required when an input block is within the
    blocks array". views.open, views.update and views.push answer `invalid_arguments` with
    Slack's message in response_metadata.messages; with a submit the same view opens."""
    client, ws = _client(slack), slack.workspace
    view_id = _modal(slack, "U0LEEAPPRV")
    calls: dict[str, Callable[[dict[str, Any]], object]] = {
        "views.open": lambda view: client.views_open(
            trigger_id=ws.issue_trigger("U0LEEAPPRV"), view=view
        ),
        "views.update": lambda view: client.views_update(view_id=view_id, view=view),
        "views.push": lambda view: client.views_push(
            trigger_id=ws.issue_trigger("U0LEEAPPRV"), view=view
        ),
    }
    for method, call in calls.items():
        with pytest.raises(SlackApiError) as refused:
            call(NO_SUBMIT)
        answer = refused.value.response.data
        assert isinstance(answer, dict)
        assert answer["error"] == "invalid_arguments", method
        assert answer["response_metadata"] == {"messages": [SLACKS_WORDS]}, method
    assert [error for _, error in ws.rejections] == ["invalid_arguments"] * 3
    [opened] = ws.views.values()
    assert opened.view["blocks"] == [DATE_INPUT] and opened.stack == []  # nothing changed
    ws.rejections.clear()
    with_submit = NO_SUBMIT | {"submit": {"type": "plain_text", "text": "Start"}}
    for call in calls.values():
        call(with_submit)
    assert ws.rejections == [] and len(ws.views) == 2
    without_inputs = NO_SUBMIT | {"blocks": [SECTION]}  # a modal that only says something
    calls["views.update"](without_inputs)
    assert ws.rejections == []


@pytest.mark.parametrize("action", ["update", "push"])
def test_a_submission_answered_with_an_input_and_no_submit_is_refused(
    slack: SlackEmulator, action: str
) -> None:
    """A submission's `update`/`push` answer is a view as views.update takes it: without a
    submit for its input, Slack refuses it and the modal stays, with its banner."""
    ws = slack.workspace
    view_id = _modal(slack, "U0LEEAPPRV")
    answer = json.dumps({"response_action": action, "view": NO_SUBMIT}).encode()
    values = {"start": {"start": {"type": "datepicker", "selected_date": "2026-01-30"}}}
    with _app_answering(slack, answer, delay_s=0.0):
        assert slack.submit_view("U0LEEAPPRV", view_id, values).status == 200
    opened = ws.views[view_id]
    assert opened.view["blocks"] == [DATE_INPUT] and opened.stack == []
    assert ws.view_errors == {view_id: "We had some trouble connecting. Try again?"}
    assert ws.rejections == [(f"view_submission response_action={action}", "invalid_arguments")]
