"""The Slack emulator's answers against Slack's Web API OpenAPI spec (a pinned excerpt).

slack_web_openapi_excerpt.json holds the spec's paths for the methods the emulator answers and
every definition, pinned from slackapi/slack-api-specs at bc08db4 (its header says where).
The spec is out of date in places: errors Slack documents on its method pages but the spec's
enums lack are listed in SPEC_LACKS, each with where Slack documents it; and fields the spec
types wrongly are in SPEC_WRONG (chat.update's `message.blocks`: an array, as Slack returns it).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_emulator import SlackEmulator

SPEC = json.loads((Path(__file__).parent / "slack_web_openapi_excerpt.json").read_text())
SPEC_LACKS = {
    "invalid_blocks": "chat.postMessage/chat.update pages: blocks that do not validate",
    "ratelimited": "the rate limits page: HTTP 429 with this error",
    "message_not_found": "chat.update/chat.delete pages",
    "cant_update_message": "chat.update page",
    "cant_delete_message": "chat.delete page",
    "user_not_in_channel": "chat.postEphemeral page",
    # a reply whose thread_ts names no message (its parent deleted meanwhile): Slack's SDK
    # maintainers on what chat.postMessage answers then, slackapi/bolt-js#2307
    "thread_not_found": "chat.postMessage: slackapi/bolt-js#2307",
}

SPEC_WRONG = {("chat.update", ("message", "blocks"))}


def _conforms(method: str, body: dict[str, Any]) -> None:
    operation = next(iter(SPEC["paths"][f"/{method}"].values()))
    schema = operation["responses"]["200" if body.get("ok") else "default"]["schema"]
    validator = jsonschema.Draft4Validator({**schema, "definitions": SPEC["definitions"]})
    errors = sorted(
        (e for e in validator.iter_errors(body) if (method, tuple(e.path)) not in SPEC_WRONG),
        key=lambda e: list(e.path),
    )
    assert not errors, f"{method}: " + "; ".join(
        f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in errors
    )


def _refused(method: str, call: Any) -> None:
    with pytest.raises(SlackApiError) as refused, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # slack_sdk's advice on a call meant to fail
        call()
    body = dict(refused.value.response.data)
    if body.get("error") in SPEC_LACKS:
        return
    _conforms(method, body)


def test_every_answer_the_bot_reads_is_one_slack_documents(slack: SlackEmulator) -> None:
    client = WebClient(token=slack.workspace.bot_token, base_url=slack.api_url)
    _conforms("auth.test", dict(client.auth_test().data))  # type: ignore[arg-type]
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*canary* at 10%"}}]
    posted = client.chat_postMessage(channel="#canary-alerts", text="canary", blocks=blocks)
    _conforms("chat.postMessage", dict(posted.data))  # type: ignore[arg-type]
    updated = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="canary at 50%")
    _conforms("chat.update", dict(updated.data))  # type: ignore[arg-type]
    ephemeral = client.chat_postEphemeral(channel="#canary-alerts", user="U0SAMDEPLY", text="hi")
    _conforms("chat.postEphemeral", dict(ephemeral.data))  # type: ignore[arg-type]
    info = client.conversations_info(channel=posted["channel"])
    _conforms("conversations.info", dict(info.data))  # type: ignore[arg-type]
    listed = client.conversations_list(types="public_channel,private_channel")
    _conforms("conversations.list", dict(listed.data))  # type: ignore[arg-type]
    deleted = client.chat_delete(channel=posted["channel"], ts=posted["ts"])
    _conforms("chat.delete", dict(deleted.data))  # type: ignore[arg-type]

    slack.workspace.leave(["#random"])
    _refused("chat.postMessage", lambda: client.chat_postMessage(channel="#random", text="x"))
    _refused("chat.postMessage", lambda: client.chat_postMessage(channel="#nowhere", text="x"))
    _refused("chat.postMessage", lambda: client.chat_postMessage(channel="#canary-alerts"))
    _refused(  # a reply in the thread of the message deleted above
        "chat.postMessage",
        lambda: client.chat_postMessage(
            channel=posted["channel"], thread_ts=posted["ts"], text="1/2 done"
        ),
    )
    _refused("conversations.info", lambda: client.conversations_info(channel="C0NOWHERE1"))
    _refused("chat.delete", lambda: client.chat_delete(channel=posted["channel"], ts=posted["ts"]))
    bad = WebClient(token="xoxb-wrong", base_url=slack.api_url)
    _refused("auth.test", bad.auth_test)
    assert [error for _, error in slack.workspace.rejections] == [
        "not_in_channel",
        "channel_not_found",
        "no_text",
        "thread_not_found",  # Slack's, not the message_not_found chat.update answers
        "channel_not_found",
        "message_not_found",
        "invalid_auth",
    ]


def test_the_pinned_spec_lacks_what_slack_now_documents() -> None:
    """The note on where the spec is out of date stays true of the pinned copy."""
    documented = set()
    for operation in (next(iter(p.values())) for p in SPEC["paths"].values()):
        enum = operation["responses"]["default"]["schema"].get("properties", {}).get("error", {})
        documented.update(enum.get("enum", []))
    assert "invalid_blocks" not in documented and "ratelimited" not in documented
    assert "not_in_channel" in documented  # what the emulator enforces is in it


def test_views_open_and_its_trigger_refusals_are_answers_slack_documents(
    slack: SlackEmulator,
) -> None:
    """A trigger past its 3 s, or used twice, is refused in the error shape views.open has."""
    client, ws = WebClient(token=slack.workspace.bot_token, base_url=slack.api_url), slack.workspace
    now = [100.0]
    ws.monotonic = lambda: now[0]
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Regrade"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "2026-01-30"}}],
    }
    trigger = ws.issue_trigger("U0LEEAPPRV")
    _conforms("views.open", dict(client.views_open(trigger_id=trigger, view=view).data))  # type: ignore[arg-type]
    _refused("views.open", lambda: client.views_open(trigger_id=trigger, view=view))
    late = ws.issue_trigger("U0LEEAPPRV")
    now[0] += 3.5
    _refused("views.open", lambda: client.views_open(trigger_id=late, view=view))
    _refused("views.push", lambda: client.views_push(trigger_id=late, view=view))
    assert [error for _, error in ws.rejections] == [
        "exchanged_trigger_id",
        "expired_trigger_id",
        "expired_trigger_id",
    ]


def test_a_modal_with_an_input_and_no_submit_is_refused_in_the_shape_slack_documents(
    slack: SlackEmulator,
) -> None:
    """views.open, views.update and views.push refuse an input without a submit button
    (Slack's modal view object) as an `ok: false` answer their pages document, with what is
    wrong in response_metadata.messages."""
    client, ws = WebClient(token=slack.workspace.bot_token, base_url=slack.api_url), slack.workspace
    said = {"type": "section", "text": {"type": "mrkdwn", "text": "2026-01-30"}}
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Regrade"}, "blocks": [said]}
    opened = client.views_open(trigger_id=ws.issue_trigger("U0LEEAPPRV"), view=view)
    date = {"type": "datepicker", "action_id": "start"}
    label = {"type": "plain_text", "text": "Start"}
    form = view | {"blocks": [{"type": "input", "label": label, "element": date}]}
    _refused(
        "views.open",
        lambda: client.views_open(trigger_id=ws.issue_trigger("U0LEEAPPRV"), view=form),
    )
    _refused("views.update", lambda: client.views_update(view_id=opened["view"]["id"], view=form))
    _refused(
        "views.push",
        lambda: client.views_push(trigger_id=ws.issue_trigger("U0LEEAPPRV"), view=form),
    )
    assert [error for _, error in ws.rejections] == ["invalid_arguments"] * 3
    with pytest.raises(SlackApiError) as refused:
        client.views_open(trigger_id=ws.issue_trigger("U0LEEAPPRV"), view=form)
    assert refused.value.response["response_metadata"]["messages"] == [
        "[ERROR] must define `submit` to use an `input` block in modals "
        "[json-pointer:/view/blocks/0/input]"
    ]
