"""Modals in the console as Slack's client draws and checks them: a checkbox group and radio
buttons are boxes to tick, the close and submit buttons say what the view says (or are absent),
and a required input left empty is refused under it before anything reaches the app."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from slack_sdk import WebClient

from opsbot.profile import load_profile
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.platform import Sandbox
from sandbox.slack_emulator import SlackEmulator
from tests.browser.test_console import CHROMIUM, CHROMIUM_FLAGS
from tests.slack.helpers import assert_slack_would_accept, wait_until

ROOT = Path(__file__).resolve().parents[2]
DANA = "U0DANAONCL"  # whom the console acts as by default
REQUIRED = "Please complete this required field"  # Slack's client, slackapi/bolt-js#1317


@contextmanager
def _console(url: str) -> Iterator[Page]:
    """The console at `url` in headless Chromium, with bounded waits."""
    assert CHROMIUM is not None, "Chromium is required here: apt-get install -y chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        expect.set_options(timeout=20_000)
        page.goto(url)
        yield page
        browser.close()


class _Recorder(BaseHTTPRequestHandler):
    """An app that keeps every interaction payload Slack delivers and answers it with {}
    (a submission's modal then closes)."""

    payloads: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        form = parse_qs(body)
        if "payload" in form:
            self.payloads.append(json.loads(form["payload"][0]))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def delivered(slack: SlackEmulator) -> Iterator[list[dict[str, Any]]]:
    """What Slack delivered to an app that records it (the emulator connected to it)."""
    payloads: list[dict[str, Any]] = []
    handler = type("Handler", (_Recorder,), {"payloads": payloads})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    slack.connect_app(f"http://127.0.0.1:{server.server_address[1]}/slack/events", "secret")
    yield payloads
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def console(slack: SlackEmulator) -> Iterator[Page]:
    with _console(slack.console_url) as page:
        yield page
    assert_slack_would_accept(slack.workspace)


def _open(slack: SlackEmulator, view: dict[str, Any]) -> str:
    """views.open, as an app would with a trigger from something dana did."""
    client = WebClient(token=slack.workspace.bot_token, base_url=slack.api_url)
    opened = client.views_open(trigger_id=slack.workspace.issue_trigger(DANA), view=view)
    return str(opened["view"]["id"])


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _option(text: str, value: str, description: str | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"text": _plain(text), "value": value}
    if description is not None:
        option["description"] = _plain(description)
    return option


def _input(block_id: str, label: str, element: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": element,
    } | more


GRADED = _option("Include fully graded dates", "yes")
MODELS = [
    _option("catboost_v9", "catboost_v9", "the production model"),
    _option("ensemble_v1", "ensemble_v1"),
    _option("ensemble_v1_1", "ensemble_v1_1", "the canary"),
]
SPEEDS = [_option("Gently", "gently"), _option("At once", "at_once", "every date together")]


def test_checkboxes_and_radio_buttons_are_boxes_per_option_submitted_as_slack_sends_them(
    slack: SlackEmulator, delivered: list[dict[str, Any]], console: Page
) -> None:
    """The checkboxes element: one box per option (its `text`, its `description` under it),
    ticked from `initial_options`; view_submission's state has the ticked option objects under
    `selected_options`. Radio buttons likewise, one option under `selected_option`."""
    view = {
        "type": "modal",
        "callback_id": "pick",
        "title": _plain("Regrade models"),
        "submit": _plain("Start"),
        "blocks": [
            _input(
                "models",
                "Models",
                {
                    "type": "checkboxes",
                    "action_id": "models",
                    "options": MODELS,
                    "initial_options": [MODELS[1]],
                },
            ),
            _input(
                "speed",
                "Speed",
                {"type": "radio_buttons", "action_id": "speed", "options": SPEEDS},
                optional=True,
            ),
            _input(
                "graded",
                "Fully graded dates",
                {"type": "checkboxes", "action_id": "graded", "options": [GRADED]},
                optional=True,
            ),
        ],
    }
    view_id = _open(slack, view)
    modal = console.locator("#modal")
    expect(modal.get_by_text("Regrade models")).to_be_visible()
    models = modal.get_by_role("group", name="Models")
    expect(models.get_by_role("checkbox")).to_have_count(3)
    expect(modal.get_by_role("textbox")).to_have_count(0)  # no text box for any of them
    expect(models.get_by_role("checkbox", name="catboost_v9")).not_to_be_checked()
    expect(models.get_by_role("checkbox", name="ensemble_v1", exact=True)).to_be_checked()
    expect(models.get_by_text("the production model")).to_be_visible()  # its description
    speed = modal.get_by_role("radiogroup", name="Speed")
    expect(speed.get_by_role("radio")).to_have_count(2)
    expect(speed.get_by_role("radio", checked=True)).to_have_count(0)

    models.get_by_role("checkbox", name="ensemble_v1_1").check()
    models.get_by_role("checkbox", name="ensemble_v1", exact=True).uncheck()
    models.get_by_role("checkbox", name="catboost_v9").check()
    speed.get_by_role("radio", name="At once").check()
    modal.get_by_role("button", name="Start").click()
    expect(modal).to_be_hidden()  # the app answered {}: the modal closed

    [submitted] = wait_until(slack.workspace, lambda: list(delivered))
    assert submitted["type"] == "view_submission" and submitted["view"]["id"] == view_id
    assert submitted["view"]["state"]["values"] == {
        "models": {"models": {"type": "checkboxes", "selected_options": [MODELS[0], MODELS[2]]}},
        "speed": {"speed": {"type": "radio_buttons", "selected_option": SPEEDS[1]}},
        "graded": {"graded": {"type": "checkboxes", "selected_options": []}},
    }


def test_a_ticked_box_stays_ticked_when_the_app_shows_errors(
    slack: SlackEmulator, console: Page
) -> None:
    """What the person ticked is kept when the modal is drawn again (an error under a field),
    as what they type is."""
    view = {
        "type": "modal",
        "title": _plain("Regrade dates"),
        "submit": _plain("Start"),
        "blocks": [
            _input(
                "graded",
                "Fully graded dates",
                {"type": "checkboxes", "action_id": "graded", "options": [GRADED]},
                optional=True,
            )
        ],
    }
    view_id = _open(slack, view)
    modal = console.locator("#modal")
    box = modal.get_by_role("checkbox", name="Include fully graded dates")
    box.check()
    slack.workspace.submission_answered(
        view_id, {"response_action": "errors", "errors": {"graded": "these are graded"}}
    )
    expect(modal.locator(".field-error")).to_have_text("these are graded")
    expect(box).to_be_checked()


def test_the_close_button_says_the_views_close_or_cancel_and_no_submit_means_no_button(
    slack: SlackEmulator, console: Page
) -> None:
    """The modal view object: `close` is the close button's text (Slack's default: Cancel);
    `submit` the submit button's, and a view without one (it only says something) has none."""
    said = {"type": "section", "text": {"type": "mrkdwn", "text": "Backfill #3 started"}}
    view_id = _open(slack, {"type": "modal", "title": _plain("Regrade dates"), "blocks": [said]})
    modal = console.locator("#modal")
    expect(modal.get_by_text("Backfill #3 started")).to_be_visible()
    expect(modal.get_by_role("button")).to_have_text(["Cancel"])  # and no Submit
    client = WebClient(token=slack.workspace.bot_token, base_url=slack.api_url)
    client.views_update(
        view_id=view_id,
        view={
            "type": "modal",
            "title": _plain("Regrade dates"),
            "close": _plain("Close"),
            "blocks": [said | {"text": {"type": "mrkdwn", "text": "Backfill #3 done"}}],
        },
    )
    expect(modal.get_by_text("Backfill #3 done")).to_be_visible()
    expect(modal.get_by_role("button")).to_have_text(["Close"])
    form = {
        "type": "modal",
        "title": _plain("Regrade dates"),
        "close": _plain("Not now"),
        "submit": _plain("Start"),
        "blocks": [_input("reason", "Reason", {"type": "plain_text_input", "action_id": "r"})],
    }
    client.views_update(view_id=view_id, view=form)
    expect(modal.get_by_role("button")).to_have_text(["Not now", "Start"])
    modal.get_by_role("button", name="Not now").click()
    expect(modal).to_be_hidden()
    assert slack.workspace.views == {}


def test_a_required_input_left_empty_is_refused_under_it_and_never_sent(
    slack: SlackEmulator, delivered: list[dict[str, Any]], console: Page
) -> None:
    """An input block is required unless `optional: true`: Slack's client refuses the
    submission under each one left empty, and sends nothing until they are filled."""
    view = {
        "type": "modal",
        "callback_id": "regrade",
        "title": _plain("Regrade dates"),
        "submit": _plain("Start"),
        "blocks": [
            _input("start", "First game date", {"type": "datepicker", "action_id": "start"}),
            _input(
                "models",
                "Models",
                {"type": "checkboxes", "action_id": "models", "options": MODELS},
            ),
            _input(
                "reason",
                "Reason",
                {"type": "plain_text_input", "action_id": "reason"},
                optional=True,
            ),
        ],
    }
    _open(slack, view)
    modal = console.locator("#modal")
    start = modal.get_by_role("button", name="Start")
    start.click()
    errors = modal.locator(".field-error")
    expect(errors).to_have_text([REQUIRED, REQUIRED])  # under the date and the boxes, not Reason
    refused = modal.locator(".input-block").filter(has=console.locator(".field-error"))
    expect(refused).to_have_text([_required_under("First game date"), _required_under("Models")])
    modal.locator("input[data-block-id=start]").fill("2026-01-30")
    start.click()
    expect(errors).to_have_count(1)
    expect(refused).to_have_text([_required_under("Models")])
    assert delivered == [] and slack.workspace.acks == []  # nothing reached the app
    modal.get_by_role("checkbox", name="ensemble_v1_1").check()
    start.click()
    expect(modal).to_be_hidden()
    [submitted] = wait_until(slack.workspace, lambda: list(delivered))
    assert submitted["view"]["state"]["values"] == {
        "start": {"start": {"type": "datepicker", "selected_date": "2026-01-30"}},
        "models": {"models": {"type": "checkboxes", "selected_options": [MODELS[2]]}},
        "reason": {"reason": {"type": "plain_text_input", "value": ""}},
    }


def _required_under(label: str) -> re.Pattern[str]:
    """An input block's text: its label, then (last) Slack's required-field error."""
    return re.compile(rf"^{re.escape(label)}.*{REQUIRED}$", re.S)


# -- the bot's own /regrade modal ---------------------------------------------------------------


@pytest.fixture
def regrading() -> Iterator[SandboxBot]:
    """A sandbox of its own (the backfill grades its warehouse), completions pulled often."""
    profile = load_profile(ROOT / "opsbot.toml")
    quick = profile.model_copy(
        update={"regrade": profile.regrade.model_copy(update={"poll_s": 0.1})}
    )
    with Sandbox() as platform, sandbox_bot(quick, platform) as bot:
        thread = bot.server.start_in_thread()
        yield bot
        bot.server.stop(thread)
        assert_slack_would_accept(bot.slack.workspace)


@contextmanager
def _recording_submissions(bot: SandboxBot) -> Iterator[list[dict[str, Any]]]:
    """The state values of every submission the console sends (then delivered as ever)."""
    sent: list[dict[str, Any]] = []
    real: Callable[..., Any] = bot.slack.submit_view

    def submit_view(user_id: str, view_id: str, values: dict[str, Any]) -> Any:
        sent.append(values)
        return real(user_id, view_id, values)

    bot.slack.submit_view = submit_view  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        bot.slack.submit_view = real  # type: ignore[method-assign]


def test_the_regrade_modals_graded_box_is_a_checkbox_that_start_sends(
    regrading: SandboxBot,
) -> None:
    """/regrade: "Include fully graded dates" is a checkbox, Cancel closes, both dates are
    required before Start sends anything; Start on a fully graded date is refused until the
    box is ticked, then the backfill regrades it; the modal saying so has no Start."""
    ws = regrading.slack.workspace
    with _console(regrading.slack.console_url) as page, _recording_submissions(regrading) as sent:
        composer = page.get_by_placeholder("Message, or a command")
        composer.fill("/regrade")
        composer.press("Enter")
        modal = page.locator("#modal")
        expect(modal.get_by_text("Regrade dates")).to_be_visible()
        box = modal.get_by_role("checkbox", name="Include fully graded dates")
        expect(box).not_to_be_checked()
        expect(
            modal.get_by_role("group", name="Fully graded dates").get_by_role("textbox")
        ).to_have_count(0)
        expect(modal.get_by_role("button")).to_have_text(["Cancel", "Start"])

        modal.get_by_role("button", name="Start").click()  # no dates: refused by Slack's client
        expect(modal.locator(".field-error")).to_have_text([REQUIRED, REQUIRED])
        assert sent == [] and not [a for a in ws.acks if a.kind == "view_submission"]

        modal.locator("input[data-block-id=start]").fill("2026-02-04")  # fully graded
        modal.locator("input[data-block-id=end]").fill("2026-02-04")
        modal.get_by_role("button", name="Start").click()
        expect(modal.get_by_text("Nothing to regrade")).to_be_visible()
        expect(modal.get_by_text("tick Include fully graded dates")).to_be_visible()
        assert sent[0]["graded"] == {"graded": {"type": "checkboxes", "selected_options": []}}

        box = modal.get_by_role("checkbox", name="Include fully graded dates")
        box.check()
        modal.get_by_role("button", name="Start").click()
        expect(modal.get_by_text("Backfill #1 started")).to_be_visible()
        expect(modal.get_by_role("button")).to_have_text(["Close"])  # no Start any more
        assert sent[1]["graded"] == {"graded": {"type": "checkboxes", "selected_options": [GRADED]}}

        progress = page.locator(".msg").filter(has_text="Regrade backfill #1")
        expect(progress).to_contain_text("2026-02-04")  # the fully graded date, regraded
        expect(progress).to_contain_text("1/1 ended")
        modal.get_by_role("button", name="Close").click()
        expect(modal).to_be_hidden()
