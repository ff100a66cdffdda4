"""The sandbox console in a real browser: type /health, watch the report arrive, click Details."""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from slack_sdk import WebClient

from opsbot.sandbox_serve import SandboxBot
from tests.slack.helpers import IN_PROGRESS, assert_slack_would_accept, wait_until

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
    # the modal says it was added (views.update), then the person closes it: closed earlier, the
    # bot's update would find no view (Slack's `not_found`)
    expect(modal.get_by_text("Added to the timeline")).to_be_visible()
    modal.get_by_role("button", name=re.compile(r"^(Close|Cancel)$")).click()
    expect(modal).to_be_hidden()
    # the note is a reply in the draft's thread: not in the channel, one click away in the pane
    expect(page.locator("#messages .msg").filter(has_text="added a message of")).to_have_count(0)
    draft.get_by_role("button", name=re.compile(r"^1 reply")).click()
    thread = page.get_by_role("complementary", name="Thread")
    expect(thread.locator(".msg").filter(has_text="added a message of")).to_have_count(1)
    thread.get_by_role("button", name="Close thread").click()
    expect(thread).to_be_hidden()

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


def test_the_home_tab_shows_what_the_app_published_for_the_person_who_opened_it(
    page: Page, served_bot: SandboxBot
) -> None:
    ws = served_bot.slack.workspace
    composer = page.get_by_placeholder("Message, or a command")
    expect(composer).to_be_visible()
    assert ws.homes == {}  # nothing published before anyone opens the Home tab

    page.locator("#apps").get_by_text("opsbot", exact=True).click()
    expect(page.get_by_role("tab", name="Home")).to_have_attribute("aria-selected", "true")
    home = page.get_by_role("region", name="Home")
    expect(home.get_by_text("opsbot · the NBA props platform at a glance")).to_be_visible()
    expect(home.get_by_text("Commands", exact=False).first).to_be_visible()
    expect(composer).to_be_hidden()  # a Home tab has no composer
    opened = wait_until(ws, lambda: [(a.name, a.user, a.late) for a in ws.acks])
    assert opened == [("app_home_opened", "U0DANAONCL", False)]  # Slack's event, on opening
    assert list(ws.homes) == ["U0DANAONCL"]

    page.get_by_label("You are").select_option("U0LEEAPPRV")  # lee opens their own Home tab
    wait_until(ws, lambda: "U0LEEAPPRV" in ws.homes)
    expect(home.get_by_text("opsbot · the NBA props platform at a glance")).to_be_visible()
    assert [(a.name, a.user) for a in ws.acks][-1] == ("app_home_opened", "U0LEEAPPRV")

    page.get_by_text("# orchestration-health").click()  # back to a channel
    expect(home).to_be_hidden()
    expect(composer).to_be_visible()


def test_a_thread_is_a_reply_count_under_its_parent_that_opens_in_a_side_pane(
    page: Page, served_bot: SandboxBot
) -> None:
    ws = served_bot.slack.workspace
    client = WebClient(token=ws.bot_token, base_url=served_bot.slack.api_url)
    parent = client.chat_postMessage(channel="#canary-alerts", text="Rollout #2 nba-scrapers")
    for text in ("analysis at 10%: pass", "analysis at 10%: 12% 5xx, rolling back"):
        client.chat_postMessage(channel="#canary-alerts", thread_ts=parent["ts"], text=text)

    page.get_by_text("# canary-alerts").click()
    channel = page.locator("#messages")
    expect(channel.locator(".msg")).to_have_count(1)  # replies stay in their thread
    row = channel.locator(".msg").filter(has_text="Rollout #2 nba-scrapers")
    expect(row.get_by_text("in a thread")).to_have_count(0)
    row.get_by_role("button", name=re.compile(r"^2 replies Last reply")).click()

    thread = page.get_by_role("complementary", name="Thread")
    expect(thread.get_by_text("# canary-alerts")).to_be_visible()
    expect(thread.locator(".msg")).to_have_text(
        [
            re.compile("Rollout #2 nba-scrapers"),
            re.compile("analysis at 10%: pass"),
            re.compile("12% 5xx, rolling back"),
        ]
    )
    expect(thread.locator(".count")).to_have_text("2 replies")

    thread.get_by_placeholder("Reply…").fill("looking at the scraper logs")
    thread.get_by_placeholder("Reply…").press("Enter")
    expect(thread.locator(".msg").last).to_contain_text("looking at the scraper logs")
    expect(row.get_by_role("button", name=re.compile(r"^3 replies"))).to_be_visible()
    reply = ws.messages[-1]
    assert (reply.text, reply.user, reply.thread_ts) == (
        "looking at the scraper logs",
        "U0DANAONCL",
        parent["ts"],
    )
    expect(channel.locator(".msg")).to_have_count(1)
    thread.get_by_role("button", name="Close thread").click()
    expect(thread).to_be_hidden()


