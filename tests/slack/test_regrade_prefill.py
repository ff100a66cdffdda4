"""What the /regrade modal prefills and says: a /health report's dates through the message
shortcut, a date not played yet refused under its field, and the old Regrade button after a
backfill (issue 31, items 17 and 18)."""

from __future__ import annotations

import re
from typing import Any

from bot.actions import ActionId
from opsbot.sandbox_serve import SandboxBot
from sandbox.slack_objects import OpenView
from sandbox.slack_workspace import Message, Workspace
from tests.slack.helpers import HEALTH_CHANNEL, ONCALL, buttons, finished, wait_until

GRADED_OPTION = {
    "text": {"type": "plain_text", "text": "Include fully graded dates"},
    "value": "yes",
}
WAITING = "The plan appears here once the dates are read."
NESTED = re.compile(r"\([^()]*\(")  # "(… (" : a bracket opened inside another


def _shown(opened: OpenView) -> dict[str, Any]:
    return opened.stack[-1] if opened.stack else opened.view


def _words(view: dict[str, Any]) -> str:
    """Every text a person reads in a modal, its buttons' too."""
    parts = [view.get(k, {}).get("text", "") for k in ("title", "submit", "close")]
    for block in view.get("blocks", []):
        for key in ("text", "label"):
            if isinstance(block.get(key), dict):
                parts.append(block[key]["text"])
        parts += [e.get("text", "") for e in block.get("elements", [])]
    return "\n".join(parts)


