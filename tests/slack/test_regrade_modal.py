"""The /regrade modal, opened from the health report's button and from a message shortcut."""

from __future__ import annotations

from bot.actions import ActionId
from opsbot.sandbox_serve import SandboxBot
from tests.slack.helpers import HEALTH_CHANNEL, ONCALL, block_text, buttons, finished, wait_until


def _values(start: str, end: str, reason: str = "") -> dict[str, object]:
    return {
        "start": {"start": {"type": "datepicker", "selected_date": start}},
        "end": {"end": {"type": "datepicker", "selected_date": end}},
        "graded": {"graded": {"type": "checkboxes", "selected_options": []}},
        "reason": {"reason": {"type": "plain_text_input", "value": reason}},
    }


def test_the_health_reports_regrade_button_opens_a_planned_modal_whose_start_grades(
    regrading: SandboxBot,
) -> None:
    ws = regrading.slack.workspace
    regrading.slack.command(ONCALL, HEALTH_CHANNEL, "/health")
    report = wait_until(ws, finished(ws, "Health"), timeout_s=60)
    regrade = next(b for b in buttons(report) if b["action_id"] == ActionId.REGRADE_OPEN)
    assert regrade["text"]["text"] == "Regrade 6 dates"  # the ensembles' days in the window
    regrading.slack.click(ONCALL, report, ActionId.REGRADE_OPEN, regrade["value"])
    opened = wait_until(
        ws,
        lambda: next(
            (
                v
                for v in ws.views.values()
                if "dates to regrade" in str(v.stack[-1] if v.stack else v.view)
            ),
            None,
        ),
    )
    shown = str(opened.view)
    assert "2026-01-29" in shown and "2026-02-03" in shown  # prefilled, then planned
    regrading.slack.submit_view(ONCALL, opened.id, _values("2026-01-29", "2026-02-03"))
    done = wait_until(
        ws,
        lambda: next(
            (m for m in ws.bot_messages(HEALTH_CHANNEL) if "6/6 ended (done)" in m.text), None
        ),
        timeout_s=60,
    )
    assert block_text(done).count(":white_check_mark:") == 6


def test_a_message_shortcut_reads_its_dates_and_posts_progress_in_its_thread(
    regrading: SandboxBot,
) -> None:
    ws = regrading.slack.workspace
    alert = ws.post(
        HEALTH_CHANNEL, "grading missed 2026-01-28 and 2026-01-30 for the ensembles", None, ONCALL
    )
    regrading.slack.message_action(ONCALL, alert, "regrade.from_message")
    opened = wait_until(ws, lambda: next(iter(ws.views.values()), None))
    view = str(opened.view)
    assert (
        "2026-01-28" in view and "2026-01-30" in view and "/archives/C0HEALTH01/p" in view
    )  # its permalink
    regrading.slack.submit_view(
        ONCALL, opened.id, _values("2026-01-28", "2026-01-30", "from the alert")
    )
    progress = wait_until(
        ws,
        lambda: next(
            (m for m in ws.bot_messages(HEALTH_CHANNEL) if "Regrade backfill" in m.text), None
        ),
    )
    assert progress.thread_ts == alert.ts  # in the alert's thread
    wait_until(
        ws, lambda: "3/3 ended (done)" in ws.find(progress.channel, progress.ts).text, timeout_s=60
    )
    assert len([m for m in ws.bot_messages(HEALTH_CHANNEL) if "Regrade backfill" in m.text]) == 1


def test_a_modal_without_dates_is_refused_field_by_field(regrading: SandboxBot) -> None:
    ws = regrading.slack.workspace
    regrading.slack.command(ONCALL, HEALTH_CHANNEL, "/regrade")
    opened = wait_until(ws, lambda: next(iter(ws.views.values()), None))
    answer = regrading.slack.submit_view(ONCALL, opened.id, _values("", "2026-01-30"))
    assert answer.json() == {"response_action": "errors", "errors": {"start": "pick a date"}}
