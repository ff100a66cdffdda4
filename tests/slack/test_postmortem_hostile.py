"""Signed but impossible postmortem payloads: refused, never a 500 or a traceback, nothing changed.

Slack signs what it sends, so a signed request may still carry what no modal or message of
opsbot's ever held (a forged or corrupted private_metadata, a timestamp that is not one, a
shortcut whose message is a string). Each is answered below 500, without an ERROR record, and
leaves the postmortem's version, its timeline and its action items as they were, with no message
posted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.actions import ActionId
from bot.views.postmortem import EDIT_MODAL, SHORTCUT, TIMELINE_MODAL
from opsbot.sandbox_serve import SandboxBot
from sandbox.slack_objects import OpenView
from sandbox.slack_workspace import Message, Workspace
from store.postmortem_views import PostmortemView
from store.postmortems import Postmortems
from tests.slack.helpers import APPROVER, HEALTH_CHANNEL, ONCALL, ephemeral_for, wait_until
from tests.slack.test_hostile_requests import FORM, post, signed
from tests.slack.test_postmortem_in_slack import submit_in_order

DAY = "2026-01-09"  # catboost_v9 wrote nothing: a data incident no other test of this bot opens


@dataclass(frozen=True)
class Seen:
    """What a hostile request must leave as it was."""

    version: int
    events: int
    items: int
    channel_messages: int
    views: int


def _postmortems(bot: SandboxBot) -> Postmortems:
    assert bot.runtime.postmortem_tools is not None
    return bot.runtime.postmortem_tools().postmortems


@pytest.fixture(scope="module")
def incident(served_bot: SandboxBot) -> PostmortemView:
    """The postmortem of DAY, started once through /postmortem."""
    postmortems = _postmortems(served_bot)
    found = postmortems.by_subject(f"date:{DAY}")
    if found is None:
        ws = served_bot.slack.workspace
        ws.clear()  # what another module's tests left: only this command's answer is waited for
        served_bot.slack.command(ONCALL, HEALTH_CHANNEL, f"/postmortem {DAY}")
        wait_until(ws, ephemeral_for(ws, ONCALL, "Started: <"), timeout_s=60)
        found = postmortems.by_subject(f"date:{DAY}")
    assert found is not None
    return found


def _reposted(bot: SandboxBot) -> Message:
    """DAY's postmortem message, posted anew by /postmortem (the workspace was cleared since):
    once the command is done (the update that found it gone is no refusal of this test's)."""
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, HEALTH_CHANNEL, f"/postmortem {DAY}")
    wait_until(ws, ephemeral_for(ws, ONCALL, "Already started: <"))
    ws.rejections[:] = [r for r in ws.rejections if r != ("chat.update", "message_not_found")]
    return next(m for m in ws.bot_messages() if m.text.startswith("Postmortem ("))


def _seen(bot: SandboxBot, postmortem_id: int) -> Seen:
    stored = _postmortems(bot).get(postmortem_id)
    assert stored is not None
    ws = bot.slack.workspace
    return Seen(
        stored.version,
        len(stored.events),
        len(stored.items),
        len([m for m in ws.bot_messages() if m.ephemeral_to is None]),
        len(ws.views),
    )


def _payload(bot: SandboxBot, payload: Any) -> tuple[int, str]:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return post(bot, body, signed(bot, body, FORM))


def _refused_cleanly(
    bot: SandboxBot, caplog: pytest.LogCaptureFixture, status: int, before: Seen, pid: int
) -> None:
    assert status < 500
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert errors == [], [r.getMessage() for r in errors]
    assert _seen(bot, pid) == before


def _submission(callback_id: str, metadata: str, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": "T0SANDBOX1", "domain": "sandbox"},
        "user": {"id": ONCALL, "name": "dana"},
        "view": {
            "id": "V0FORGED01",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": metadata,
            "state": {"values": values},
        },
        "trigger_id": "1.2.3",
    }


def _channel(bot: SandboxBot) -> dict[str, str]:
    found = bot.slack.workspace.channel(HEALTH_CHANNEL)
    return {"channel": found.id, "channel_name": found.name}


SUMMARY = {"summary": {"summary": {"type": "plain_text_input", "value": "forged"}}}


