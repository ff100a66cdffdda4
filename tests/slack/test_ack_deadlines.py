"""Slack's 3 s, with the warehouse slowed to 5 s a query: every ack in time, every modal opened.

The Slack emulator times each delivery's answer against Slack's 3 s and refuses a trigger_id
older than 3 s (sandbox/slack_emulator.py says which documented behaviour it follows). Here
the bot runs on a sandbox whose fault plan makes each BigQuery job take 5 s, so any listener
that touches the warehouse before it acknowledges, or before it opens its modal, misses them.
The last two tests show the emulator catching a late ack and an expired trigger itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ActionId
from bot.listeners.regrade import SHORTCUT as REGRADE_SHORTCUT
from bot.server import Server, asgi_app, bind
from bot.views.postmortem import EDIT_MODAL, TIMELINE_MODAL
from bot.views.postmortem import SHORTCUT as TIMELINE_SHORTCUT
from bot.views.regrade import MODAL as REGRADE_MODAL
from opsbot.profile import load_profile
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.faults import load_fault_plan
from sandbox.platform import Sandbox
from sandbox.slack_delivery import Delivery
from sandbox.slack_emulator import SlackEmulator
from sandbox.slack_objects import OpenView
from sandbox.slack_workspace import CONNECTION_TROUBLE, Message, Workspace
from tests.slack.conftest import ROOT
from tests.slack.helpers import (
    HEALTH_CHANNEL,
    ONCALL,
    assert_slack_would_accept,
    buttons,
    ephemeral_for,
    finished,
    wait_until,
)

SLACK_S = 3.0  # Slack's deadline for an ack, and a trigger_id's life
WAREHOUSE_S = 5.0  # each BigQuery job, by the fault plan
WORK_S = 60.0  # the work after an ack, with the warehouse quick again


@pytest.fixture(scope="module")
def slow() -> Iterator[SandboxBot]:
    """The bot on a sandbox of its own whose warehouse takes 5 s a query (the fault plan)."""
    plan = load_fault_plan()  # the tests' plan: Cloud Run's writes at once
    slowed = plan.model_copy(
        update={"bigquery": plan.bigquery.model_copy(update={"query_s": WAREHOUSE_S})}
    )
    with (
        Sandbox(faults=slowed) as platform,
        sandbox_bot(load_profile(ROOT / "opsbot.toml"), platform) as bot,
    ):
        assert platform.bigquery is not None and platform.bigquery.query_s == WAREHOUSE_S
        assert bot.slack.ack_deadline_s == SLACK_S  # Slack's, not lowered
        thread = bot.server.start_in_thread()
        yield bot
        bot.server.stop(thread)


@pytest.fixture
def ws(slow: SandboxBot) -> Iterator[Workspace]:
    """The slowed bot's workspace; afterwards nothing late, nothing expired, nothing refused."""
    workspace = slow.slack.workspace
    seen = len(workspace.acks)
    yield workspace
    late = [a for a in workspace.acks[seen:] if a.late or a.seconds >= SLACK_S]
    assert late == [], f"acks past Slack's {SLACK_S:g} s: {late}"
    assert_slack_would_accept(workspace)


@contextmanager
def quick_warehouse(bot: SandboxBot) -> Iterator[None]:
    """The work after an ack, done with BigQuery at its usual speed (the acks were measured
    against the slow one; a draft of a week's checks at 5 s a query would take minutes)."""
    assert bot.platform.bigquery is not None
    bot.platform.bigquery.query_s = 0.0
    try:
        yield
    finally:
        bot.platform.bigquery.query_s = WAREHOUSE_S


def in_time(delivery: Delivery) -> Delivery:
    """The app acknowledged inside Slack's 3 s (the emulator would have refused it otherwise)."""
    assert not delivery.timed_out, f"no ack within {SLACK_S:g} s"
    assert delivery.status == 200, delivery
    assert delivery.seconds < SLACK_S, delivery.seconds
    return delivery


