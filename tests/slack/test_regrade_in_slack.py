"""/regrade through the Slack emulator: plan, Start, the progress message, cancel, double clicks."""

from __future__ import annotations

from pathlib import Path

from bot.actions import ActionId
from opsbot.profile import load_profile
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.platform import Sandbox
from sandbox.slack_workspace import Message
from store.backfill_views import DateState
from store.location import sqlite_url
from tests.slack.conftest import FAST, ROOT
from tests.slack.helpers import (
    HEALTH_CHANNEL,
    ONCALL,
    block_text,
    buttons,
    finished,
    wait_until,
)


def _plan(bot: SandboxBot, user: str, text: str) -> object:
    ws = bot.slack.workspace
    bot.slack.command(user, HEALTH_CHANNEL, f"/regrade {text}")
    return wait_until(
        ws, lambda: next((m for m in ws.visible_to(user) if "review the plan" in m.text), None)
    )


def test_a_planned_backfill_started_from_slack_grades_every_date_and_health_recovers(
    regrading: SandboxBot,
) -> None:
    ws = regrading.slack.workspace
    plan = _plan(regrading, ONCALL, "2026-01-28..2026-02-03")
    assert "7 of 7 dates" in block_text(plan) and "an estimate" in block_text(plan)  # type: ignore[arg-type]
    regrading.slack.click(ONCALL, plan, ActionId.REGRADE_START)  # type: ignore[arg-type]
    done = wait_until(
        ws,
        lambda: next(
            (m for m in ws.bot_messages(HEALTH_CHANNEL) if "7/7 ended (done)" in m.text), None
        ),
        timeout_s=60,
    )
    assert block_text(done).count(":white_check_mark:") == 7 and buttons(done) == []
    regrading.slack.command(ONCALL, HEALTH_CHANNEL, "/health")
    report = wait_until(ws, finished(ws, "Health"), timeout_s=60)
    assert "grading_completeness" in block_text(report)
    assert ":white_check_mark: *grading_completeness*" in block_text(report)


def test_a_double_click_makes_one_backfill_and_cancel_stops_the_unpublished(
    regrading: SandboxBot,
) -> None:
    ws = regrading.slack.workspace
    assert regrading.platform.grading is not None
    regrading.platform.grading.faults = regrading.platform.grading.faults.model_copy(
        update={"slow_dates": [f"2026-01-{d}" for d in range(28, 32)], "slow_s": 30.0}
    )
    plan = _plan(regrading, ONCALL, "2026-01-28 2026-02-03")
    second = regrading.slack.click_payload(ONCALL, plan, ActionId.REGRADE_START)  # type: ignore[arg-type]
    regrading.slack.click(ONCALL, plan, ActionId.REGRADE_START)  # type: ignore[arg-type]
    assert regrading.slack.sender is not None
    regrading.slack.sender.interaction(second)
    progress = wait_until(
        ws,
        lambda: next(
            (m for m in ws.bot_messages(HEALTH_CHANNEL) if "Regrade backfill" in m.text), None
        ),
    )
    regrading.slack.click(ONCALL, progress, ActionId.BACKFILL_CANCEL)

    def canceled_three() -> Message | None:
        now = ws.find(progress.channel, progress.ts)
        return now if block_text(now).count(":heavy_minus_sign:") == 3 else None

    canceled = wait_until(ws, canceled_three)
    assert block_text(canceled).count(":heavy_minus_sign:") == 3  # queued dates: never published
    assert len([m for m in ws.bot_messages(HEALTH_CHANNEL) if "Regrade backfill" in m.text]) == 1


def test_the_same_dates_regraded_again_later_make_a_new_backfill(regrading: SandboxBot) -> None:
    """Found by the backfill soak: Start's request key named only the person and the dates, so
    a later /regrade of the same range said "already started by this request" for good."""
    ws = regrading.slack.workspace

    def started_by(plan: Message) -> str:
        """What the plan says once its Start was clicked (Start replaces it)."""
        regrading.slack.click(ONCALL, plan, ActionId.REGRADE_START)

        def said() -> str | None:
            text = ws.find(plan.channel, plan.ts).text
            return text if text.startswith("Backfill #") else None

        return wait_until(ws, said)

    first = started_by(_plan(regrading, ONCALL, "2026-01-28 --include-graded"))  # type: ignore[arg-type]
    assert first.startswith("Backfill #1 started")
    wait_until(
        ws,
        lambda: next(
            (m for m in ws.bot_messages(HEALTH_CHANNEL) if "1/1 ended (done)" in m.text), None
        ),
        timeout_s=60,
    )
    again = started_by(_plan(regrading, ONCALL, "2026-01-28 --include-graded"))  # type: ignore[arg-type]
    assert again.startswith("Backfill #2 started"), again


def test_a_restarted_bot_resumes_the_backfill_and_finishes_its_message(tmp_path: Path) -> None:
    """Killed mid-backfill: the next bot on the same store publishes the rest and updates it."""
    profile = load_profile(ROOT / "opsbot.toml")
    quick = profile.model_copy(
        update={"regrade": profile.regrade.model_copy(update={"poll_s": 0.1})}
    )
    url = sqlite_url(tmp_path / "opsbot.db")
    with Sandbox() as platform:
        assert platform.grading is not None
        platform.grading.faults = platform.grading.faults.model_copy(
            update={"slow_dates": [f"2026-01-{d}" for d in range(28, 32)], "slow_s": 3600.0}
        )
        with sandbox_bot(quick, platform, deploy_timing=FAST, store_url=url) as first:
            thread = first.server.start_in_thread()
            ws = first.slack.workspace
            plan = _plan(first, ONCALL, "2026-01-28 2026-02-03")
            first.slack.click(ONCALL, plan, ActionId.REGRADE_START)  # type: ignore[arg-type]
            wait_until(
                ws,
                lambda: next(
                    (m for m in ws.bot_messages(HEALTH_CHANNEL) if "0/7 ended" in m.text), None
                ),
            )
            first.server.stop(thread)  # 4 dates out (and stuck), 3 never published
        platform.grading.faults = platform.grading.faults.model_copy(update={"slow_dates": []})
        with sandbox_bot(quick, platform, deploy_timing=FAST, store_url=url) as second:
            thread = second.server.start_in_thread()
            try:
                tools = second.runtime.regrade_tools() if second.runtime.regrade_tools else None
                assert tools is not None
                [running] = tools.backfills.running()
                assert (
                    running.count(DateState.QUEUED) == 3 and running.count(DateState.PUBLISHED) == 4
                )
                for day in running.dates:  # the stuck four: their grading answers after all
                    if day.state == "published":
                        platform.grading.on_trigger(
                            {"target_date": day.game_date, "correlation_id": day.correlation_id},
                            {},
                        )

                def finished_backfill() -> bool:
                    found = tools.backfills.get(running.id)
                    return found is not None and found.state == "done"

                assert platform.pubsub is not None
                for _ in range(300):  # bounded: the resumed task pulls every 0.1 s
                    if finished_backfill():
                        break
                    platform.pubsub.stopping.wait(0.1)
                assert finished_backfill()
            finally:
                second.server.stop(thread)
