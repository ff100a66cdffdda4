"""How a grading backfill looks in Slack: its plan with Start, then one progress message."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock

from bot.actions import ActionId, BackfillAction, RegradeStart
from bot.views.kit import (
    button,
    context,
    escape,
    header,
    lines_section,
    mention,
    section,
    within_limits,
)
from commands.regrade.plan import RegradePlan
from store.backfill_views import ENDED, BackfillState, BackfillView, DateState

STATE_EMOJI = {
    DateState.QUEUED: ":white_circle:",
    DateState.PUBLISHED: ":hourglass_flowing_sand:",
    DateState.DONE: ":white_check_mark:",
    DateState.FAILED: ":x:",
    DateState.TIMED_OUT: ":warning:",
    DateState.CANCELED: ":heavy_minus_sign:",
}


def plan_view(plan: RegradePlan) -> tuple[str, list[Block]]:
    """The ephemeral plan: each date's action (or why it is skipped), the estimate, Start."""
    lines = []
    for day in plan.dates:
        graded = ", ".join(f"{m.model} {m.graded_pct:g}%" for m in day.models) or "no predictions"
        what = "*regrade*" if day.regrade else f"skip: {escape(day.reason or '')}"
        lines.append(f"• `{day.day}` {what} · {day.games} games · graded {graded}")
    count = len(plan.to_regrade)
    blocks: list[Block] = [
        header(f"Regrade {plan.start}..{plan.end}: {count} of {len(plan.dates)} dates"),
        lines_section(lines),
        context(
            f"grading will read about {plan.estimate_bytes / 1e9:.3f} GB "
            "(an estimate: a BigQuery dry run of what grading reads)"
        ),
    ]
    if count:
        value = RegradeStart(
            start=plan.start, end=plan.end, include_graded=plan.include_graded
        ).encode()
        blocks.append(
            ActionsBlock(
                elements=[
                    button(f"Start ({count} dates)", ActionId.REGRADE_START, value, "primary"),
                    button("Cancel", ActionId.REGRADE_DISMISS, "dismiss"),
                ]
            )
        )
    return f"Regrade {plan.start}..{plan.end}: review the plan", within_limits(blocks, "dates")


def progress_view(backfill: BackfillView, now: datetime) -> tuple[str, list[Block]]:
    """The backfill's one message: a bar of ended over total, a row per date, its buttons."""
    total = len(backfill.dates)
    ended = backfill.count(*ENDED)
    filled = round(10 * ended / total) if total else 10
    bar = "▰" * filled + "▱" * (10 - filled)
    first, last = backfill.dates[0].game_date, backfill.dates[-1].game_date
    elapsed = max(0, round((now - backfill.created_at).total_seconds()))
    eta = ""
    if 0 < ended < total and backfill.state is BackfillState.RUNNING:
        eta = f" · about {round(elapsed / ended * (total - ended))} s to go"
    rows = []
    for day in backfill.dates:
        row = f"{STATE_EMOJI.get(day.state, '')} `{day.game_date}` {day.state.replace('_', ' ')}"
        if day.state is DateState.DONE:
            row += f" · {day.graded_count} graded, MAE {day.mae}"
        elif day.detail:
            row += f" · {escape(day.detail)}"
        rows.append(row)
    blocks: list[Block] = [
        header(f"Regrade backfill #{backfill.id} · {backfill.state}"),
        context(
            f"by {mention(backfill.requested_by)} · {first}..{last}"
            + (f" · {escape(backfill.reason)}" if backfill.reason else "")
        ),
        section(f"`{bar}` {ended}/{total} ended · {elapsed} s{eta}"),
        lines_section(rows),
    ]
    value = BackfillAction(backfill=backfill.id).encode()
    if backfill.state is BackfillState.RUNNING and backfill.count(DateState.QUEUED):
        blocks += [
            DividerBlock(),
            ActionsBlock(elements=[button("Cancel", ActionId.BACKFILL_CANCEL, value, "danger")]),
        ]
    elif backfill.ended:
        if backfill.count(DateState.FAILED, DateState.TIMED_OUT):
            blocks += [
                DividerBlock(),
                ActionsBlock(elements=[button("Retry failed", ActionId.BACKFILL_RETRY, value)]),
            ]
        blocks.append(context("run `/health` to see the grading check now"))
    text = f"Regrade backfill #{backfill.id}: {ended}/{total} ended ({backfill.state})"
    return text, within_limits(blocks, "dates")


MODAL = "regrade.modal"


def modal_view(
    start: date | None,
    end: date | None,
    *,
    include_graded: bool = False,
    reason: str = "",
    summary: str = "",
    metadata: str = "",
) -> dict[str, Any]:
    """The /regrade modal: dates, include graded, a reason; `summary` is the plan, once known."""

    def picker(block_id: str, label: str, initial: date | None) -> dict[str, Any]:
        element: dict[str, Any] = {"type": "datepicker", "action_id": block_id}
        if initial is not None:
            element["initial_date"] = initial.isoformat()
        return {
            "type": "input",
            "block_id": block_id,
            "label": {"type": "plain_text", "text": label},
            "element": element,
        }

    option = {"text": {"type": "plain_text", "text": "Include fully graded dates"}, "value": "yes"}
    graded: dict[str, Any] = {"type": "checkboxes", "action_id": "graded", "options": [option]}
    if include_graded:
        graded["initial_options"] = [option]
    reason_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "reason",
        "multiline": True,
    }
    if reason:
        reason_input["initial_value"] = reason[:3000]
    blocks: list[dict[str, Any]] = [
        picker("start", "First game date", start),
        picker("end", "Last game date", end),
        {
            "type": "input",
            "block_id": "graded",
            "optional": True,
            "label": {"type": "plain_text", "text": "Options"},
            "element": graded,
        },
        {
            "type": "input",
            "block_id": "reason",
            "optional": True,
            "label": {"type": "plain_text", "text": "Reason"},
            "element": reason_input,
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": summary or "The plan appears here once the dates are read.",
                }
            ],
        },
    ]
    return {
        "type": "modal",
        "callback_id": MODAL,
        "title": {"type": "plain_text", "text": "Regrade dates"},
        "submit": {"type": "plain_text", "text": "Start"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": metadata,
        "blocks": blocks,
    }


def plan_summary(plan: RegradePlan) -> str:
    skipped = [d for d in plan.dates if not d.regrade]
    said = f"*{len(plan.to_regrade)} of {len(plan.dates)} dates* to regrade"
    if skipped:
        said += "; skipped: " + ", ".join(
            f"{d.day} ({escape(d.reason or '')})" for d in skipped[:5]
        )
    return said + f" · about {plan.estimate_bytes / 1e9:.3f} GB read (an estimate)"


def _plain_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (no inputs), closed with Close."""
    return {
        "type": "modal",
        "callback_id": f"{MODAL}.said",
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    }


def working_view(start: date, end: date) -> dict[str, Any]:
    """What the modal shows while the plan is read and the backfill made (after Start)."""
    return _plain_modal(
        "Regrade dates", f":hourglass_flowing_sand: Planning and starting {start}..{end}…"
    )


def started_view(backfill_id: int, channel: str | None, created: bool) -> dict[str, Any]:
    """Where to follow a backfill that Start made (or had made already)."""
    where = f"<#{channel}>" if channel else "the channel it was asked from"
    said = "started" if created else "was already started by this request"
    return _plain_modal(
        "Regrade dates",
        f":white_check_mark: Backfill #{backfill_id} {said}: its progress is in {where}.",
    )