def test_a_permalink_in_a_message_opens_its_channel_at_the_message_and_a_reply_in_its_thread(
    page: Page, served_bot: SandboxBot
) -> None:
    """Slack's permalinks (chat.getPermalink) open in the console: a click on one in a message
    shows the linked message's channel scrolled to it and highlighted, a reply in its thread
    pane; the link opened as the page's address (a deep link) does the same."""
    ws = served_bot.slack.workspace
    client = WebClient(token=ws.bot_token, base_url=served_bot.slack.api_url)
    parent = client.chat_postMessage(channel="#canary-alerts", text="Rollout #4 nba-scrapers")
    reply = client.chat_postMessage(
        channel="#canary-alerts", thread_ts=parent["ts"], text="analysis at 10%: 12% 5xx"
    )
    for step in range(40):  # the channel opens at its newest: the rollout far above
        client.chat_postMessage(channel="#canary-alerts", text=f"canary check {step}: ok")
    to_parent = client.chat_getPermalink(channel=parent["channel"], message_ts=parent["ts"])
    to_reply = client.chat_getPermalink(channel=reply["channel"], message_ts=reply["ts"])
    client.chat_postMessage(
        channel="#orchestration-health",
        text=f"Already started: <{to_parent['permalink']}|Rollout #4> "
        f"(<{to_reply['permalink']}|the failed analysis>)",
    )

    title, channel = page.locator("#channel-title"), page.locator("#messages")
    thread = page.get_by_role("complementary", name="Thread")
    rollout = channel.locator(".msg").filter(has_text="Rollout #4 nba-scrapers")
    expect(title).to_have_text("# orchestration-health")
    channel.get_by_role("link", name="Rollout #4").click()
    expect(title).to_have_text("# canary-alerts")
    expect(rollout).to_have_class(re.compile(r"\bhighlighted\b"))
    expect(rollout).to_be_in_viewport()
    expect(channel.locator(".msg.highlighted")).to_have_count(1)
    expect(thread).to_be_hidden()
    expect(page).to_have_url(to_parent["permalink"])  # in this tab, its address the link's
    assert len(page.context.pages) == 1

    page.get_by_text("# orchestration-health").click()
    expect(channel.locator(".msg.highlighted")).to_have_count(0)
    channel.get_by_role("link", name="the failed analysis").click()
    _shows_the_reply_in_its_thread(page)

    page.goto(served_bot.slack.console_url)  # elsewhere, then the reply's link as the address
    expect(title).to_have_text("# orchestration-health")
    page.goto(to_reply["permalink"])
    _shows_the_reply_in_its_thread(page)


def _shows_the_reply_in_its_thread(page: Page) -> None:
    """#canary-alerts at the rollout, its thread open with the 12% 5xx reply highlighted."""
    expect(page.locator("#channel-title")).to_have_text("# canary-alerts")
    channel = page.locator("#messages")
    expect(channel.locator(".msg").filter(has_text="Rollout #4 nba-scrapers")).to_be_in_viewport()
    thread = page.get_by_role("complementary", name="Thread")
    expect(thread).to_be_visible()
    linked = thread.locator(".msg").filter(has_text="analysis at 10%: 12% 5xx")
    expect(linked).to_have_class(re.compile(r"\bhighlighted\b"))
    expect(linked).to_have_attribute("aria-current", "true")
    expect(thread.locator(".msg.highlighted")).to_have_count(1)
    expect(channel.locator(".msg.highlighted")).to_have_count(0)


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
    modal.locator("input[data-block-id=end]").fill("2026-02-05")  # today: not graded yet
    with _app_not_answering(served_bot):  # a submission the app never acks
        modal.get_by_role("button", name="Start").click()
        banner = modal.get_by_role("alert")
        expect(banner).to_have_text("⚠️ We had some trouble connecting. Try again?")
        expect(modal.locator("input[data-block-id=start]")).to_have_value("2026-01-30")  # kept

    # Try again, answered in time: the app's error under the date it refuses, no banner
    modal.get_by_role("button", name="Start").click()
    expect(modal.locator(".field-error")).to_contain_text("has not been played and graded yet")
    expect(modal.get_by_role("alert")).to_have_count(0)
    modal.get_by_role("button", name="Cancel").click()  # the view's close: Cancel
    expect(modal).to_be_hidden()

    ws = served_bot.slack.workspace
    assert [(a.kind, a.name) for a in ws.late_acks] == [
        ("slash_commands", "/health"),
        ("view_submission", "regrade.modal"),
    ]
    for late in list(ws.rejections):  # the two late acks this test made on purpose
        if late[1] == "operation_timeout":
            ws.rejections.remove(late)
