"""A failing check's Details names its likely causes, each with the button that acts on it: the
buttons of their own surfaces (the drift digest's Deploy, /rollback's Roll back, the grading
check's Regrade, the postmortem offer's Start), answered by the same listeners and roles."""

from __future__ import annotations

import json

from bot.actions import ActionId
from opsbot.platform import sandbox_drift_sources
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.slack_workspace import Message
from store.states import RolloutState, Seen
from tests.slack.helpers import (
    DEPLOYER,
    HEALTH_CHANNEL,
    ONCALL,
    block_text,
    buttons,
    ephemeral_for,
    finished,
    wait_until,
)

PHASE3 = "nba-phase3-analytics-processors"


def _details(bot: SandboxBot, day: str | None, check: str, user: str = ONCALL) -> Message:
    """The report of `day` (today when None), then the Details of `check`, shown to `user`."""
    ws = bot.slack.workspace
    bot.slack.command(user, HEALTH_CHANNEL, f"/health {day or ''}".strip())
    shown = day or "2026-02-05"
    report = wait_until(ws, finished(ws, f"Health {shown}: "))
    value = next(
        b["value"]
        for b in buttons(report)
        if b["action_id"] == ActionId.HEALTH_DETAILS and json.loads(b["value"])["check"] == check
    )
    bot.slack.click(user, report, ActionId.HEALTH_DETAILS, value)
    return wait_until(ws, ephemeral_for(ws, user, f"{check} on {shown}"))


def _button(message: Message, action_id: str) -> dict[str, str]:
    return next(b for b in buttons(message) if b["action_id"] == action_id)


def test_ungraded_dates_are_the_likely_cause_and_regrade_opens_the_backfill_modal(
    bot: SandboxBot,
) -> None:
    details = _details(bot, None, "grading_completeness")
    text = block_text(details)
    assert "2 likely causes for 2026-02-05, most likely first" in text
    assert "*1. job* · ensemble_v1, ensemble_v1_1: 6 dates behind (2026-01-29..02-03)" in text
    regrade = _button(details, ActionId.REGRADE_OPEN)
    assert regrade["text"]["text"] == "Regrade 6 dates"  # type: ignore[index]
    value = json.loads(regrade["value"])
    assert (value["start"], value["end"]) == ("2026-01-29", "2026-02-03")

    bot.slack.click(ONCALL, details, ActionId.REGRADE_OPEN, regrade["value"])
    ws = bot.slack.workspace

    def planned() -> str | None:  # the backfill's modal, once its plan is read
        shown = [json.dumps(opened.view) for opened in list(ws.views.values())]
        return next((view for view in shown if "once the dates are read" not in view), None)

    prefilled = wait_until(ws, planned)  # its dates from the cause
    assert '"initial_date": "2026-01-29"' in prefilled
    assert '"initial_date": "2026-02-03"' in prefilled


def test_an_undeployed_fix_offers_deploy_to_deployers_only(bot: SandboxBot) -> None:
    details = _details(bot, "2026-01-28", "vegas_line_coverage")
    text = block_text(details)
    assert "*1. fix not deployed* · the fix 3f18b34b" in text
    assert "is on main since 2026-02-02 20:14 UTC but not deployed" in text
    deploy = _button(details, ActionId.DIGEST_DEPLOY)
    assert deploy["text"]["text"] == "Deploy nba-phase4-precompute-processors"  # type: ignore[index]

    ws = bot.slack.workspace
    bot.slack.click(ONCALL, details, ActionId.DIGEST_DEPLOY, deploy["value"])
    wait_until(ws, ephemeral_for(ws, ONCALL, "this needs the deployer role"))
    mine = _details(bot, "2026-01-28", "vegas_line_coverage", user=DEPLOYER)
    bot.slack.click(DEPLOYER, mine, ActionId.DIGEST_DEPLOY, deploy["value"])
    checklist = wait_until(ws, ephemeral_for(ws, DEPLOYER, "checklist"))
    assert "nba-phase4-precompute-processors" in checklist.text


def test_a_bad_deploy_already_rolled_back_is_named_with_start_postmortem(bot: SandboxBot) -> None:
    details = _details(bot, "2026-01-14", "phase3_completion")
    text = block_text(details)
    assert "*1. deploy* · nba-phase3-analytics-processors began serving" in text
    assert "on 2026-01-13 15:00 UTC, inside phase3_completion's window" in text
    assert "rolled back 2026-01-14 18:30 UTC" in text
    start = _button(details, ActionId.POSTMORTEM_START)
    assert json.loads(start["value"]) == {"subject": "date:2026-01-14"}


def test_a_traffic_split_left_behind_offers_roll_back_to_the_larger_share(
    bot: SandboxBot,
) -> None:
    details = _details(bot, None, "deployment_drift")
    roll_back = _button(details, ActionId.ROLLBACK_TO)
    assert json.loads(roll_back["value"]) == {
        "service": "nba-grading-service",
        "revision": "nba-grading-service-00083-499",
        "seen": ["nba-grading-service-00083-499"],  # serving then: a click once not is refused
    }
    assert roll_back["confirm"]["confirm"]["text"] == "Roll back"  # type: ignore[index]
    deploy = [b for b in buttons(details) if b["action_id"] == ActionId.DIGEST_DEPLOY]
    assert json.loads(deploy[0]["value"]) == {"service": "nba-phase4-precompute-processors"}


def test_the_report_worker_reads_the_store_so_a_deploy_cause_names_the_canary_that_shipped_it(
    bot: SandboxBot,
) -> None:
    """`opsbot sandbox` and `opsbot serve` build reports in the worker process: it reads opsbot's
    store too, so a cause says which rollout shipped the revision and how its canary ended."""
    with sandbox_bot(bot.runtime.profile, bot.platform, report_worker=True) as other:
        sources = sandbox_drift_sources(other.runtime.profile, other.platform)
        bad = next(r for r in sources.cloud_run.list_revisions(PHASE3) if "-00065-" in r.name)
        rollouts = other.store.rollouts(other.platform.clock)
        rollout = rollouts.begin(
            service=PHASE3,
            commit_sha=bad.commit_label or "",
            stable_revision=bad.name.replace("00065", "00064"),
            requested_by=DEPLOYER,
            data_baseline="OK",
        )
        for state in (RolloutState.CANARY, RolloutState.WATCH, RolloutState.COMPLETE):
            moved = rollouts.transition(
                Seen.of(rollout),
                to=state,
                actor="opsbot",
                action="deploy",
                canary_revision=bad.name,
            )
            assert moved is not None
            rollout = moved
        thread = other.server.start_in_thread()
        try:
            details = _details(other, "2026-01-14", "phase3_completion")
        finally:
            other.server.stop(thread)
    text = block_text(details)
    assert "*1. deploy* · nba-phase3-analytics-processors began serving" in text
    assert "its canary, rollout #1, complete (its data check was OK when it began)" in text
