"""Drift for a terminal: a table per service and revision, the commits missing, or JSON."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from checks.drift_model import Basis, DriftReport, RevisionDrift, Severity, age_text
from cli.terminal import emit_json, report_console
from commands.drift import ContainsEntry, ContainsReport, services, services_live_and_missing

STYLE = {
    Severity.OK: "green",
    Severity.INFO: "cyan",
    Severity.WARN: "yellow",
    Severity.CRITICAL: "bold red",
}


def _deployed(revision: RevisionDrift) -> str:
    if revision.commit is not None:
        label = revision.label or ""
        shown = revision.commit.short
        return shown if len(label) >= len(shown) else f"{shown} (label {escape(label)})"
    if revision.label:
        return f"? (label {escape(revision.label)})"
    return "[dim]no label[/dim]"


def summary_line(report: DriftReport) -> str:
    drifting = report.drifting
    return (
        f"drift {report.severity.value} · {len(drifting)} of {len(report.services)} services need "
        f"attention · main {report.main.short} ({report.main.committed:%Y-%m-%d %H:%M} UTC) · "
        f"checked {report.checked_at:%Y-%m-%d %H:%M} UTC in {report.duration_s:.2f}s"
    )


def print_drift(report: DriftReport, *, as_json: bool, console: Console | None = None) -> None:
    if as_json:
        emit_json(report.to_json())
        return
    console = console or report_console()
    table = Table(title="opsbot drift", title_justify="left")
    for column in ("service", "severity", "revision", "traffic", "deployed", "behind", "oldest"):
        table.add_column(column, overflow="fold")
    for service in report.services:
        style = STYLE[service.severity]
        if not service.revisions:
            table.add_row(
                service.service, f"[{style}]{service.severity.value}[/]", "—", "—", "—", "—", "—"
            )
        for index, revision in enumerate(service.revisions):
            behind = str(revision.undeployed.count)
            if revision.basis is Basis.TIME:
                behind += " (by time)"
            table.add_row(
                service.service if index == 0 else "",
                f"[{style}]{service.severity.value}[/]" if index == 0 else "",
                revision.revision,
                f"{revision.percent}%",
                _deployed(revision),
                behind,
                age_text(revision.undeployed.oldest_at, report.checked_at),
            )
    console.print(table)
    for service in report.services:
        if not service.findings and service.severity.rank < Severity.WARN.rank:
            continue
        console.print(
            f"[bold]{service.service}[/bold] [{STYLE[service.severity]}]{service.severity.value}[/]"
        )
        for finding in service.findings:
            console.print(f"  ! {escape(finding.message)}")
        for revision in service.revisions:
            if not revision.undeployed.newest:
                continue
            more = revision.undeployed.count - len(revision.undeployed.newest)
            console.print(f"  {revision.revision}: newest undeployed commits")
            for commit in revision.undeployed.newest:
                console.print(
                    f"    {commit.short} {commit.committed:%m-%d %H:%M} "
                    f"{escape(commit.author)}: {escape(commit.subject)}"
                )
            if more > 0:
                console.print(f"    … and {more} more")
        if service.action:
            console.print(f"  fix: {escape(service.action)}")
    console.print(f"[{STYLE[report.severity]}]{summary_line(report)}[/]")


def _entry_line(entry: ContainsEntry) -> str:
    where = f"{entry.service} {entry.revision} ({entry.percent}%)"
    deployed = entry.deployed[:8] if entry.deployed else "no label"
    parts = [where, f"runs {escape(deployed)}"]
    if entry.commits_to_reach is not None:
        parts.append(
            f"{entry.commits_to_reach} commits short of it (its sources' commits up to this "
            "commit; `drift` counts them up to main)"
        )
    if entry.note:
        parts.append(escape(entry.note))
    return " · ".join(parts)


def print_contains(
    report: ContainsReport, *, as_json: bool, console: Console | None = None
) -> None:
    if as_json:
        emit_json(report.to_json())
        return
    console = console or report_console()
    commit = report.commit
    console.print(
        f"[bold]{commit.short}[/bold] {escape(commit.subject)} "
        f"({escape(commit.author)}, {commit.committed:%Y-%m-%d %H:%M} UTC)"
    )
    live_on, missing_on = services_live_and_missing(report)
    console.print(
        f"[green]live on {services(len(live_on))}[/green] ({len(report.live)} serving revisions):"
    )
    for entry in report.live:
        console.print(f"  ✓ {_entry_line(entry)}")
    console.print(
        f"[yellow]missing on {services(len(missing_on))}[/yellow] "
        f"({len(report.missing)} serving revisions; · = its sources untouched by it):"
    )
    for entry in report.missing:
        mark = "✗" if entry.relevant else "·"
        console.print(f"  {mark} {_entry_line(entry)}")
    for unknown in report.unknown:
        console.print(f"[magenta]  ? {unknown['service']}: {escape(unknown['reason'])}[/]")
    verdict = (
        "live wherever it matters"
        if report.exit_code == 0
        else "not yet live everywhere it matters"
    )
    console.print(f"[bold]{commit.short} is {verdict}[/bold]")
