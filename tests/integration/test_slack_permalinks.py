"""The Slack emulator's permalinks open in its console, and a reply to no thread is refused."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import warnings

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_emulator import SlackEmulator


def _client(slack: SlackEmulator) -> WebClient:
    return WebClient(token=slack.workspace.bot_token, base_url=slack.api_url)


def _get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return answer.status, answer.headers["Content-Type"], answer.read().decode()


def test_a_permalink_is_slacks_path_under_the_console_and_opens_the_console(
    slack: SlackEmulator,
) -> None:
    """Slack's shape (`/archives/<channel>/p<ts without its dot>`, a reply's with
    `?thread_ts=<parent>&cid=<channel>`) under the emulator's own origin, where the console is."""
    client = _client(slack)
    parent = client.chat_postMessage(channel="#canary-alerts", text="Rollout #4 nba-scrapers")
    reply = client.chat_postMessage(
        channel="#canary-alerts", thread_ts=parent["ts"], text="analysis at 10%: 12% 5xx"
    )
    channel, parent_ts, reply_ts = parent["channel"], str(parent["ts"]), str(reply["ts"])

    to_parent = client.chat_getPermalink(channel=channel, message_ts=parent_ts)
    to_reply = client.chat_getPermalink(channel=channel, message_ts=reply_ts)

    archives = f"{slack.url}/archives/{channel}"
    assert to_parent["permalink"] == f"{archives}/p{parent_ts.replace('.', '')}"
    assert to_reply["permalink"] == (
        f"{archives}/p{reply_ts.replace('.', '')}?thread_ts={parent_ts}&cid={channel}"
    )
    assert client.auth_test()["url"] == f"{slack.url}/"  # the workspace's URL: the console
    for link in (to_parent["permalink"], to_reply["permalink"], archives):
        status, kind, page = _get(link)  # a deep link: the console's page, which opens it
        assert (status, kind) == (200, "text/html; charset=utf-8")
        assert "<title>opsbot sandbox · Slack console</title>" in page
    with pytest.raises(urllib.error.HTTPError) as missing:
        _get(f"{slack.url}/archives/{channel}/p12/extra")
    assert missing.value.code == 404


def test_a_reply_in_a_thread_that_does_not_exist_is_thread_not_found(
    slack: SlackEmulator,
) -> None:
    """chat.postMessage with a thread_ts that names no message (its parent deleted, or never
    posted) is Slack's `thread_not_found` (slackapi/bolt-js#2307), not `message_not_found`;
    so is a file shared into such a thread, and a reply the console's person types there."""
    client, ws = _client(slack), slack.workspace
    parent = client.chat_postMessage(channel="#canary-alerts", text="Regrading 2026-01-28")
    client.chat_delete(channel=parent["channel"], ts=parent["ts"])
    for thread_ts in (str(parent["ts"]), "1770314400.999999"):
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel="#canary-alerts", thread_ts=thread_ts, text="1/2 done")
        assert refused.value.response["error"] == "thread_not_found"
    with pytest.raises(SlackApiError) as shared, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        client.files_upload_v2(
            channel=parent["channel"], thread_ts=parent["ts"], content="x", filename="a.md"
        )
    assert shared.value.response["error"] == "thread_not_found"
    typed = urllib.request.Request(  # the console's thread pane, open on the deleted parent
        f"{slack.url}/console/api/command",
        json.dumps(
            {
                "user": "U0DANAONCL",
                "channel": parent["channel"],
                "thread_ts": parent["ts"],
                "text": "?",
            }
        ).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(typed, timeout=10) as answer:
        assert json.load(answer) == {"ok": False, "error": "thread_not_found"}
    assert ws.rejections == [
        ("chat.postMessage", "thread_not_found"),
        ("chat.postMessage", "thread_not_found"),
        ("files.completeUploadExternal", "thread_not_found"),
    ]
    assert ws.messages == []
