"""/health names the likely cause, in a real browser on the console: the report of an incident
day, Details on its failing check, the cause with the button that acts on it."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.browser.test_console import page  # noqa: F401  (the fixture: a console in Chromium)


def _details(page: Page, day: str, check: str) -> Locator:  # noqa: F811
    composer = page.get_by_placeholder("Message, or a command")
    composer.fill(f"/health {day}")
    composer.press("Enter")
    report = page.locator(".msg").filter(has_text=f"Health {day}").last  # the newest
    expect(report.get_by_text("running…")).to_have_count(0)  # finished
    report.locator(".b-section").filter(has_text=check).get_by_role(
        "button", name="Details"
    ).click()
    return page.locator(".msg.is-ephemeral").filter(has_text=f"{check} · {day}").last


def test_details_of_an_incident_day_shows_the_bad_deploy_with_start_postmortem(
    page: Page,  # noqa: F811
) -> None:
    details = _details(page, "2026-01-14", "phase3_completion")
    expect(details.get_by_text("1 likely cause for 2026-01-14, most likely first")).to_be_visible()
    cause = details.locator(".b-section").filter(
        has_text="nba-phase3-analytics-processors began serving"
    )
    expect(cause).to_contain_text("on 2026-01-13 15:00 UTC, inside phase3_completion's window")
    expect(cause).to_contain_text("rolled back 2026-01-14 18:30 UTC")
    expect(cause.get_by_role("button", name="Start postmortem")).to_be_visible()


def test_the_undeployed_fix_offers_deploy_and_only_a_deployer_gets_the_checklist(
    page: Page,  # noqa: F811
) -> None:
    details = _details(page, "2026-01-28", "vegas_line_coverage")
    cause = details.locator(".b-section").filter(has_text="the fix 3f18b34b")
    expect(cause).to_contain_text("is on main since 2026-02-02 20:14 UTC but not deployed")
    deploy = cause.get_by_role("button", name="Deploy nba-phase4-precompute-processors")
    deploy.click()  # dana is on call, not a deployer
    refused = page.locator(".msg.is-ephemeral").filter(has_text="this needs the deployer role")
    expect(refused).to_be_visible()

    page.get_by_label("You are").select_option("U0SAMDEPLY")  # sam deploys
    details = _details(page, "2026-01-28", "vegas_line_coverage")
    details.get_by_role("button", name="Deploy nba-phase4-precompute-processors").click()
    checklist = page.locator(".msg.is-ephemeral").filter(has_text="checklist")
    expect(checklist.get_by_role("button", name="Start canary")).to_be_visible()
