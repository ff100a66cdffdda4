"""The health report for a terminal: a rich table and a summary line, or one JSON object."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape

from checks.registry import enabled_checks
from checks.result import Cause, CheckResult, FixKind, HealthReport, Overall, Status
from checks.runner import OnResult
from cli.layout import Column, fits, print_command, print_table, print_wrapped
from cli.terminal import emit_json, report_console
from commands.health_causes.wording import gaps_text
from config import Profile

STYLE = {
    Status.OK: "green",
    Status.WARN: "yellow",
    Status.CRITICAL: "bold red",
    Status.ERROR: "magenta",
    Status.NOT_APPLICABLE: "dim",
}
OVERALL_STYLE = {
    Overall.OK: "bold green",
    Overall.DEGRADED: "bold yellow",
    Overall.CRITICAL: "bold red",
}
LABEL = {Status.NOT_APPLICABLE: "N/A"}


@contextmanager
def health_progress(profile: Profile) -> Iterator[OnResult | None]:
    """On a terminal, a spinner on stderr counting checks as they finish; elsewhere nothing."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    total = len(enabled_checks(profile))
    finished = 0
    with console.status(f"running {total} checks…") as status:

        def on_result(result: CheckResult) -> None:
            nonlocal finished
            finished += 1
            status.update(
                f"{finished}/{total} checks done · last: {result.name} {result.status.value}"
            )

        yield on_result


def summary_line(report: HealthReport) -> str:
    applicable = report.applicable
    passed = sum(1 for r in applicable if r.status is Status.OK)
    line = (
        f"{report.status.value} · score {report.score:g} ({passed}/{len(applicable)} applicable checks passed)"
        f" · as of {report.as_of} · {len(report.results)} checks in {report.duration_s:.2f}s"
    )
    errors = [r.name for r in report.results if r.status is Status.ERROR]
    if errors:
        line += f" · could not run: {', '.join(errors)}"
    return line


TABLE_MIN_WIDTH = 120  # narrower: one stacked block per check, so no name or status breaks
COLUMNS = (
    Column("check", whole=True),
    Column("status", whole=True),
    Column("value", whole=True),
    Column("threshold"),
    Column("baseline", whole=True),
    Column("window", whole=True),
    Column("detail"),
    Column("action", whole=True),
)


FAILED = (Status.WARN, Status.CRITICAL)
NO_CAUSE = "no likely cause found"
# (label, command) of each numbered fix printed below the report
Actions = list[tuple[str, str]]


def cause_lines(result: CheckResult) -> list[str]:
    """The top likely cause of a failing check, in words ("no likely cause found" is one), and
    what could not be read while they were looked for (then none found is not said)."""
    if result.status not in FAILED:
        return []
    top = result.causes[0] if result.causes else None
    gaps = result.causes_incomplete
    lines = [f"likely cause ({top.kind.value.replace('_', ' ')}): {top.evidence}"] if top else []
    if gaps:
        lines.append(gaps_text(gaps, found=top is not None))
    return lines or [NO_CAUSE]


def terminal_command(cause: Cause) -> str | None:
    """The cause's fix as a terminal runs it (`opsbot deploy …`); its action as written when it
    is the profile's own command, or when it has no typed fix."""
    fix = cause.fix
    if fix is None:
        return cause.action
    if fix.kind is FixKind.DEPLOY and fix.service and (cause.action or "").startswith("/deploy"):
        return f"opsbot deploy {fix.service}"
    if fix.kind is FixKind.ROLLBACK and fix.service and fix.revision:
        return f"opsbot rollback {fix.service} --to {fix.revision} --as YOUR_SLACK_ID"
    if fix.kind is FixKind.REGRADE and fix.start and fix.end:
        return f"opsbot regrade {fix.start}" + (f" {fix.end}" if fix.end != fix.start else "")
    if fix.kind is FixKind.POSTMORTEM and fix.start:
        return f"opsbot postmortem --date {fix.start}"
    return cause.action


def _number(actions: Actions, label: str, command: str | None) -> str | None:
    """`command` added to the fixes printed below; its reference (`[2]`), or None."""
    if not command:
        return None
    actions.append((label, command))
    return f"[{len(actions)}]"


def _refs(result: CheckResult, actions: Actions) -> tuple[str | None, str | None]:
    """The references of the check's own fix and of its top cause's, numbered in that order."""
    own = _number(actions, f"{result.name}:", result.action)
    top: Cause | None = result.causes[0] if result.causes and result.status in FAILED else None
    cause = _number(
        actions, f"{result.name}, its likely cause:", terminal_command(top) if top else None
    )
    return own, cause


def print_report(report: HealthReport, *, as_json: bool, console: Console | None = None) -> None:
    if as_json:
        emit_json(report.to_json())
        return
    console = console or report_console()
    actions: Actions = []
    rows = []
    for result in report.results:
        own, cause_ref = _refs(result, actions)
        action_ref = f"{own} below" if own else ""
        detail = result.detail
        for number, said in enumerate(cause_lines(result)):
            fix = f" (fix: {cause_ref} below)" if cause_ref and number == 0 else ""
            detail += f"\n{said}{fix}"
        rows.append(
            [
                result.name,
                f"[{STYLE[result.status]}]{LABEL.get(result.status, result.status.value)}[/]",
                result.format_value(result.value),
                escape(result.threshold or "—"),
                result.format_value(result.baseline),
                str(result.window) if result.window else "—",
                escape(detail),
                escape(action_ref),
            ]
        )
    if console.width < TABLE_MIN_WIDTH or not fits(COLUMNS, rows, console.width):
        _print_stacked(report, console)
        return
    print_table(console, f"opsbot health · as of {report.as_of}", COLUMNS, rows)
    _print_actions(actions, console)
    console.print(f"[{OVERALL_STYLE[report.status]}]{summary_line(report)}[/]")


def _print_stacked(report: HealthReport, console: Console) -> None:
    """The report for a narrow terminal: each check's name and status on a line of their own."""
    console.print(f"[bold]opsbot health · as of {report.as_of}[/bold]")
    actions: Actions = []
    for result in report.results:
        status = LABEL.get(result.status, result.status.value)
        value = result.format_value(result.value)
        console.print(
            f"[bold]{result.name}[/bold]  [{STYLE[result.status]}]{status}[/]"
            + (f"  {value}" if value != "—" else ""),
            highlight=False,
        )
        facts = [
            f"threshold {result.threshold}" if result.threshold else "",
            f"baseline {result.format_value(result.baseline)}"
            if result.baseline is not None
            else "",
            f"window {result.window}" if result.window else "",
        ]
        own, cause_ref = _refs(result, actions)
        lines = [" · ".join(f for f in facts if f), result.detail]
        if own:
            lines.append(f"fix: {own} below")
        for number, said in enumerate(cause_lines(result)):
            lines.append(said + (f" (fix: {cause_ref} below)" if cause_ref and number == 0 else ""))
        for line in lines:  # indented, wrapped lines indented too, never inside a word
            print_wrapped(console, line, indent="  ")
    _print_actions(actions, console)
    console.print(f"[{OVERALL_STYLE[report.status]}]{summary_line(report)}[/]")


def _print_actions(actions: Actions, console: Console) -> None:
    for number, (label, command) in enumerate(actions, start=1):
        console.print(f"[bold]\\[{number}] {escape(label)}[/bold]", highlight=False)
        print_command(console, command)
