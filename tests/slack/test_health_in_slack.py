"""/health from Slack, end to end over HTTP: signed command in, report posted and filled in."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import nullcontext

import pytest

from adapters.warehouse import Warehouse
from bot.actions import ActionId
from commands.platform import Platform, PlatformUnavailable
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.slack_workspace import Message, Workspace
from tests.slack.helpers import (
    APPROVER,
    HEALTH_CHANNEL,
    ONCALL,
    block_text,
    buttons,
    ephemeral_for,
    finished,
    wait_until,
)


def test_health_is_acked_at_once_then_posted_running_and_updated_with_every_check(
    bot: SandboxBot,
) -> None:
    ws = bot.slack.workspace
    ack = bot.slack.command(ONCALL, HEALTH_CHANNEL, "/health")

    assert ack.status == 200 and ack.body == ""  # the ack carries nothing: the report is public
    report = wait_until(ws, finished(ws, "Health 2026-02-05: CRITICAL"))
    assert report.history[0] == "Health 2026-02-05: running 6 checks"
    assert report.edits >= 1 and len(ws.bot_messages()) == 1  # updated in place, not re-posted
    text = block_text(report)
    assert "score 66.7" in text
    for check in (
        "vegas_line_coverage",
        "grading_completeness",
        "phase3_completion",
        "recent_predictions",
        "bdb_coverage",
        "deployment_drift",
    ):
        assert f"*{check}*" in text
    assert (
        "threshold OK ≥ 80%" in text
        and "baseline" in text
        and "window 2026-01-29..2026-02-04" in text
    )
    assert "running…" not in text


def test_only_failing_checks_get_a_details_button_and_it_shows_the_per_model_breakdown(
    bot: SandboxBot,
) -> None:
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, HEALTH_CHANNEL, "/health")
    report = wait_until(ws, finished(ws, "Health 2026-02-05: CRITICAL"))
    details = [b for b in buttons(report) if b["action_id"] == ActionId.HEALTH_DETAILS]
    assert sorted(json.loads(b["value"])["check"] for b in details) == [
        "deployment_drift",
        "grading_completeness",
    ]

    grading = next(b for b in details if "grading" in b["value"])
    click = bot.slack.click(ONCALL, report, ActionId.HEALTH_DETAILS, grading["value"])
    assert click.status == 200

    shown = wait_until(ws, ephemeral_for(ws, ONCALL, "grading_completeness on 2026-02-05"))
    text = block_text(shown)
    assert "model *ensemble_v1* · status *CRITICAL*" in text and "graded % *22.3*" in text
    assert "graded_pct" not in text and "dates behind *2026-01-29" in text  # words, not fields
    assert "nba-grading-trigger" in text  # the command that fixes it
    assert not [m for m in ws.visible_to(APPROVER) if m.ephemeral_to]  # shown to the clicker only


def test_health_for_a_past_day_judges_that_day(bot: SandboxBot) -> None:
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, HEALTH_CHANNEL, "/health 2026-01-29")
    report = wait_until(ws, finished(ws, "Health 2026-01-29: "))
    assert "deployment_drift* not applicable" in block_text(report)


def test_a_rate_limited_update_is_retried_after_retry_after(bot: SandboxBot) -> None:
    ws = bot.slack.workspace
    ws.rate_limit("chat.update", times=2, retry_after_s=0)
    bot.slack.command(ONCALL, HEALTH_CHANNEL, "/health")
    report = wait_until(ws, finished(ws, "Health 2026-02-05: CRITICAL"))
    assert "score 66.7" in block_text(report)
    assert ws.calls.count("chat.update") >= 3  # two refused with 429, then through


def test_a_second_health_while_one_is_being_built_points_at_it_instead_of_posting_again(
    bot: SandboxBot,
) -> None:
    ws = bot.slack.workspace
    cloud_run = bot.platform.cloud_run
    assert cloud_run is not None
    cloud_run.latency_s = 1.0  # the drift check keeps the first report running for a while
    try:
        bot.slack.command(ONCALL, HEALTH_CHANNEL, "/health")
        again = bot.slack.command(APPROVER, HEALTH_CHANNEL, "/health")
    finally:
        cloud_run.latency_s = 0.0
    seen = [(m.ephemeral_to, m.text[:70], m.history[:2]) for m in ws.messages]
    assert "/health for 2026-02-05 is already running in this channel" in again.json().get(
        "text", ""
    ), seen
    wait_until(ws, finished(ws, "Health 2026-02-05: CRITICAL"))
    assert len([m for m in ws.bot_messages() if m.ephemeral_to is None]) == 1


def test_when_the_platform_cannot_be_reached_the_report_says_so_in_place(bot: SandboxBot) -> None:
    ws = bot.slack.workspace
    working = bot.runtime.platform

    def unreachable() -> Platform:
        platform = working()

        def no_warehouse() -> Warehouse:
            raise PlatformUnavailable(
                "no Google credentials: run `gcloud auth application-default login`"
            )

        return Platform(platform.profile, platform.now, no_warehouse, platform.drift_sources)

    object.__setattr__(bot.runtime, "platform", unreachable)
    try:
        bot.slack.command(ONCALL, HEALTH_CHANNEL, "/health")
        failed = wait_until(ws, finished(ws, "Health 2026-02-05: failed"))
    finally:
        object.__setattr__(bot.runtime, "platform", working)
    text = block_text(failed)
    assert "cannot reach the platform: no Google credentials: run `gcloud auth" in text
    assert "Traceback" not in text and "ref" not in text


def test_health_built_in_a_worker_process_reads_as_when_built_in_the_bots_own(
    bot: SandboxBot,
) -> None:
    """`[health] worker_process` (on for `opsbot serve` and `opsbot sandbox`): the same report,
    filled in check by check, with the same figures and Details buttons."""
    ws = bot.slack.workspace
    bot.slack.command(ONCALL, HEALTH_CHANNEL, "/health 2026-01-28")
    in_process = wait_until(ws, finished(ws, "Health 2026-01-28: "))
    with sandbox_bot(bot.runtime.profile, bot.platform, report_worker=True) as other:
        assert other.runtime.health_worker is not None
        thread = other.server.start_in_thread()
        try:
            theirs = other.slack.workspace
            other.slack.command(ONCALL, HEALTH_CHANNEL, "/health 2026-01-28")
            worker_built = wait_until(theirs, finished(theirs, "Health 2026-01-28: "), timeout_s=60)
            assert worker_built.history[0] == "Health 2026-01-28: running 6 checks"
            assert without_timings(block_text(worker_built)) == without_timings(
                block_text(in_process)
            )
            assert buttons(worker_built) == buttons(in_process)
        finally:
            other.server.stop(thread)


def without_timings(text: str) -> str:
    return re.sub(r"\d+\.\ds\b", "…s", text)


@pytest.mark.parametrize("in_worker", [False, True], ids=["in-process", "report-worker"])
def test_a_report_whose_message_is_deleted_midway_tells_who_asked_without_a_traceback(
    bot: SandboxBot, in_worker: bool
) -> None:
    """Someone deletes the report's message while it runs: its final update finds no message,
    and the person who asked is told so ephemerally (was: a reference to a logged traceback)."""
    assert bot.platform.bigquery is not None
    bot.platform.bigquery.query_s = 0.3  # the report runs long enough to be deleted midway
    try:
        with (
            sandbox_bot(bot.runtime.profile, bot.platform, report_worker=True)
            if in_worker
            else nullcontext(bot)
        ) as asked:
            thread = asked.server.start_in_thread() if in_worker else None
            try:
                ws = asked.slack.workspace
                asked.slack.command(ONCALL, HEALTH_CHANNEL, "/health 2026-01-27")
                running = wait_until(ws, running_report(ws, "Health 2026-01-27: "))
                ws.delete(running.channel, running.ts)
                told = wait_until(ws, ephemeral_for(ws, ONCALL, "Health 2026-01-27: the message"))
                assert "was deleted before it finished: run the command again" in told.text
                assert "ref" not in told.text
                assert ("chat.update", "message_not_found") in ws.rejections
                ws.rejections[:] = [r for r in ws.rejections if r[1] != "message_not_found"]
            finally:
                if thread is not None:
                    asked.server.stop(thread)
    finally:
        bot.platform.bigquery.query_s = 0.0


def running_report(ws: Workspace, prefix: str) -> Callable[[], Message | None]:
    def find() -> Message | None:
        return next((m for m in ws.bot_messages(HEALTH_CHANNEL) if m.text.startswith(prefix)), None)

    return find
