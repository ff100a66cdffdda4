"""How a grading backfill looks in Slack: its plan with Start, then one progress message."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock

from bot.actions import ActionId, BackfillAction, RegradeStart
from bot.views.kit import button, context, escape, header, lines_section, section, within_limits
from commands.regrade.plan import RegradePlan
from store.backfill_views import BackfillView

STATE_EMOJI = {
    "queued": ":white_circle:",
    "published": ":hourglass_flowing_sand:",
    "done": ":white_check_mark:",
    "failed": ":x:",
    "timed_out": ":warning:",
    "canceled": ":heavy_minus_sign:",
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
    ended = backfill.count("done", "failed", "timed_out", "canceled")
    filled = round(10 * ended / total) if total else 10
    bar = "▰" * filled + "▱" * (10 - filled)
    first, last = backfill.dates[0].game_date, backfill.dates[-1].game_date
    elapsed = max(0, round((now - backfill.created_at).total_seconds()))
    eta = ""
    if 0 < ended < total and backfill.state == "running":
        eta = f" · about {round(elapsed / ended * (total - ended))} s to go"
    rows = []
    for day in backfill.dates:
        row = f"{STATE_EMOJI.get(day.state, '')} `{day.game_date}` {day.state.replace('_', ' ')}"
        if day.state == "done":
            row += f" · {day.graded_count} graded, MAE {day.mae}"
        elif day.detail:
            row += f" · {escape(day.detail)}"
        rows.append(row)
    blocks: list[Block] = [
        header(f"Regrade backfill #{backfill.id} · {backfill.state}"),
        context(
            f"by <@{backfill.requested_by}> · {first}..{last}"
            + (f" · {escape(backfill.reason)}" if backfill.reason else "")
        ),
        section(f"`{bar}` {ended}/{total} ended · {elapsed} s{eta}"),
        lines_section(rows),
    ]
    value = BackfillAction(backfill=backfill.id).encode()
    if backfill.state == "running" and backfill.count("queued"):
        blocks += [
            DividerBlock(),
            ActionsBlock(elements=[button("Cancel", ActionId.BACKFILL_CANCEL, value, "danger")]),
        ]
    elif backfill.ended:
        if backfill.count("failed", "timed_out"):
            blocks += [
                DividerBlock(),
                ActionsBlock(elements=[button("Retry failed", ActionId.BACKFILL_RETRY, value)]),
            ]
        blocks.append(context("run `/health` to see the grading check now"))
    text = f"Regrade backfill #{backfill.id}: {ended}/{total} ended ({backfill.state})"
    return text, within_limits(blocks, "dates")
