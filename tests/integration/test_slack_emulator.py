"""The Slack emulator answers the real slack_sdk client as Slack would, errors included."""

from __future__ import annotations

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
