"""/health in Slack: the report as it runs and when done, and one check's details."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock

from bot.actions import ActionId, CheckDetails, RegradeStart
from bot.views.health_causes import cause_blocks
from bot.views.kit import (
    button,
    context,
    escape,
    fix_command,
    header,
    lines_section,
    section,
    within_limits,
)
from checks.result import CheckResult, HealthReport, Overall, Status
from infra.wording import plural

STATUS_EMOJI = {
    Status.OK: ":white_check_mark:",
    Status.WARN: ":warning:",
    Status.CRITICAL: ":red_circle:",
    Status.NOT_APPLICABLE: ":white_circle:",
    Status.ERROR: ":x:",
}
OVERALL_EMOJI = {
    Overall.OK: ":white_check_mark:",
    Overall.DEGRADED: ":warning:",
    Overall.CRITICAL: ":red_circle:",
}
FAILING = (Status.WARN, Status.CRITICAL, Status.ERROR)
PENDING = ":hourglass_flowing_sand:"


def check_line(result: CheckResult) -> str:
    """`✅ *name* 91.2% (threshold ≥80%, baseline 90.1%) · 2026-02-04 · 0.3s`"""
    parts = [f"{STATUS_EMOJI[result.status]} *{result.name}*"]
    if result.value is not None:
        numbers = []
        if result.threshold:
            numbers.append(f"threshold {escape(result.threshold)}")
        if result.baseline is not None:
            numbers.append(f"baseline {result.format_value(result.baseline)}")
        shown = f" ({', '.join(numbers)})" if numbers else ""
        parts.append(f"{result.format_value(result.value)}{shown}")
    else:
        parts.append(result.status.value.replace("_", " ").lower())
    if result.window is not None:
        parts.append(f"window {result.window}")
    parts.append(f"{result.duration_s:.1f}s")
    return " · ".join(parts[:1]) + " " + " · ".join(parts[1:]) + f"\n{escape(result.detail)}"


def check_blocks(result: CheckResult, as_of: date) -> list[Block]:
    details = None
    if result.status in FAILING:
        value = CheckDetails(check=result.name, as_of=as_of).encode()
        details = button("Details", ActionId.HEALTH_DETAILS, value)
    blocks: list[Block] = [section(check_line(result), accessory=details)]
    behind = _dates_behind(result) if result.status in FAILING else []
    if behind:  # the grading check's failing dates: a backfill, planned in a modal
        value = RegradeStart(start=min(behind), end=max(behind)).encode()
        label = f"Regrade {plural(len(behind), 'date')}"
        blocks.append(ActionsBlock(elements=[button(label, ActionId.REGRADE_OPEN, value)]))
    if result.action and result.status in FAILING:
        blocks.append(fix_command(result.action))
    return blocks


def _dates_behind(result: CheckResult) -> list[date]:
    """The dates a regrade would fix: graded below target, or voided far above the usual share."""
    found = {
        date.fromisoformat(day)
        for part in result.breakdown or []
        if part.get("status") != "OK"
        for day in [*(part.get("dates_behind") or []), *(part.get("dates_voided") or [])]
    }
    return sorted(found)


def health_progress(
    as_of: date, check_names: Sequence[str], done: Mapping[str, CheckResult], queued: bool = False
) -> tuple[str, list[Block]]:
    """The report while it runs: finished checks as they are, the others pending."""
    state = (
        "waiting for other reports to finish"
        if queued
        else f"{len(done)} of {len(check_names)} done"
    )
    blocks: list[Block] = [
        header(f"Health {as_of} · running {plural(len(check_names), 'check')}"),
        context(f"{PENDING} {state}"),
        DividerBlock(),
    ]
    for name in check_names:
        result = done.get(name)
        if result is None:
            blocks.append(section(f"{PENDING} *{name}* running…"))
        else:
            blocks.extend(check_blocks(result, as_of))
    text = f"Health {as_of}: running {plural(len(check_names), 'check')}"
    return text, within_limits(blocks, "checks")


def health_report(report: HealthReport) -> tuple[str, list[Block]]:
    """The finished report: overall status and score, one line per check, buttons for failures."""
    overall = report.status
    counts = {s: sum(1 for r in report.results if r.status is s) for s in Status}
    tally = ", ".join(f"{n} {s.value.replace('_', ' ').lower()}" for s, n in counts.items() if n)
    blocks: list[Block] = [
        header(f"Health {report.as_of} · {overall.value} · score {report.score:g}"),
        context(
            f"{OVERALL_EMOJI[overall]} {tally} · game day {report.as_of} (ET) · "
            f"{plural(len(report.results), 'check')} in {report.duration_s:.1f}s"
        ),
        DividerBlock(),
    ]
    for result in report.results:
        blocks.extend(check_blocks(result, report.as_of))
    text = f"Health {report.as_of}: {overall.value}, score {report.score:g} ({tally})"
    return text, within_limits(blocks, "checks")


def check_details(result: CheckResult, as_of: date) -> tuple[str, list[Block]]:
    """One check, in full: its line, its likely causes (each with its button), the per-part
    breakdown and the fix."""
    blocks: list[Block] = [
        header(f"{result.name} · {as_of}"),
        section(check_line(result)),
        *cause_blocks(result, as_of),
    ]
    if result.breakdown:
        blocks.append(lines_section(breakdown_lines(result.breakdown)))
    else:
        blocks.append(context("no per-part breakdown for this check"))
    if result.action:
        blocks.append(section(f"To fix, run:\n```{escape(result.action)}```"))
    return f"{result.name} on {as_of}: {result.status.value}", within_limits(blocks, "parts")


def breakdown_lines(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per breakdown row: `label value · label value`, in words, not field names."""
    return [
        "• " + " · ".join(f"{escape(label(str(k)))} *{escape(_cell(v))}*" for k, v in row.items())
        for row in rows
    ]


def label(key: str) -> str:
    """A breakdown field in words: `graded_pct` → "graded %", `dates_behind` → "dates behind"."""
    return " ".join("%" if word == "pct" else word for word in key.split("_"))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.1f}".removesuffix(".0")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return "—" if value is None else str(value)
