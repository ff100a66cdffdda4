"""The /regrade modal: its form, the plan under it (every date it counts, and why each skipped
one is), the dates of a message left out, and what it says once a backfill is started."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from bot.views.kit import escape, lines_section
from bot.views.regrade import MODAL
from commands.regrade.plan import Choice, LeftOut, RegradePlan, Why
from infra.wording import plural

GRADED = "graded"  # the checkbox's block and action id
GRADED_OPTION = {
    "text": {"type": "plain_text", "text": "Include fully graded dates"},
    "value": "yes",
}
WAITING = "The plan appears here once the dates are read."


def modal_view(
    start: date | None,
    end: date | None,
    *,
    include_graded: bool = False,
    reason: str = "",
    said: Sequence[str] = (WAITING,),
    metadata: str = "",
) -> dict[str, Any]:
    """The form: dates, the Include fully graded dates checkbox, a reason; `said` under them."""
    graded: dict[str, Any] = {"type": "checkboxes", "action_id": GRADED, "options": [GRADED_OPTION]}
    if include_graded:
        graded["initial_options"] = [GRADED_OPTION]
    reason_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "reason",
        "multiline": True,
    }
    if reason:
        reason_input["initial_value"] = reason[:3000]
    blocks: list[dict[str, Any]] = [
        _picker("start", "First game date", start),
        _picker("end", "Last game date", end),
        _input(GRADED, "Fully graded dates", graded),
        _input("reason", "Reason", reason_input),
        lines_section(list(said)).to_dict(),
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


def _picker(block_id: str, label: str, initial: date | None) -> dict[str, Any]:
    """A date input whose action id names its prefill, so that a new prefill shows."""
    # Slack keeps what an input shows across views.update while its block and action ids stay
    # (bolt-js #290); the form reads a block's input whatever its action id.
    element: dict[str, Any] = {"type": "datepicker", "action_id": block_id}
    if initial is not None:
        element |= {"action_id": f"{block_id}.{initial}", "initial_date": initial.isoformat()}
    return _input(block_id, label, element, optional=False)


def _input(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = True
) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }


def graded_only(plan: RegradePlan) -> bool:
    """Whether nothing is regraded but some dates would be with Include fully graded dates."""
    return not plan.to_regrade and any(d.why is Why.GRADED for d in plan.dates)


def planned_view(
    plan: RegradePlan, choice: Choice, *, reason: str, metadata: str
) -> dict[str, Any]:
    """The form with the plan under it; only why (no Start) when nothing can be regraded."""
    said = plan_lines(plan) + left_out_lines(
        [o for o in choice.left_out if not plan.start <= o.day <= plan.end]
    )
    if not plan.to_regrade and not graded_only(plan):
        return said_view([*said, "Pick other dates with `/regrade`."])
    return modal_view(
        plan.start,
        plan.end,
        include_graded=plan.include_graded,
        reason=reason,
        said=said,
        metadata=metadata,
    )


def plan_lines(plan: RegradePlan) -> list[str]:
    """The plan in words: what is regraded, then each skipped run of dates and why."""
    chosen, count = plan.to_regrade, len(plan.dates)
    skipped: dict[str, list[date]] = {}
    for day in plan.dates:
        if not day.regrade:
            skipped.setdefault(day.skipped_because, []).append(day.day)
    listed = [f"• {runs(days)}: {escape(why)}" for why, days in skipped.items()]
    if chosen:
        head = f"*{len(chosen)} of {plural(count, 'date')} to regrade*: {runs(chosen)}"
        gigabytes = f"grading will read about {plan.estimate_bytes / 1e9:.3f} GB (an estimate)"
        return [head, *(["Skipped:", *listed] if listed else []), gigabytes]
    where = f"on {plan.start}" if count == 1 else f"in {plural(count, 'date')}"
    lines = [f"*Nothing to regrade* {where}:", *listed]
    if graded_only(plan):
        lines.append(
            "To regrade the fully graded ones anyway, tick *Include fully graded dates*, "
            "then Start."
        )
    return lines


def left_out_lines(left_out: Sequence[LeftOut]) -> list[str]:
    """The message's dates not prefilled, grouped by why."""
    if not left_out:
        return []
    grouped: dict[str, list[date]] = {}
    for out in left_out:
        grouped.setdefault(out.why, []).append(out.day)
    return ["Left out of the message's dates:"] + [
        f"• {runs(days)}: {escape(why)}" for why, days in grouped.items()
    ]


def runs(days: Sequence[date]) -> str:
    """Dates as runs of consecutive days: "2026-01-29..2026-02-03, 2026-02-05"."""
    spans: list[list[date]] = []
    for day in sorted(days):
        if spans and day - spans[-1][-1] == timedelta(days=1):
            spans[-1].append(day)
        else:
            spans.append([day])
    return ", ".join(f"{s[0]}..{s[-1]}" if len(s) > 1 else f"{s[0]}" for s in spans)


def said_view(lines: Sequence[str]) -> dict[str, Any]:
    """A modal that only says something (no inputs, no Start), closed with Close."""
    return {
        "type": "modal",
        "callback_id": f"{MODAL}.said",
        "title": {"type": "plain_text", "text": "Regrade dates"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [lines_section(list(lines)).to_dict()],
    }


def working_view(start: date, end: date) -> dict[str, Any]:
    """What the modal shows while the plan is read and the backfill made (after Start)."""
    return said_view([f":hourglass_flowing_sand: Planning and starting {start}..{end}…"])


def started_view(backfill_id: int, where: str, created: bool) -> dict[str, Any]:
    """Where to follow a backfill that Start made (or had made already): `followed_in`'s."""
    said = "started" if created else "was already started by this request"
    return said_view(
        [f":white_check_mark: Backfill #{backfill_id} {said}: its progress is {where}."]
    )
