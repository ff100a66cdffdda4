"""How a grading backfill looks in Slack: its plan with Start, then one progress message."""

from __future__ import annotations

from datetime import datetime

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
from infra.wording import plural
from store.backfill_views import ENDED, BackfillState, BackfillView, DateState, Place

STATE_EMOJI = {
    DateState.QUEUED: ":white_circle:",
    DateState.PUBLISHING: ":outbox_tray:",
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
        lines.append(f"• `{day.day}` {what} · {plural(day.games, 'game')} · graded {graded}")
    count = len(plan.to_regrade)
    blocks: list[Block] = [
        header(f"Regrade {plan.start}..{plan.end}: {count} of {plural(len(plan.dates), 'date')}"),
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
                    button(
                        f"Start ({plural(count, 'date')})", ActionId.REGRADE_START, value, "primary"
                    ),
                    button("Cancel", ActionId.REGRADE_DISMISS, "dismiss"),
                ]
            )
        )
    return f"Regrade {plan.start}..{plan.end}: review the plan", within_limits(blocks, "dates")


def progress_view(
    backfill: BackfillView, now: datetime, posted_in: str | None = None
) -> tuple[str, list[Block]]:
    """The backfill's one message: a bar of ended over total, a row per date, its buttons;
    `posted_in` (the channel it is in) says why when that is not where it was asked from."""
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
    if _moved(backfill.place, posted_in):
        assert backfill.place is not None
        blocks.insert(
            2, context(f":information_source: here because <#{backfill.place.channel}> refused it")
        )
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


def _moved(place: Place | None, posted_in: str | None) -> bool:
    """Whether the message is in a DM although it was asked for in a channel."""
    return place is not None and posted_in is not None and posted_in != place.channel


def followed_in(shown_in: str | None, place: Place | None) -> str:
    """Where a backfill's progress is, as its starter reads it ("in <#C…>", "in your DMs…")."""
    if shown_in is None and place is None:
        return "listed in opsbot's Home tab (it was started without a channel for its message)"
    if shown_in is None:
        assert place is not None
        return (
            f"nowhere yet: Slack refused its message in <#{place.channel}> and in your direct "
            "messages. It runs to its end all the same, its final state is posted then, and "
            "opsbot's Home tab lists it meanwhile"
        )
    if _moved(place, shown_in):
        assert place is not None
        return f"in your direct messages with opsbot (<#{place.channel}> refused it)"
    return f"in <#{shown_in}>"


MODAL = "regrade.modal"  # the form's callback id (its views: regrade_modal.py)
