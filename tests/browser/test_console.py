"""The sandbox console in a real browser: type /health, watch the report arrive, click Details."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator

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
