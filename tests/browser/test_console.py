"""The sandbox console in a real browser: type /health, watch the report arrive, click Details."""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from opsbot.sandbox_serve import SandboxBot
from tests.slack.helpers import IN_PROGRESS, assert_slack_would_accept

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("OPSBOT_REQUIRE_BROWSER") == "1"  # .ci/run: a missing browser fails
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if CHROMIUM is None and not REQUIRED:
    pytest.skip(
        "Chromium is not installed (apt-get install -y chromium); .ci/run installs it and runs this",
        allow_module_level=True,
    )

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


@pytest.fixture
def page(served_bot: SandboxBot) -> Iterator[Page]:
    assert CHROMIUM is not None, "Chromium is required here: apt-get install -y chromium"
    served_bot.slack.workspace.clear()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(30_000)
        expect.set_options(timeout=20_000)  # a loaded CI machine (three workers, two cores)
        page.goto(served_bot.slack.console_url)
        yield page
        browser.close()
    assert_slack_would_accept(served_bot.slack.workspace)


def test_typing_health_shows_the_report_updating_in_place_and_details_on_click(page: Page) -> None:
    expect(page.get_by_text("# orchestration-health").first).to_be_visible()
    composer = page.get_by_placeholder("Message, or a command")
    composer.fill("/health")
    composer.press("Enter")

    report = page.locator(".msg").filter(has_text="Health 2026-02-05")
    expect(report).to_have_count(1)
    expect(report.get_by_text("CRITICAL · score 66.7")).to_be_visible()  # updated in place
    expect(report.get_by_text("(edited)")).to_be_visible()
    expect(report.get_by_text("running…")).to_have_count(0)

    report.locator(".b-section").filter(has_text="grading_completeness").get_by_role(
        "button", name="Details"
    ).click()
    details = page.locator(".msg.is-ephemeral").filter(has_text="grading_completeness · 2026-02-05")
    expect(details.get_by_text("Only visible to you")).to_be_visible()
    expect(details.get_by_text("ensemble_v1_1", exact=True)).to_be_visible()


def test_a_refusal_in_another_channel_is_shown_only_to_the_person(page: Page) -> None:
    page.get_by_text("# random").click()
    composer = page.get_by_placeholder("Message, or a command")
    composer.fill("/drift")
    composer.press("Enter")
    refusal = page.locator(".msg.is-ephemeral").filter(has_text="opsbot answers in")
    expect(refusal).to_be_visible()
    page.get_by_label("You are").select_option("U0LEEAPPRV")  # another person does not see it
    expect(page.locator(".msg.is-ephemeral")).to_have_count(0)


def test_the_console_shows_slacks_answers_and_draws_every_emoji_at_the_sandbox_time(
    page: Page,
) -> None:
    composer = page.get_by_placeholder("Message, or a command")
    composer.fill("/help")
    composer.press("Enter")
    refused = page.locator(".msg.is-ephemeral").filter(has_text="is not a valid command")
    expect(refused.get_by_text("Slackbot")).to_be_visible()  # Slack answered; the app never saw it
    composer.fill("/drift")
    composer.press("Enter")
    report = page.locator(".msg").filter(has_text="Drift")
    expect(report.first).to_be_visible()
    expect(page.locator(".msg").filter(has_text=re.compile(r":[a-z_]+:"))).to_have_count(0)
    # the sandbox clock (18:00 UTC on 2026-02-05), not the machine's
    expect(report.first.locator(".meta")).to_have_text(re.compile(r"^(10|18|06):0\d"))
    # finished before the next test clears the workspace (its update would find no message)
    expect(page.locator(".msg").filter(has_text=IN_PROGRESS)).to_have_count(0)


