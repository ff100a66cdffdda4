"""The Slack emulator's conversations.replies, as Slack documents it
(docs.slack.dev/reference/methods/conversations.replies): a thread, parent first, with metadata
on request; a parent that is gone is `thread_not_found`."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_emulator import SlackEmulator


def test_replies_show_a_thread_parent_first_with_its_metadata(slack: SlackEmulator) -> None:
    client = WebClient(token=slack.workspace.bot_token, base_url=slack.api_url)
    marked = {"event_type": "opsbot_backfill", "event_payload": {"backfill_id": 4}}
    parent = client.chat_postMessage(channel="#canary-alerts", text="parent")
    client.chat_postMessage(channel="#canary-alerts", text="elsewhere")
    client.chat_postMessage(
        channel="#canary-alerts", text="reply", thread_ts=parent["ts"], metadata=marked
    )
    channel = str(parent["channel"])
    thread = client.conversations_replies(channel=channel, ts=parent["ts"])
    assert [m["text"] for m in thread["messages"]] == ["parent", "reply"]
    assert all("metadata" not in m for m in thread["messages"])
    shown = client.conversations_replies(
        channel=channel, ts=parent["ts"], include_all_metadata=True
    )
    assert [m.get("metadata") for m in shown["messages"]] == [None, marked]
    client.chat_delete(channel=channel, ts=parent["ts"])
    with pytest.raises(SlackApiError) as refused:
        client.conversations_replies(channel=channel, ts=parent["ts"])
    assert refused.value.response["error"] == "thread_not_found"
