"""Postmortems in Slack: offered after a rollback, drafted, edited, exported, and fed from messages."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.actions import ActionId
from bot.views.postmortem import EDIT_MODAL, SECTION_TITLES, SHORTCUT, TIMELINE_MODAL
from commands.postmortem.model import HEADINGS
from opsbot.sandbox_serve import SandboxBot
from sandbox.slack_delivery import Delivery
from sandbox.slack_objects import OpenView
from sandbox.slack_workspace import Message, Workspace
from store.postmortems import Postmortems
from store.rollouts import Store
from tests.slack.conftest import checklist_for, rollout_message
from tests.slack.helpers import (
    APPROVER,
    DEPLOYER,
    ONCALL,
    block_text,
    buttons,
    ephemeral_for,
    showing,
    wait_until,
)
from tests.unit.test_postmortem_markdown import (
    HOSTILE,
    as_typed,
    paragraphs_only,
    renderer,
    sections_of,
    shown,
    tags_of,
)


def _thread(ws: Workspace, parent: Message, words: str) -> Message:
    return wait_until(
        ws,
        lambda: next(
            (
                m
                for m in ws.messages
                if m.thread_ts == parent.ts and words in m.text and m.ephemeral_to is None
            ),
            None,
        ),
        timeout_s=60,
    )


def _postmortem(ws: Workspace, words: str = "Postmortem") -> Message:
    return wait_until(
        ws,
        lambda: next(
            (m for m in ws.bot_messages() if m.ephemeral_to is None and m.text.startswith(words)),
            None,
        ),
        timeout_s=60,
    )


def _store(bot: SandboxBot) -> tuple[Store, Postmortems]:
    assert bot.runtime.postmortem_tools is not None
    tools = bot.runtime.postmortem_tools()
    return tools.deploy.store, tools.postmortems


def _auto_rollback(bot: SandboxBot) -> Message:
    """/deploy nba-scrapers: its bad commit rolls itself back; the rollout's message."""
    ws = bot.slack.workspace
    bot.slack.command(DEPLOYER, "#deployment-alerts", "/deploy nba-scrapers")
    checklist = checklist_for(ws, DEPLOYER)
    assert bot.slack.click(DEPLOYER, checklist, ActionId.DEPLOY_START).status == 200
    return rollout_message(ws, "rolled back")


def _modal(ws: Workspace, user: str, words: str, but: str | None = None) -> OpenView:
    """The modal `user` has open (not `but`), once it shows `words`."""

    def shown(view: OpenView) -> str:
        return json.dumps(view.stack[-1] if view.stack else view.view)

    return wait_until(
        ws,
        lambda: next(
            (
                v
                for v in list(ws.views.values())
                if v.user == user and v.id != but and words in shown(v)
            ),
            None,
        ),
        timeout_s=30,
    )


class Gate:
    """Holds every call of one store method until opened: a store (or its first opening, with
    git and Cloud Run) that takes longer than Slack's 3 s."""

    def __init__(self) -> None:
        self.open = threading.Event()

    def wrap(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any, **kwargs: Any) -> Any:
            self.open.wait(timeout=30)
            return method(*args, **kwargs)

        return held


@contextmanager
def _held(method: str) -> Iterator[Gate]:
    """Postmortems.`method` held until the block ends (then it answers)."""
    gate = Gate()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Postmortems, method, gate.wrap(getattr(Postmortems, method)))
        yield gate
    gate.open.set()


def submit_in_order(bot: SandboxBot, user: str, view_id: str, values: dict[str, Any]) -> Delivery:
    """Submit a modal, its work held until Slack has its answer: Slack shows the ack's view
    ("Saving…") before any views.update the work makes after it, whatever the speed of the
    store; the emulator, which applies the answer once its HTTP call returns, could be
    overtaken by a views.update made in between."""
    with _held("get"):
        return bot.slack.submit_view(user, view_id, values)