def opened(
    ws: Workspace, callback_id: str, user: str, before: set[str], *, to_submit: bool = False
) -> OpenView:
    """The modal `callback_id` opened for `user` after `before` (its views then), waited for;
    `to_submit`: waited for until it shows a form to submit. A modal that opens on "Loading…"
    and is then updated with its form has no Submit button until then: a test that submitted
    the "Loading…" view (a race lost on a loaded machine) was refused, as it carried no channel."""

    def found() -> OpenView | None:
        for view in list(ws.views.values()):
            shown = view.stack[-1] if view.stack else view.view
            if view.id not in before and view.user == user and shown["callback_id"] == callback_id:
                return view if "submit" in shown or not to_submit else None
        return None

    view = wait_until(ws, found, timeout_s=10)
    assert not [r for r in ws.rejections if r[0].startswith("views.")], ws.rejections
    return view


@pytest.fixture(scope="module")
def health_report(slow: SandboxBot) -> tuple[Delivery, Message]:
    """/health's ack, and its report once every (slow) check has answered."""
    ws = slow.slack.workspace
    delivery = slow.slack.command(ONCALL, HEALTH_CHANNEL, "/health")
    with quick_warehouse(slow):
        return delivery, wait_until(ws, finished(ws, "Health"), timeout_s=WORK_S)


@pytest.fixture(scope="module")
def draft(slow: SandboxBot) -> tuple[Delivery, Message]:
    """/postmortem 2026-01-28's ack, and the draft it posts once drafted from the slow platform."""
    ws = slow.slack.workspace
    delivery = slow.slack.command(ONCALL, HEALTH_CHANNEL, "/postmortem 2026-01-28")
    with quick_warehouse(slow):
        message = wait_until(
            ws,
            lambda: next(
                (
                    m
                    for m in ws.bot_messages()
                    if m.ephemeral_to is None and m.text.startswith("Postmortem")
                ),
                None,
            ),
            timeout_s=WORK_S,
        )
    return delivery, message


def _regrade_values(start: str, end: str) -> dict[str, Any]:
    return {
        "start": {"start": {"type": "datepicker", "selected_date": start}},
        "end": {"end": {"type": "datepicker", "selected_date": end}},
        "graded": {"graded": {"type": "checkboxes", "selected_options": []}},
        "reason": {"reason": {"type": "plain_text_input", "value": "ack deadlines"}},
    }


# -- /health and /regrade -------------------------------------------------------------------------
def test_health_is_acknowledged_at_once_while_its_checks_take_seconds(
    ws: Workspace, health_report: tuple[Delivery, Message]
) -> None:
    delivery, report = health_report
    in_time(delivery)
    assert delivery.seconds < WAREHOUSE_S / 5  # nothing of the warehouse before the ack
    assert "CRITICAL" in report.text  # then the report


def test_regrade_with_dates_acknowledges_with_planning_before_it_plans(
    slow: SandboxBot, ws: Workspace
) -> None:
    delivery = in_time(slow.slack.command(ONCALL, HEALTH_CHANNEL, "/regrade 2026-01-29 2026-01-30"))
    assert "Planning the regrade of 2026-01-29..2026-01-30" in delivery.body
    with quick_warehouse(slow):
        plan = wait_until(ws, ephemeral_for(ws, ONCALL, "review the plan"), timeout_s=WORK_S)
    assert ActionId.REGRADE_START in [b["action_id"] for b in buttons(plan)]  # then the plan


def test_regrade_alone_opens_its_modal(slow: SandboxBot, ws: Workspace) -> None:
    before = set(ws.views)
    in_time(slow.slack.command(ONCALL, HEALTH_CHANNEL, "/regrade"))
    opened(ws, REGRADE_MODAL, ONCALL, before)


