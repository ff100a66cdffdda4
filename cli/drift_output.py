"""Drift for a terminal: a table per service and revision, the commits missing, or JSON."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from checks.drift_model import Basis, DriftReport, RevisionDrift, ServiceDrift, Severity, age_text
from cli.layout import Column, print_command, print_table, print_wrapped
from cli.terminal import emit_json, report_console
from commands.drift import (
    ContainsEntry,
    ContainsReport,
    DeployAdvice,
    attention,
    contains_summary,
)
from infra.wording import plural, short_sha

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
        return f"? (label {escape(short_sha(revision.label))})"
    return "[dim]no label[/dim]"


def summary_line(report: DriftReport) -> str:
    return (
        f"drift {report.severity.value} · {attention(report)} · main {report.main.short} "
        f"({report.main.committed:%Y-%m-%d %H:%M} UTC) · "
        f"checked {report.checked_at:%Y-%m-%d %H:%M} UTC in {report.duration_s:.2f}s"
    )


COLUMNS = (
    Column("service and its revisions", whole=True),
    Column("traffic", whole=True, justify="right"),
    Column("runs"),
    Column("behind"),
    Column("oldest", whole=True),
)


def _rows(report: DriftReport) -> list[list[str]]:
    """A row per service (its name and severity), then one per serving revision."""
    rows = []
    for service in report.services:
        style = STYLE[service.severity]
        rows.append([f"[bold]{service.service}[/] [{style}]{service.severity.value}[/]"] + [""] * 4)
        for revision in service.revisions:
            behind = str(revision.undeployed.count)
            if revision.basis is Basis.TIME:
                behind += " (by time)"
            rows.append(
                [
                    revision.revision,
                    f"{revision.percent}%",
                    _deployed(revision),
                    behind,
                    age_text(revision.undeployed.oldest_at, report.checked_at),
                ]
            )
    return rows


def print_drift(
    report: DriftReport,
    *,
    as_json: bool,
    console: Console | None = None,
    advice: dict[str, DeployAdvice] | None = None,
) -> None:
    if as_json:
        emit_json(report.to_json())
        return
    console = console or report_console()
    print_table(console, "opsbot drift", COLUMNS, _rows(report))
    for service in report.services:
        if not service.findings and service.severity.rank < Severity.WARN.rank:
            continue
        console.print(
            f"[bold]{service.service}[/bold] [{STYLE[service.severity]}]{service.severity.value}[/]"
        )
        for finding in service.findings:
            print_wrapped(console, f"! {finding.message}", indent="  ", hanging="    ")
        for revision in service.revisions:
            if not revision.undeployed.newest:
                continue
            more = revision.undeployed.count - len(revision.undeployed.newest)
            console.print(f"  {revision.revision}: newest undeployed commits")
            for commit in revision.undeployed.newest:
                line = f"{commit.short} {commit.committed:%m-%d %H:%M} {commit.author}: {commit.subject}"
                print_wrapped(console, line, indent="    ", hanging="      ")
            if more > 0:
                console.print(f"    … and {more} more")
        _print_fix(console, service, (advice or {}).get(service.service))
    print_wrapped(console, summary_line(report), style=STYLE[report.severity])


def _print_fix(console: Console, service: ServiceDrift, advice: DeployAdvice | None) -> None:
    """`opsbot deploy SERVICE` on a line of its own, with what it ships (or the profile's own fix
    without advice), and a warning when the commit to ship failed a canary before."""
    if advice is None:
        if service.action:
            print_command(console, service.action, label="  fix:", margin="    ")
        return
    ships = f", shipping {advice.ships.short} {advice.ships.subject}" if advice.ships else ""
    print_wrapped(console, f"fix (in Slack: {advice.slack}){ships}:", indent="  ", hanging="    ")
    print_command(console, advice.terminal, margin="    ")
    if advice.warning:
        print_wrapped(console, f"⚠ {advice.warning}", indent="  ", hanging="    ", style="bold red")


def _entry_line(entry: ContainsEntry) -> str:
    where = f"{entry.service} {entry.revision} ({entry.percent}%)"
    deployed = short_sha(entry.deployed) if entry.deployed else "no label"
    parts = [where, f"runs {deployed}"]
    if entry.commits_to_reach is not None and entry.relevant:
        parts.append(
            f"{plural(entry.commits_to_reach, 'commit')} short of it (its sources' commits up to "
            "this commit; `drift` counts them up to main)"
        )
    if entry.note:
        parts.append(entry.note)
    return " · ".join(parts)


def print_contains(
    report: ContainsReport, *, as_json: bool, console: Console | None = None
) -> None:
    if as_json:
        emit_json(report.to_json())
        return
    console = console or report_console()
    commit = report.commit
    print_wrapped(
        console,
        f"{commit.short} {commit.subject} ({commit.author}, {commit.committed:%Y-%m-%d %H:%M} UTC)",
        style="bold",
    )
    print_wrapped(console, contains_summary(report))
    live = report.live
    needed = [e for e in report.missing if e.relevant]
    untouched = [e for e in report.missing if not e.relevant]
    groups = (
        ("live", "✓", live, "green"),
        ("missing", "✗", needed, "yellow"),
        ("not there, its sources untouched by the commit", "·", untouched, "dim"),
    )
    for title, mark, entries, style in groups:
        if not entries:
            continue
        console.print(f"[{style}]{title} ({plural(len(entries), 'serving revision')}):[/]")
        for entry in entries:
            print_wrapped(console, f"{mark} {_entry_line(entry)}", indent="  ", hanging="    ")
    for unknown in report.unknown:
        line = f"? {unknown['service']}: {unknown['reason']}"
        print_wrapped(console, line, indent="  ", hanging="    ", style="magenta")
    verdict = (
        "live wherever it matters"
        if report.exit_code == 0
        else "not yet live everywhere it matters"
    )
    console.print(f"[bold]{commit.short} is {verdict}[/bold]")