def _edit_values(view: dict[str, Any], **changed: str) -> dict[str, Any]:
    """What Slack submits: every text input with its value (the prefilled one unless changed)."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        element = block.get("element", {})
        if element.get("type") == "plain_text_input":
            name = block["block_id"]
            text = changed.get(name, element.get("initial_value"))
            values[name] = {name: {"type": "plain_text_input", "value": text}}
    return values


def test_a_rollback_offers_a_postmortem_drafted_edited_and_exported(
    deploying: SandboxBot,
) -> None:
    ws = deploying.slack.workspace
    rollout = _auto_rollback(deploying)
    offer = _thread(ws, rollout, "write it up while it is fresh")
    assert [b["action_id"] for b in buttons(offer)] == [ActionId.POSTMORTEM_START]

    deploying.slack.click(ONCALL, offer, ActionId.POSTMORTEM_START)
    draft = _thread(ws, rollout, "Postmortem (draft)")
    text = block_text(draft)
    assert "Rollout #1 of nba-scrapers" in text and "rolled back" in text
    assert "SEV4" in text  # caught at 10%, within minutes: the profile's default
    # the timeline: the audit log's events with their figures, Cloud Run's traffic changes,
    # the canary's ERROR lines, and the commit shipped
    assert "analysis fail: canary" in text and "5xx" in text
    assert "nba-scrapers traffic: 90% nba-scrapers-00055-368 · 10% nba-scrapers-canary-1" in text
    assert "KeyError: &#39;bookmaker_id&#39;" in text or "KeyError: 'bookmaker_id'" in text
    assert "automatic rollback" in text and "100% of traffic back on the stable revision" in text
    store, postmortems = _store(deploying)
    stored = postmortems.by_subject("rollout:1")
    assert stored is not None
    times = [e["at"] for e in stored.document["timeline"]]
    assert times == sorted(times) and len(times) >= 6
    assert any(e["source"] == "git" for e in stored.document["timeline"])
    assert [e.action for e in store.audit_log() if e.action.startswith("postmortem.")] == [
        "postmortem.start"
    ]

    # a second click (or the other person's) opens the same postmortem: one message
    deploying.slack.click(APPROVER, offer, ActionId.POSTMORTEM_START)
    wait_until(ws, ephemeral_for(ws, APPROVER, "Already started"))
    assert len([m for m in ws.bot_messages() if m.text.startswith("Postmortem (")]) == 1

    # Edit: the sections, the severity and an action item with an owner and a due date

    deploying.slack.click(ONCALL, draft, ActionId.POSTMORTEM_EDIT)
    opened = _modal(ws, ONCALL, "item_due")  # "Loading…" at once, then the form
    assert [b.get("block_id") for b in opened.view["blocks"] if b["type"] == "input"] == [
        "severity",
        "impact",
        "summary",
        "root_cause",
        "resolution",
        "prevention",
        "item_text",
        "item_owner",
        "item_due",
    ]
    values = _edit_values(
        opened.view, summary="A canary of the scrapers failed on a missing bookmaker id."
    )
    values["severity"] = {
        "severity": {"type": "static_select", "selected_option": {"value": "SEV3"}}
    }
    values["item_text"] = {
        "item_text": {"type": "plain_text_input", "value": "Test a line without bookmaker"}
    }
    values["item_owner"] = {"item_owner": {"type": "users_select", "selected_user": DEPLOYER}}
    # an item without a date is refused in the modal, which stays open
    refused = deploying.slack.submit_view(ONCALL, opened.id, values)
    assert "item_due" in refused.body
    values["item_due"] = {"item_due": {"type": "datepicker", "selected_date": "2026-02-12"}}
    saving = submit_in_order(deploying, ONCALL, opened.id, values)
    assert saving.status == 200 and saving.json()["response_action"] == "update"  # "Saving…"

    edited = wait_until(ws, showing(ws, draft, "SEV3"))
    _modal(ws, ONCALL, "Saved")
    text = block_text(edited)
    assert "A canary of the scrapers failed on a missing bookmaker id." in text
    assert f"Test a line without bookmaker — <@{DEPLOYER}>, due 2026-02-12" in text
    store, postmortems = _store(deploying)
    actions = [e.action for e in store.audit_log() if e.action.startswith("postmortem.")]
    assert actions == ["postmortem.start", "postmortem.edit", "postmortem.action_item"]
    stored = postmortems.by_subject("rollout:1")
    assert stored is not None and stored.severity == "SEV3" and set(stored.sections) == {"summary"}

    # Done on the item; then the Markdown file lands in the postmortem's thread
    deploying.slack.click(DEPLOYER, edited, ActionId.ACTION_ITEM_DONE)
    wait_until(
        ws, lambda: ":white_check_mark: Test a line" in block_text(ws.find(draft.channel, draft.ts))
    )
    deploying.slack.click(ONCALL, draft, ActionId.POSTMORTEM_EXPORT)
    shared = wait_until(
        ws, lambda: next((m for m in ws.messages if m.files and m.thread_ts == draft.ts), None)
    )
    stored_file = deploying.slack.files.files[shared.files[0]["id"]]
    markdown = (stored_file.content or b"").decode()
    assert shared.files[0]["name"] == "postmortem-rollout-1.md"
    order = [markdown.index(f"\n## {h}\n") for h in HEADINGS]
    assert order == sorted(order)
    assert (
        "SEV3 (opsbot proposed SEV4" in markdown
        and "- [x] Test a line without bookmaker" in markdown
    )


def test_a_message_added_from_the_shortcut_joins_the_timeline_at_its_own_time(
    bot: SandboxBot,
) -> None:
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, "#orchestration-health", "/postmortem 2026-01-22")
    draft = _postmortem(ws)
    _, postmortems = _store(bot)
    stored = postmortems.by_subject("date:2026-01-22")
    assert stored is not None
    said = ws.post("#orchestration-health", "no play-by-play since last night", None, ONCALL)

    bot.slack.message_action(APPROVER, said, SHORTCUT)
    opened = _modal(ws, APPROVER, "static_select")  # "Loading…" at once, then the drafts
    option = {"selected_option": {"value": str(stored.id)}, "type": "static_select"}
    choice = {"postmortem": {"postmortem": option}}
    assert submit_in_order(bot, APPROVER, opened.id, choice).status == 200
    note = _thread(ws, draft, "added a message of")
    _modal(ws, APPROVER, "Added to the timeline")
    at = datetime.fromtimestamp(float(said.ts), UTC)
    assert f"{at:%Y-%m-%d %H:%M:%S} UTC" in note.text
    wait_until(ws, showing(ws, draft, "no play-by-play since last night"))
    added = postmortems.get(stored.id)
    assert added is not None and [(e.at, e.author) for e in added.events] == [(at, ONCALL)]

    # the same message twice: said in the modal (the form again), added once
    bot.slack.message_action(APPROVER, said, SHORTCUT)
    again = _modal(ws, APPROVER, "static_select", but=opened.id)
    assert submit_in_order(bot, APPROVER, again.id, choice).status == 200
    _modal(ws, APPROVER, "in that timeline already", but=opened.id)
    added = postmortems.get(stored.id)
    assert added is not None and len(added.events) == 1


def test_a_hand_rollback_from_normal_revisions_is_no_incident(deploying: SandboxBot) -> None:
    """Issue 31, item 5: the grading service's 90/10 split served 0.2% 5xx, as every normal
    revision: no Start postmortem is offered (the person is told why), and nothing is drafted."""
    ws = deploying.slack.workspace
    deploying.slack.command(
        DEPLOYER,
        "#deployment-alerts",
        "/rollback nba-grading-service nba-grading-service-00083-499",
    )
    confirm = wait_until(ws, ephemeral_for(ws, DEPLOYER, "Roll back nba-grading-service"))
    deploying.slack.click(DEPLOYER, confirm, ActionId.ROLLBACK_TO)

    def confirm_text() -> str:
        return ws.find(confirm.channel, confirm.ts).text

    said = wait_until(
        ws,
        lambda: next(
            (
                m
                for m in ws.bot_messages("#deployment-alerts")
                if "rolled nba-grading-service back" in m.text
            ),
            None,
        ),
    )
    wait_until(ws, lambda: "No postmortem offered: the revisions it replaced" in confirm_text())
    assert not [m for m in ws.messages if m.thread_ts == said.ts]  # offered before "Done"
    assert not [m for m in ws.bot_messages() if m.text.startswith("Postmortem (")]
    _, postmortems = _store(deploying)
    assert postmortems.drafts() == []


def test_postmortem_for_a_game_day_reconstructs_the_vegas_incident(bot: SandboxBot) -> None:
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, "#orchestration-health", "/postmortem 2026-01-28")
    draft = _postmortem(ws)
    started = wait_until(ws, ephemeral_for(ws, ONCALL, "Started: <"))
    # its message's link, labelled with its title: no raw address, no `date:2026-01-28`
    assert "|the postmortem “vegas_line_coverage CRITICAL from 2026-01-26" in started.text
    assert "date:" not in started.text and started.text.count(f"<{bot.slack.url}/archives/") == 1
    text = block_text(draft)
    assert "vegas_line_coverage CRITICAL from 2026-01-26 to 2026-02-01" in text
    assert "3f18b34b" in text and "is not deployed" in text
    assert "OK again from game day 2026-02-03" in text and "SEV1" in text

    # someone deletes the draft's message: asking again posts it anew, and the store follows
    ws.delete(draft.channel, draft.ts)
    bot.slack.command(ONCALL, "#orchestration-health", "/postmortem 2026-01-28")
    wait_until(ws, ephemeral_for(ws, ONCALL, "Already started"))
    again = _postmortem(ws)
    _, postmortems = _store(bot)
    stored = postmortems.by_subject("date:2026-01-28")
    assert again.ts != draft.ts and stored is not None and stored.slack_ts == again.ts
    ws.rejections.remove(("chat.update", "message_not_found"))  # the update that found it gone


def test_mark_final_clicked_twice_marks_it_final_once_and_says_so(bot: SandboxBot) -> None:
    """Issue 30: a double click flipped it twice (draft v2 -> v4). The button carries the
    version it was drawn for, as the rollout buttons do."""
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, "#orchestration-health", "/postmortem 2026-01-12")
    draft = _postmortem(ws)
    _, postmortems = _store(bot)
    before = postmortems.by_subject("date:2026-01-12")
    assert before is not None
    final = next(b for b in buttons(draft) if b["action_id"] == ActionId.POSTMORTEM_FINAL)
    # a double click: both requests leave from the same message, before the first answer
    # redraws it (built after that, the second would find no such button)
    second = bot.slack.click_payload(ONCALL, draft, ActionId.POSTMORTEM_FINAL, final["value"])
    bot.slack.click(ONCALL, draft, ActionId.POSTMORTEM_FINAL, final["value"])
    assert bot.slack.sender is not None
    bot.slack.sender.interaction(second)
    wait_until(ws, ephemeral_for(ws, ONCALL, "Already done: this postmortem changed"))
    after = postmortems.by_subject("date:2026-01-12")
    assert after is not None and after.status == "final"
    assert after.version == before.version + 1


def test_bad_or_empty_requests_get_usage_and_nothing_is_stored(bot: SandboxBot) -> None:
    for line in (
        "/postmortem",
        "/postmortem rollout x",
        "/postmortem 2026-13-45",
        "/postmortem yesterday",
    ):
        ack = bot.slack.command(ONCALL, "#orchestration-health", line)
        assert "Usage: `/postmortem rollout N" in ack.json()["text"]
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, "#orchestration-health", "/postmortem 2026-01-05")
    wait_until(ws, ephemeral_for(ws, ONCALL, "No incident found for game day 2026-01-05: every"))
    bot.slack.command(ONCALL, "#orchestration-health", "/postmortem rollout 999")
    wait_until(ws, ephemeral_for(ws, ONCALL, "No incident found for rollout #999: it is unknown"))
    _, postmortems = _store(bot)
    assert postmortems.by_subject("date:2026-01-05") is None
    assert postmortems.by_subject("rollout:999") is None


def test_impossible_incidents_are_usage_errors_in_the_ack(
    bot: SandboxBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing a rollout or a game day could be: said at once, nothing drafted or stored."""
    for line, said in (
        ("/postmortem rollout ²", "bad rollout '²'"),
        ("/postmortem rollout 99999999999999999999", "bad rollout '99999999999999999999'"),
        ("/postmortem rollout 0", "bad rollout '0'"),
        ("/postmortem 0001-01-01", "0001-01-01 is before 2000-01-01"),
        ("/postmortem 2026-02-06", "2026-02-06 is in the future (today is 2026-02-05)"),
    ):
        ack = bot.slack.command(ONCALL, "#orchestration-health", line).json()
        assert said in ack["text"] and "Usage: `/postmortem rollout N" in ack["text"], line
    _, postmortems = _store(bot)
    for subject in ("date:0001-01-01", "date:2026-02-06", "rollout:0"):
        assert postmortems.by_subject(subject) is None
    assert [m.text for m in bot.slack.workspace.messages if m.ephemeral_to is None] == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.fixture