def test_the_health_reports_regrade_button_opens_the_modal_and_its_submission_is_acked(
    slow: SandboxBot, ws: Workspace, health_report: tuple[Delivery, Message]
) -> None:
    _, report = health_report
    regrade = next(b for b in buttons(report) if b["action_id"] == ActionId.REGRADE_OPEN)
    before = set(ws.views)
    in_time(slow.slack.click(ONCALL, report, ActionId.REGRADE_OPEN, regrade["value"]))
    modal = opened(ws, REGRADE_MODAL, ONCALL, before, to_submit=True)

    submitted = in_time(
        slow.slack.submit_view(ONCALL, modal.id, _regrade_values("2026-01-29", "2026-01-30"))
    )
    assert submitted.json()["response_action"] == "update"  # "Starting…", then the backfill
    assert ws.view_errors == {}


def test_the_message_shortcut_opens_the_regrade_modal(slow: SandboxBot, ws: Workspace) -> None:
    alert = ws.post(HEALTH_CHANNEL, "ensembles ungraded on 2026-01-31", None, ONCALL)
    before = set(ws.views)
    in_time(slow.slack.message_action(ONCALL, alert, REGRADE_SHORTCUT))
    modal = opened(ws, REGRADE_MODAL, ONCALL, before)
    assert "2026-01-31" in str(modal.view)


# -- /postmortem ----------------------------------------------------------------------------------
def test_postmortem_for_a_day_acknowledges_before_it_drafts(
    ws: Workspace, draft: tuple[Delivery, Message]
) -> None:
    delivery, message = draft
    in_time(delivery)
    assert "Drafting the postmortem" in delivery.body
    assert message.text.startswith("Postmortem")


def test_the_postmortems_edit_button_opens_its_modal(
    slow: SandboxBot, ws: Workspace, draft: tuple[Delivery, Message]
) -> None:
    _, message = draft
    current = ws.find(message.channel, message.ts)
    before = set(ws.views)
    in_time(slow.slack.click(ONCALL, current, ActionId.POSTMORTEM_EDIT))
    opened(ws, EDIT_MODAL, ONCALL, before)


def test_add_to_postmortem_timeline_opens_its_modal_and_its_submission_is_acked(
    slow: SandboxBot, ws: Workspace, draft: tuple[Delivery, Message]
) -> None:
    assert slow.runtime.postmortem_tools is not None
    stored = slow.runtime.postmortem_tools().postmortems.by_subject("date:2026-01-28")
    assert stored is not None
    said = ws.post(HEALTH_CHANNEL, "vegas lines are thin again", None, ONCALL)
    before = set(ws.views)
    in_time(slow.slack.message_action(ONCALL, said, TIMELINE_SHORTCUT))
    modal = opened(ws, TIMELINE_MODAL, ONCALL, before, to_submit=True)

    option = {"type": "static_select", "selected_option": {"value": str(stored.id)}}
    in_time(slow.slack.submit_view(ONCALL, modal.id, {"postmortem": {"postmortem": option}}))
    assert ws.view_errors == {}  # no banner: the answer came in time
    with quick_warehouse(slow):  # the redrawn draft reads a week of checks: not at 5 s a query

        def last_word() -> str | None:
            shown = str(ws.views[modal.id].view)
            return None if "Adding the message" in shown else shown

        # the modal's last word, after the ack (shown below if it is not "Added")
        ended = wait_until(ws, last_word, timeout_s=WORK_S)
    assert "Added to the timeline" in ended, ended  # the message joined the timeline


# -- /digest and the App Home ---------------------------------------------------------------------
def test_digest_is_acknowledged_at_once(slow: SandboxBot, ws: Workspace) -> None:
    in_time(slow.slack.command(ONCALL, "#deployment-alerts", "/digest"))
    wait_until(ws, ephemeral_for(ws, ONCALL, "Scheduled"), timeout_s=WORK_S)


def test_opening_the_app_home_is_acknowledged_at_once(slow: SandboxBot, ws: Workspace) -> None:
    in_time(slow.slack.open_home(ONCALL))
    wait_until(ws, lambda: ws.homes.get(ONCALL), timeout_s=WORK_S)


# -- the emulator itself --------------------------------------------------------------------------
SECRET = "ack-deadline-secret"