def _input(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def _planned(ws: Workspace, before: set[str]) -> dict[str, Any]:
    """The modal opened since `before`, once planned (its id under "id")."""

    def find() -> dict[str, Any] | None:
        for opened in list(ws.views.values()):
            view = _shown(opened)
            if opened.id not in before and WAITING not in _words(view):
                return view | {"id": opened.id}
        return None

    return wait_until(ws, find, timeout_s=60)


def _as_filled(view: dict[str, Any], graded: bool = False) -> dict[str, Any]:
    """What Start sends for the modal as it opened: its prefilled dates, the box as asked."""
    values: dict[str, Any] = {}
    for block_id in ("start", "end"):
        element = _input(view, block_id)["element"]
        picked = {"type": "datepicker", "selected_date": element.get("initial_date")}
        values[block_id] = {element["action_id"]: picked}
    ticked = [GRADED_OPTION] if graded else []
    values["graded"] = {"graded": {"type": "checkboxes", "selected_options": ticked}}
    values["reason"] = {"reason": {"type": "plain_text_input", "value": "issue 31"}}
    return values


def _done(ws: Workspace, ended: str, count: int = 1) -> list[Message]:
    """The backfills' progress messages once `count` of them say `ended`."""

    def find() -> list[Message] | None:
        said = [m for m in ws.bot_messages(HEALTH_CHANNEL) if ended in m.text]
        return said if len(said) >= count else None

    return wait_until(ws, find, timeout_s=60)


def test_the_shortcut_on_a_health_report_prefills_only_the_dates_a_backfill_takes(
    regrading: SandboxBot,
) -> None:
    """Item 17: the report names 2026-01-08 (a window's start), the six ungraded dates,
    2026-02-04 (graded) and today 2026-02-05; Start on what opened was refused."""
    ws = regrading.slack.workspace
    regrading.slack.command(ONCALL, HEALTH_CHANNEL, "/health")
    report = wait_until(ws, finished(ws, "Health"), timeout_s=60)
    regrading.slack.message_action(ONCALL, report, "regrade.from_message")
    view = _planned(ws, set())

    assert _input(view, "start")["element"]["initial_date"] == "2026-01-29"
    assert _input(view, "end")["element"]["initial_date"] == "2026-02-03"
    said = _words(view)
    assert "6 of 6 dates to regrade" in said
    assert re.search(r"2026-01-08, 2026-02-04: already fully graded", said)
    assert re.search(r"2026-02-05: today's games, not played and graded yet", said)
    assert not NESTED.search(said)

    answer = regrading.slack.submit_view(ONCALL, view["id"], _as_filled(view))
    assert answer.json()["response_action"] == "update"  # started, not refused
    [done] = _done(ws, "6/6 ended (done)")
    assert done.thread_ts == report.ts  # in the report's thread


def test_a_range_ending_today_is_refused_under_the_last_date(regrading: SandboxBot) -> None:
    """Item 17: the refusal of a date not played yet was shown under the first date."""
    ws = regrading.slack.workspace
    regrading.slack.command(ONCALL, HEALTH_CHANNEL, "/regrade")
    opened = wait_until(ws, lambda: next(iter(ws.views.values()), None))
    values = {
        "start": {"start": {"type": "datepicker", "selected_date": "2026-02-01"}},
        "end": {"end": {"type": "datepicker", "selected_date": "2026-02-05"}},
    }
    answer = regrading.slack.submit_view(ONCALL, opened.id, values).json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["end"]
    assert "2026-02-05 has not been played and graded yet" in answer["errors"]["end"]


def test_after_a_backfill_the_old_regrade_button_says_nothing_is_left_and_which_backfill(
    regrading: SandboxBot,
) -> None:
    """Item 18: it opened "0 of 6 dates to regrade", listed 5 of them with nested brackets,
    drew the checkbox's block as "Options" and offered Start."""
    ws = regrading.slack.workspace
    regrading.slack.command(ONCALL, HEALTH_CHANNEL, "/health")
    report = wait_until(ws, finished(ws, "Health"), timeout_s=60)
    regrade = next(b for b in buttons(report) if b["action_id"] == ActionId.REGRADE_OPEN)
    assert regrade["text"]["text"] == "Regrade 6 dates"
    regrading.slack.click(ONCALL, report, ActionId.REGRADE_OPEN, regrade["value"])
    first = _planned(ws, set())
    regrading.slack.submit_view(ONCALL, first["id"], _as_filled(first))
    [done] = _done(ws, "6/6 ended (done)")
    backfill = re.search(r"#(\d+)", done.text)
    assert backfill is not None

    before = set(ws.views)
    regrading.slack.click(ONCALL, report, ActionId.REGRADE_OPEN, regrade["value"])
    view = _planned(ws, before)
    said = _words(view)
    assert "0 of" not in said
    assert "Nothing to regrade* in 6 dates" in said
    assert f"2026-01-29..2026-02-03: already fully graded by backfill #{backfill[1]}" in said
    assert not NESTED.search(said)
    graded = _input(view, "graded")
    assert graded["type"] == "input" and graded["label"]["text"] != "Options"
    assert graded["element"]["type"] == "checkboxes"
    assert graded["element"]["options"] == [GRADED_OPTION]
    assert view["close"]["text"] == "Cancel"

    refused = regrading.slack.submit_view(ONCALL, view["id"], _as_filled(view)).json()
    assert refused["response_action"] == "errors" and list(refused["errors"]) == ["graded"]
    assert "fully graded" in refused["errors"]["graded"]
    started = regrading.slack.submit_view(ONCALL, view["id"], _as_filled(view, graded=True))
    assert started.json()["response_action"] == "update"
    _done(ws, "6/6 ended (done)", count=2)  # graded again, with the box ticked


def test_while_a_backfill_holds_the_dates_the_button_opens_a_modal_without_start(
    regrading: SandboxBot,
) -> None:
    """Item 18: nothing in the dates can be regraded (all in flight): no Start, and why."""
    ws = regrading.slack.workspace
    assert regrading.platform.grading is not None
    slow = [f"2026-01-{d}" for d in range(29, 32)] + [f"2026-02-0{d}" for d in range(1, 4)]
    regrading.platform.grading.faults = regrading.platform.grading.faults.model_copy(
        update={"slow_dates": slow, "slow_s": 30.0}
    )
    regrading.slack.command(ONCALL, HEALTH_CHANNEL, "/health")
    report = wait_until(ws, finished(ws, "Health"), timeout_s=60)
    regrade = next(b for b in buttons(report) if b["action_id"] == ActionId.REGRADE_OPEN)
    regrading.slack.click(ONCALL, report, ActionId.REGRADE_OPEN, regrade["value"])
    first = _planned(ws, set())
    regrading.slack.submit_view(ONCALL, first["id"], _as_filled(first))
    progress = wait_until(
        ws,
        lambda: next((m for m in ws.bot_messages(HEALTH_CHANNEL) if "backfill #" in m.text), None),
    )

    before = set(ws.views)
    regrading.slack.click(ONCALL, report, ActionId.REGRADE_OPEN, regrade["value"])
    view = _planned(ws, before)
    held = re.search(r"#(\d+)", progress.text)
    assert held is not None
    said = _words(view)
    assert f"2026-01-29..2026-02-03: already in flight in backfill #{held[1]}" in said
    assert "submit" not in view and not any(b["type"] == "input" for b in view["blocks"])
    regrading.slack.click(ONCALL, progress, ActionId.BACKFILL_CANCEL)