def gate() -> Iterator[Gate]:
    found = Gate()
    yield found
    found.open.set()


def _draft_of(bot: SandboxBot, day: str) -> Message:
    """The postmortem of `day`, asked for with /postmortem: its message (posted again if the
    workspace lost it: the update that found it gone is no refusal of this test's)."""
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, "#orchestration-health", f"/postmortem {day}")
    said = ("Started: <", "Already started: <")  # a link to its message either way
    wait_until(
        ws,
        lambda: next(
            (m for m in ws.messages if m.ephemeral_to == ONCALL and m.text.startswith(said)), None
        ),
        timeout_s=60,
    )
    ws.rejections[:] = [r for r in ws.rejections if r != ("chat.update", "message_not_found")]
    return _postmortem(ws)


def test_edit_opens_its_modal_before_the_store_answers_and_saves_after_its_ack(
    bot: SandboxBot, gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = bot.slack.workspace
    draft = _draft_of(bot, "2026-01-16")
    monkeypatch.setattr(Postmortems, "get", gate.wrap(Postmortems.get))

    assert bot.slack.click(ONCALL, draft, ActionId.POSTMORTEM_EDIT).status == 200
    loading = _modal(ws, ONCALL, EDIT_MODAL)  # opened ("Loading…") within the trigger's 3 s
    gate.open.set()
    form = _modal(ws, ONCALL, "item_due")
    assert form.id == loading.id

    gate.open.clear()  # the store is slow again: the save is acknowledged all the same
    values = _edit_values(form.view, impact="Phase 3 ran short by two processors.")
    saving = bot.slack.submit_view(ONCALL, form.id, values)
    assert not saving.timed_out and saving.status == 200
    assert saving.json()["response_action"] == "update" and "Saving" in saving.body
    gate.open.set()
    wait_until(ws, showing(ws, draft, "Phase 3 ran short by two processors."))
    _modal(ws, ONCALL, "Saved")


def test_a_save_that_lost_to_anothers_shows_the_form_again_with_what_was_typed(
    bot: SandboxBot,
) -> None:
    ws = bot.slack.workspace
    draft = _draft_of(bot, "2025-12-11")
    _, postmortems = _store(bot)
    stored = postmortems.by_subject("date:2025-12-11")
    assert stored is not None
    bot.slack.click(ONCALL, draft, ActionId.POSTMORTEM_EDIT)
    mine = _modal(ws, ONCALL, "item_due")
    bot.slack.click(APPROVER, draft, ActionId.POSTMORTEM_EDIT)
    theirs = _modal(ws, APPROVER, "item_due")

    submit_in_order(bot, APPROVER, theirs.id, _edit_values(theirs.view, summary="Theirs."))
    wait_until(ws, showing(ws, draft, "Theirs."))
    typed = _edit_values(mine.view, summary="Mine, typed at length.", prevention="A check.")
    assert submit_in_order(bot, ONCALL, mine.id, typed).status == 200

    again = _modal(ws, ONCALL, "Someone else saved this postmortem")
    shown = json.dumps(again.view)
    assert "Mine, typed at length." in shown and "A check." in shown  # nothing lost
    saved = postmortems.get(stored.id)
    assert saved is not None and saved.sections == {"summary": "Theirs."}
    assert json.loads(again.view["private_metadata"])["version"] == saved.version

    # Save again: this person's text over theirs, knowingly
    assert submit_in_order(bot, ONCALL, again.id, _edit_values(again.view)).status == 200
    wait_until(ws, showing(ws, draft, "Mine, typed at length."))
    final = postmortems.get(stored.id)
    assert final is not None and final.sections["summary"] == "Mine, typed at length."
    assert final.sections["prevention"] == "A check."
    _modal(ws, ONCALL, "Saved")


def test_the_timeline_shortcut_opens_before_the_store_answers_and_adds_after_its_ack(
    bot: SandboxBot, gate: Gate, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = bot.slack.workspace
    draft = _draft_of(bot, "2026-01-13")
    _, postmortems = _store(bot)
    stored = postmortems.by_subject("date:2026-01-13")
    assert stored is not None
    said = ws.post("#orchestration-health", "catboost_v8 grading is stuck at 60%", None, ONCALL)
    monkeypatch.setattr(Postmortems, "drafts", gate.wrap(Postmortems.drafts))
    monkeypatch.setattr(Postmortems, "add_event", gate.wrap(Postmortems.add_event))

    assert bot.slack.message_action(APPROVER, said, SHORTCUT).status == 200
    loading = _modal(ws, APPROVER, TIMELINE_MODAL)  # opened ("Loading…") within 3 s
    gate.open.set()
    form = _modal(ws, APPROVER, "static_select")
    assert form.id == loading.id

    gate.open.clear()
    option = {"selected_option": {"value": str(stored.id)}, "type": "static_select"}
    adding = bot.slack.submit_view(APPROVER, form.id, {"postmortem": {"postmortem": option}})
    assert not adding.timed_out and adding.status == 200
    assert adding.json()["response_action"] == "update" and "Adding" in adding.body
    gate.open.set()
    wait_until(ws, showing(ws, draft, "catboost_v8 grading is stuck at 60%"))
    _modal(ws, APPROVER, "Added to the timeline")


def test_hostile_text_typed_in_the_edit_modal_reads_as_typed_in_the_markdown_file(
    bot: SandboxBot,
) -> None:
    """Issue 29 (5, 6): HTML, links, a remote image and forged headings typed in the Edit modal
    are text in the exported file; an owner that is not a person's id is refused under its
    field; a person's id is a mention in the postmortem's message."""
    ws = bot.slack.workspace
    draft = _draft_of(bot, "2026-01-08")
    bot.slack.click(ONCALL, draft, ActionId.POSTMORTEM_EDIT)
    form = _modal(ws, ONCALL, "item_due")
    typed = {
        "impact": f"{HOSTILE['script']}\n{HOSTILE['img onerror']}",
        "summary": f"{HOSTILE['javascript link']} {HOSTILE['remote image']}",
        "root_cause": HOSTILE["forged heading"],
        "resolution": HOSTILE["iframe"],
        "prevention": HOSTILE["forged setext heading"],
    }
    values = _edit_values(form.view, **typed)
    values["item_text"] = {
        "item_text": {"type": "plain_text_input", "value": HOSTILE["remote image"]}
    }
    values["item_due"] = {"item_due": {"type": "datepicker", "selected_date": "2026-02-12"}}
    values["item_owner"] = {
        "item_owner": {"type": "users_select", "selected_user": "U0SAMDEPLY> <!channel"}
    }
    refused = bot.slack.submit_view(ONCALL, form.id, values)
    assert refused.json() == {
        "response_action": "errors",
        "errors": {"item_owner": "pick a person"},
    }
    values["item_owner"] = {"item_owner": {"type": "users_select", "selected_user": DEPLOYER}}
    assert submit_in_order(bot, ONCALL, form.id, values).status == 200
    _modal(ws, ONCALL, "Saved")
    edited = wait_until(ws, showing(ws, draft, "The intern did it."))
    assert f"— <@{DEPLOYER}>, due 2026-02-12" in block_text(edited)
    assert "<!channel" not in json.dumps([m.blocks for m in ws.messages])

    bot.slack.click(ONCALL, edited, ActionId.POSTMORTEM_EXPORT)
    shared = wait_until(
        ws, lambda: next((m for m in ws.messages if m.files and m.thread_ts == draft.ts), None)
    )
    source = (bot.slack.files.files[shared.files[0]["id"]].content or b"").decode()
    html = renderer().render(source)
    for forbidden in ("<script", "<img", "<iframe", 'href="javascript:'):
        assert forbidden not in html, (forbidden, source)
    assert not [attrs for _, attrs in tags_of(html) if attrs]  # no link, no image source
    assert [h.split("</h2>")[0] for h in html.split("<h2>")[1:]] == list(HEADINGS)
    sections = sections_of(renderer().parse(source))
    for name, heading in SECTION_TITLES.items():
        assert paragraphs_only(sections[heading]) == as_typed(typed[name]), heading
    items = [shown(t) for t in sections["Action Items"] if t.type == "inline"]
    assert items == [f"[ ] {HOSTILE['remote image']} — owner @sam, due 2026-02-12"]  # named