@pytest.fixture
def tiny() -> Iterator[tuple[SlackEmulator, list[str]]]:
    """A small Bolt app behind an emulator of its own: `/slow` acks after 1 s (past a deadline
    lowered to 0.5 s), `/late-modal` acks at once but opens its modal after the trigger's 3 s
    (on the emulator's clock, moved), and the modal's submission is acked late."""
    slack = SlackEmulator(ack_deadline_s=0.5)
    slack.start()
    now = [1_000.0]
    slack.workspace.monotonic = lambda: now[0]
    errors: list[str] = []
    client = AsyncWebClient(token=slack.workspace.bot_token, base_url=slack.api_url)
    app = AsyncApp(signing_secret=SECRET, client=client)
    view = {
        "type": "modal",
        "callback_id": "slow_modal",
        "title": {"type": "plain_text", "text": "Slow"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Slow on purpose"}}],
    }

    @app.command("/slow")
    async def slow_command(ack: Any) -> None:
        await asyncio.sleep(1.0)  # the warehouse, before the ack
        await ack(text="done")

    @app.command("/modal")
    async def modal(ack: Any, command: dict[str, Any]) -> None:
        await ack()
        await client.views_open(trigger_id=command["trigger_id"], view=view)

    @app.command("/late-modal")
    async def late_modal(ack: Any, command: dict[str, Any]) -> None:
        await ack()
        now[0] += SLACK_S + 0.1  # work before views.open: the trigger's 3 s pass
        try:
            await client.views_open(trigger_id=command["trigger_id"], view=view)
        except SlackApiError as exc:
            errors.append(str(exc.response["error"]))

    @app.view("slow_modal")
    async def submitted(ack: Any) -> None:
        await asyncio.sleep(1.0)
        await ack()

    server = Server(asgi_app(app, lambda: {}, SECRET), bind("127.0.0.1", 0))
    thread = server.start_in_thread()
    slack.connect_app(f"{server.url}/slack/events", SECRET)
    yield slack, errors
    server.stop(thread)
    slack.stop()


def test_the_emulator_discards_a_late_ack_and_shows_what_slack_shows(
    tiny: tuple[SlackEmulator, list[str]],
) -> None:
    slack, _ = tiny
    ws = slack.workspace
    delivery = slack.command(ONCALL, HEALTH_CHANNEL, "/slow")
    assert delivery.timed_out and delivery.body == ""  # "done" came after the deadline
    [said] = ws.messages
    assert said.text == '/slow failed with the error "operation_timeout"'
    assert (said.user, said.ephemeral_to) == ("USLACKBOT", ONCALL)
    assert [(a.kind, a.name) for a in ws.late_acks] == [("slash_commands", "/slow")]

    in_time(slack.command(ONCALL, HEALTH_CHANNEL, "/modal"))
    modal = opened(ws, "slow_modal", ONCALL, set())
    assert slack.submit_view(ONCALL, modal.id, {}).timed_out
    assert modal.id in ws.views and ws.view_errors[modal.id] == CONNECTION_TROUBLE
    assert [(a.kind, a.name) for a in ws.late_acks][1:] == [("view_submission", "slow_modal")]
    assert ws.rejections == [
        ("slash_commands /slow", "operation_timeout"),
        ("view_submission slow_modal", "operation_timeout"),
    ]
    with pytest.raises(AssertionError, match="operation_timeout"):
        assert_slack_would_accept(ws)  # every Slack test fails on a late ack


def test_the_emulator_refuses_a_trigger_used_after_three_seconds(
    tiny: tuple[SlackEmulator, list[str]],
) -> None:
    slack, errors = tiny
    ws = slack.workspace
    in_time(slack.command(ONCALL, HEALTH_CHANNEL, "/late-modal"))
    deadline = time.monotonic() + 10
    while not errors and time.monotonic() < deadline:  # the listener goes on after its ack
        time.sleep(0.05)
    assert errors == ["expired_trigger_id"]
    assert ws.views == {}
    assert ws.rejections == [("views.open", "expired_trigger_id")]