def test_a_postmortem_is_fed_from_the_message_menu_and_edited_in_its_modal(page: Page) -> None:
    composer = page.get_by_placeholder("Message, or a command")
    composer.fill("/postmortem 2026-01-21")
    composer.press("Enter")
    draft = page.locator(".msg").filter(has_text="Postmortem: grading_completeness WARN").first
    expect(draft.get_by_role("button", name="Edit")).to_be_visible()

    composer.fill("play-by-play is missing for last night")
    composer.press("Enter")
    said = page.locator(".msg").filter(has_text="play-by-play is missing for last night").last
    said.locator("select.shortcuts").select_option(label="Add to postmortem timeline")
    modal = page.locator("#modal")
    expect(modal.get_by_text("Add to timeline")).to_be_visible()
    modal.get_by_role("button", name="Add").click()
    expect(page.locator(".msg").filter(has_text="added a message of")).to_have_count(1)
    if modal.is_visible():  # the modal may stay to say so: the person closes it
        modal.get_by_role("button", name="Close").click()
    expect(modal).to_be_hidden()

    draft.get_by_role("button", name="Edit").click()
    expect(modal.get_by_text("Edit postmortem")).to_be_visible()
    modal.locator("select[data-block-id=severity]").select_option("SEV3")
    modal.locator("input[data-block-id=item_text]").fill("Alert when play-by-play is late")
    modal.locator("select[data-block-id=item_owner]").select_option("U0SAMDEPLY")
    modal.locator("input[data-block-id=item_due]").fill("2026-02-12")
    modal.get_by_role("button", name="Save").click()
    item = draft.locator(".b-section").filter(has_text="Alert when play-by-play is late")
    expect(item.get_by_role("button", name="Done")).to_be_visible()
    expect(draft.locator(".b-context").first).to_contain_text("SEV3")
    expect(draft.get_by_text("due 2026-02-12")).to_be_visible()


@contextmanager
def _app_not_answering(bot: SandboxBot, deadline_s: float = 0.5) -> Iterator[None]:
    """Deliveries go to a socket that takes them and never answers (a stuck app), and Slack's
    deadline is lowered to `deadline_s` so that the test does not wait its 3 s."""
    sender = bot.slack.sender
    assert sender is not None
    stuck = socket.socket()
    stuck.bind(("127.0.0.1", 0))
    stuck.listen(8)
    url, deadline = sender.request_url, bot.slack.ack_deadline_s
    sender.request_url = f"http://127.0.0.1:{stuck.getsockname()[1]}/slack/events"
    bot.slack.ack_deadline_s = deadline_s
    try:
        yield
    finally:
        sender.request_url, bot.slack.ack_deadline_s = url, deadline
        stuck.close()


def test_a_late_ack_shows_slacks_error_where_slack_shows_it(
    page: Page, served_bot: SandboxBot
) -> None:
    composer = page.get_by_placeholder("Message, or a command")
    with _app_not_answering(served_bot):  # a command the app never acks
        composer.fill("/health")
        composer.press("Enter")
        failed = page.locator(".msg.is-ephemeral").filter(
            has_text='/health failed with the error "operation_timeout"'
        )
        expect(failed.get_by_text("Slackbot")).to_be_visible()
        expect(failed.get_by_text("Only visible to you")).to_be_visible()

    composer.fill("/regrade")
    composer.press("Enter")
    modal = page.locator("#modal")
    expect(modal.get_by_text("Regrade dates")).to_be_visible()
    modal.locator("input[data-block-id=start]").fill("2026-01-30")
    with _app_not_answering(served_bot):  # a submission the app never acks
        modal.get_by_role("button", name="Start").click()
        banner = modal.get_by_role("alert")
        expect(banner).to_have_text("⚠️ We had some trouble connecting. Try again?")
        expect(modal.locator("input[data-block-id=start]")).to_have_value("2026-01-30")  # kept

    # Try again, answered in time: the app's error under the field left empty, no banner
    modal.get_by_role("button", name="Start").click()
    expect(modal.locator(".field-error")).to_have_text("pick a date")
    expect(modal.get_by_role("alert")).to_have_count(0)
    modal.get_by_role("button", name="Close").click()
    expect(modal).to_be_hidden()

    ws = served_bot.slack.workspace
    assert [(a.kind, a.name) for a in ws.late_acks] == [
        ("slash_commands", "/health"),
        ("view_submission", "regrade.modal"),
    ]
    for late in list(ws.rejections):  # the two late acks this test made on purpose
        if late[1] == "operation_timeout":
            ws.rejections.remove(late)