@pytest.mark.parametrize(
    "metadata",
    [
        {"id": "abc", "version": 1},
        {"id": 10**30, "version": 1},
        {"id": 2**31, "version": 1},
        {"id": 0, "version": 1},
        {"id": -1, "version": 1},
        {"id": None, "version": 1},
        {"version": 1},
        {"id": "PID", "version": "x"},
        {"id": "PID", "version": 10**30},
        {"id": "PID", "version": -1},
        {"id": "PID", "version": 1.5},
        {"id": "PID", "version": [1]},
        {"id": "PID", "version": "VERSION", "extra": "field"},
    ],
)
def test_edit_metadata_no_modal_of_ours_holds_is_refused_and_changes_nothing(
    bot: SandboxBot,
    incident: PostmortemView,
    metadata: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    stored = _postmortems(bot).get(incident.id)
    assert stored is not None
    filled = {
        key: {"PID": stored.id, "VERSION": stored.version}.get(value, value)
        if isinstance(value, str)
        else value
        for key, value in metadata.items()
    }
    before = _seen(bot, stored.id)
    forged = _submission(EDIT_MODAL, json.dumps(filled | _channel(bot)), SUMMARY)
    status, _ = _payload(bot, forged)
    _refused_cleanly(bot, caplog, status, before, stored.id)


@pytest.mark.parametrize("metadata", ["not json", "[1, 2]", '"a string"', "null", "{"])
def test_edit_metadata_that_is_not_an_object_is_refused(
    bot: SandboxBot, incident: PostmortemView, metadata: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = _seen(bot, incident.id)
    status, _ = _payload(bot, _submission(EDIT_MODAL, metadata, SUMMARY))
    _refused_cleanly(bot, caplog, status, before, incident.id)


@pytest.mark.parametrize(
    "message",
    [
        {"ts": "nan"},
        {"ts": "inf"},
        {"ts": "-inf"},
        {"ts": "1e20"},
        {"ts": "-1"},
        {"ts": "99999999999.5"},  # a timestamp's shape, but past the year 9999
        {"ts": ""},
        {"ts": 1.5},
        {"ts": "1769000000.000100", "channel": None},
        {"ts": "1769000000.000100", "channel": ""},
        {"ts": "1769000000.000100", "channel": "not a channel id"},
        {"ts": "1769000000.000100", "text": ["a", "list"]},
        {"ts": "1769000000.000100", "user": {"id": "U1"}},
    ],
)
def test_a_timeline_message_that_cannot_be_a_slack_message_is_refused(
    bot: SandboxBot,
    incident: PostmortemView,
    message: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = _seen(bot, incident.id)
    where = _channel(bot)
    metadata = {"channel": where["channel"], "channel_name": where["channel_name"]} | message
    metadata.setdefault("user", ONCALL)
    metadata.setdefault("text", "a forged message")
    chosen = {"postmortem": {"postmortem": {"selected_option": {"value": str(incident.id)}}}}
    status, _ = _payload(bot, _submission(TIMELINE_MODAL, json.dumps(metadata), chosen))
    _refused_cleanly(bot, caplog, status, before, incident.id)


@pytest.mark.parametrize(
    "chosen",
    [
        {"value": "abc"},
        {"value": "10000000000000000000000000000000"},
        {"value": "-1"},
        {"value": "²"},
        {"value": 5},
        "a string",
        None,
    ],
)
def test_a_timeline_choice_that_no_option_offered_is_refused(
    bot: SandboxBot, incident: PostmortemView, chosen: Any, caplog: pytest.LogCaptureFixture
) -> None:
    before = _seen(bot, incident.id)
    metadata = _channel(bot) | {"ts": "1769000000.000100", "user": ONCALL, "text": "x"}
    values = {"postmortem": {"postmortem": {"selected_option": chosen}}}
    status, _ = _payload(bot, _submission(TIMELINE_MODAL, json.dumps(metadata), values))
    _refused_cleanly(bot, caplog, status, before, incident.id)


@pytest.mark.parametrize(
    "message",
    ["a string", None, [1, 2], {"ts": "nan", "text": "x"}, {"ts": "1e20"}, {"text": "no ts"}],
)
def test_a_shortcut_on_a_message_that_is_not_one_opens_nothing(
    bot: SandboxBot, incident: PostmortemView, message: Any, caplog: pytest.LogCaptureFixture
) -> None:
    before = _seen(bot, incident.id)
    where = bot.slack.workspace.channel(HEALTH_CHANNEL)
    shortcut = {
        "type": "message_action",
        "callback_id": SHORTCUT,
        "trigger_id": bot.slack.workspace.issue_trigger(APPROVER),
        "message_ts": "1769000000.000100",
        "message": message,
        "channel": {"id": where.id, "name": where.name},
        "user": {"id": APPROVER, "name": "lee"},
        "team": {"id": "T0SANDBOX1", "domain": "sandbox"},
    }
    status, _ = _payload(bot, shortcut)
    _refused_cleanly(bot, caplog, status, before, incident.id)


def _opened(ws: Workspace, user: str, words: str, but: str | None = None) -> OpenView:
    """The modal `user` has open once it shows `words` (and is not `but`)."""
    return wait_until(
        ws,
        lambda: next(
            (
                v
                for v in ws.views.values()
                if v.user == user and v.id != but and words in json.dumps(v.view)
            ),
            None,
        ),
    )


def test_a_message_added_to_a_postmortem_that_does_not_exist_is_said_in_the_modal(
    bot: SandboxBot, incident: PostmortemView, caplog: pytest.LogCaptureFixture
) -> None:
    ws = bot.slack.workspace
    said = ws.post(HEALTH_CHANNEL, "predictions stopped at 09:00", None, ONCALL)
    before = _seen(bot, incident.id)
    bot.slack.message_action(APPROVER, said, SHORTCUT)
    opened = _opened(ws, APPROVER, TIMELINE_MODAL)
    wait_until(ws, lambda: "static_select" in json.dumps(ws.views[opened.id].view))
    gone = {"postmortem": {"postmortem": {"selected_option": {"value": str(2**31 - 1)}}}}
    answer = submit_in_order(bot, APPROVER, opened.id, gone)
    assert answer.status == 200
    shown = wait_until(
        ws,
        lambda: (
            ws.views[opened.id].view
            if "no longer exists" in json.dumps(ws.views[opened.id].view)
            else None
        ),
    )
    assert "predictions stopped at 09:00" in json.dumps(shown)  # the form again, to pick another
    after = _seen(bot, incident.id)
    assert (after.version, after.events, after.channel_messages) == (
        before.version,
        before.events,
        before.channel_messages,
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_saving_a_postmortem_that_does_not_exist_says_so_in_the_modal(
    bot: SandboxBot, incident: PostmortemView, caplog: pytest.LogCaptureFixture
) -> None:
    ws = bot.slack.workspace
    draft = _reposted(bot)
    bot.slack.click(ONCALL, draft, ActionId.POSTMORTEM_EDIT)
    opened = _opened(ws, ONCALL, EDIT_MODAL)
    form = wait_until(
        ws,
        lambda: (
            ws.views[opened.id].view if "severity" in json.dumps(ws.views[opened.id].view) else None
        ),
    )
    metadata = json.loads(form["private_metadata"])
    ws.views[opened.id].view = form | {"private_metadata": json.dumps(metadata | {"id": 2**31 - 1})}
    before = _seen(bot, incident.id)
    answer = submit_in_order(bot, ONCALL, opened.id, SUMMARY)
    assert answer.status == 200
    wait_until(ws, lambda: "no longer exists" in json.dumps(ws.views[opened.id].view))
    assert _seen(bot, incident.id) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize(
    ("action", "button"),
    [
        (ActionId.POSTMORTEM_FINAL, {"postmortem": 10**30}),
        (ActionId.POSTMORTEM_EXPORT, {"postmortem": 10**30}),
        (ActionId.POSTMORTEM_EDIT, {"postmortem": 10**30}),
        (ActionId.POSTMORTEM_FINAL, {"postmortem": 2**31}),
        (ActionId.ACTION_ITEM_DONE, {"item": 10**30}),
        (ActionId.POSTMORTEM_START, {"subject": "date:0001-01-01"}),
        (ActionId.POSTMORTEM_START, {"subject": "date:9999-12-31"}),
        (ActionId.POSTMORTEM_START, {"subject": "rollout:999999999999"}),
        (ActionId.POSTMORTEM_START, {"subject": "rollback:999999999999"}),
    ],
)
def test_a_button_naming_nothing_opsbot_could_have_drawn_says_so_and_changes_nothing(
    bot: SandboxBot,
    incident: PostmortemView,
    action: ActionId,
    button: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    ws = bot.slack.workspace
    draft = _reposted(bot)
    before = _seen(bot, incident.id)
    clicked = bot.slack.click_payload(ONCALL, draft, ActionId.POSTMORTEM_EDIT)
    clicked["actions"][0] |= {"action_id": str(action), "value": json.dumps(button)}
    caplog.clear()
    status, _ = _payload(bot, clicked)
    assert status < 500
    said = wait_until(
        ws,
        lambda: (
            next(
                (
                    m
                    for m in ws.messages  # an id past the store's range: not a button we drew
                    if m.ephemeral_to == ONCALL and ("exist" in m.text or "older version" in m.text)
                ),
                None,
            )
            or next(
                (v for v in ws.views.values() if "no longer exists" in json.dumps(v.view)), None
            )
            or next(
                (m for m in ws.messages if m.ephemeral_to == ONCALL and "no incident" in m.text),
                None,
            )
        ),
    )
    assert said
    after = _seen(bot, incident.id)
    assert (after.version, after.events, after.items, after.channel_messages) == (
        before.version,
        before.events,
        before.items,
        before.channel_messages,
    )
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize("trigger", [None, "", "1.2.3"])
def test_an_edit_click_whose_trigger_cannot_open_a_modal_says_to_press_again(
    bot: SandboxBot, incident: PostmortemView, trigger: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    ws = bot.slack.workspace
    draft = _reposted(bot)
    before = _seen(bot, incident.id)
    clicked = bot.slack.click_payload(ONCALL, draft, ActionId.POSTMORTEM_EDIT)
    clicked["trigger_id"] = trigger
    caplog.clear()
    status, _ = _payload(bot, clicked)
    assert status < 500
    wait_until(ws, ephemeral_for(ws, ONCALL, "press Edit again"))
    assert _seen(bot, incident.id) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert ws.rejections == [("views.open", "invalid_trigger_id")]  # Slack's answer, said
    ws.rejections.clear()
