"""The weekly report in Slack: delivery and health figures, each beside the week before."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, DividerBlock

from bot.views.kit import context, escape, header, mention, section
from commands.schedule.decide import local_stamp
from commands.schedule.weekly import WeekFigures, WeeklyReport
from infra.wording import plural


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 60:.0f} min" if value < 1 else f"{value:.1f} h"


def _minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} min"


def _share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({100 * part / whole:.0f}%)" if whole else "none"


def figure_lines(week: WeekFigures) -> dict[str, str]:
    """Each figure of one week, in words (the same keys for both weeks)."""
    per_service = ", ".join(f"{s} {n}" for s, n in week.deploys.items())
    worst = (
        f"worst check {week.worst_check} ({plural(week.worst_check_failing_runs, 'run')} failing)"
        if week.worst_check
        else "no check failed"
    )
    return {
        "Deploys": f"{week.deploy_count}" + (f" ({per_service})" if per_service else ""),
        "Lead time (median, commit → 100%)": _hours(week.lead_time_h),
        "Change failure rate (rolled back / started)": _share(week.rolled_back, week.started),
        "Time to restore: rollbacks (median)": (
            f"{_minutes(week.restore_min)} over {plural(len(week.restore_minutes), 'rollback')}"
            + (f" · {week.hand_rollbacks} by /rollback" if week.hand_rollbacks else "")
        ),
        "Time to restore: CRITICAL check → OK (median)": (
            f"{_hours(week.check_restore_h)} over "
            f"{plural(len(week.check_restore_hours), 'recovery', 'recoveries')}"
        ),
        "Health (scheduled runs OK)": f"{_share(week.health_ok_runs, week.health_runs)} · {worst}",
        "Backfills": f"{week.backfills} ({plural(week.backfill_dates, 'date')})",
    }


def weekly_report(report: WeeklyReport, timezone: str, notes: list[str]) -> tuple[str, list[Block]]:
    this, before = figure_lines(report.this), figure_lines(report.before)
    lines = [f"*{name}*: {value}  _(week before: {before[name]})_" for name, value in this.items()]
    blocks: list[Block] = [
        header("Weekly report · delivery and health"),
        context(
            f"{local_stamp(report.this.start, timezone)} → {local_stamp(report.this.end, timezone)}, "
            "from opsbot's audit log, backfills and scheduled health runs"
        ),
        *[context(n) for n in notes],
        DividerBlock(),
        section("\n".join(lines)),
    ]
    if report.open_items:
        today = report.today
        late = [i for i in report.open_items if today is not None and i.overdue(today)]
        listed = [
            f"• {escape(i.text)} — {mention(i.owner)}, due {i.due}"
            + (" *overdue*" if today is not None and i.overdue(today) else "")
            for i in report.open_items[:15]
        ]
        blocks.append(
            section(
                f"*Postmortem action items*: {len(report.open_items)} open, {len(late)} overdue\n"
                + "\n".join(listed)
            )
        )
    week = report.this
    text = (
        f"Weekly report: {plural(week.deploy_count, 'deploy')}, change failure rate "
        f"{_share(week.rolled_back, week.started)}, {plural(week.backfills, 'backfill')}"
    )
    return text, blocks
