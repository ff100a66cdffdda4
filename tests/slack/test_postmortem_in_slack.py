"""Postmortems in Slack: offered after a rollback, drafted, edited, exported, and fed from messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.actions import ActionId
from bot.views.postmortem import SHORTCUT
from commands.postmortem.model import HEADINGS
from opsbot.sandbox_serve import SandboxBot
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
    opened = wait_until(ws, lambda: next((v for v in ws.views.values() if v.user == ONCALL), None))
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
    assert deploying.slack.submit_view(ONCALL, opened.id, values).status == 200

    edited = wait_until(ws, showing(ws, draft, "SEV3"))
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
    opened = wait_until(
        ws, lambda: next((v for v in ws.views.values() if v.user == APPROVER), None)
    )
    option = {"selected_option": {"value": str(stored.id)}, "type": "static_select"}
    choice = {"postmortem": {"postmortem": option}}
    assert bot.slack.submit_view(APPROVER, opened.id, choice).status == 200
    note = _thread(ws, draft, "added a message of")
    at = datetime.fromtimestamp(float(said.ts), UTC)
    assert f"{at:%Y-%m-%d %H:%M:%S} UTC" in note.text
    wait_until(ws, showing(ws, draft, "no play-by-play since last night"))
    added = postmortems.get(stored.id)
    assert added is not None and [(e.at, e.author) for e in added.events] == [(at, ONCALL)]

    # the same message twice: said in the modal, added once
    bot.slack.message_action(APPROVER, said, SHORTCUT)
    again = wait_until(
        ws,
        lambda: next(
            (v for v in ws.views.values() if v.user == APPROVER and v.id != opened.id), None
        ),
    )
    answer = bot.slack.submit_view(APPROVER, again.id, choice)
    assert "in that timeline already" in answer.body


def test_a_hand_rollback_offers_a_postmortem_of_what_it_replaced(deploying: SandboxBot) -> None:
    ws = deploying.slack.workspace
    deploying.slack.command(
        DEPLOYER,
        "#deployment-alerts",
        "/rollback nba-grading-service nba-grading-service-00083-499",
    )
    confirm = wait_until(ws, ephemeral_for(ws, DEPLOYER, "Roll back nba-grading-service"))
    deploying.slack.click(DEPLOYER, confirm, ActionId.ROLLBACK_TO)
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
    offer = _thread(ws, said, "was rolled back")
    deploying.slack.click(ONCALL, offer, ActionId.POSTMORTEM_START)
    draft = _thread(ws, said, "Postmortem (draft)")
    text = block_text(draft)
    assert "nba-grading-service rolled back to nba-grading-service-00083-499" in text
    assert "10% nba-grading-service-00084-20b before the rollback" in text


def test_postmortem_for_a_game_day_reconstructs_the_vegas_incident(bot: SandboxBot) -> None:
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, "#orchestration-health", "/postmortem 2026-01-28")
    draft = _postmortem(ws)
    wait_until(ws, ephemeral_for(ws, ONCALL, "Started: the postmortem of date:2026-01-28 is at"))
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
    wait_until(ws, ephemeral_for(ws, ONCALL, "Nothing to write about for date:2026-01-05"))
    bot.slack.command(ONCALL, "#orchestration-health", "/postmortem rollout 999")
    wait_until(ws, ephemeral_for(ws, ONCALL, "Nothing to write about for rollout:999"))
    _, postmortems = _store(bot)
    assert postmortems.by_subject("date:2026-01-05") is None
    assert postmortems.by_subject("rollout:999") is None
