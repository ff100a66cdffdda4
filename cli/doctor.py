"""`opsbot doctor`: is everything opsbot needs granted? Exit 0 only when every check is OK."""

from __future__ import annotations

import typer
from rich.markup import escape

from cli.options import ConfigOption, SandboxOption, announce
from cli.terminal import report_console
from config import resolve_profile_path
from opsbot.profile import load_profile

EXIT_MISSING = 1


def doctor(sandbox: SandboxOption = False, config: ConfigOption = None) -> None:
    """Check every permission and resource opsbot needs, each line OK or MISSING and the fix.

    BigQuery tables readable (a dry run), Cloud Run services readable and updatable
    (testIamPermissions), metrics and logs readable, and the Slack token's scopes and channels.
    Exit 0 when every check is OK, 1 when something is missing (the README lists the roles).
    """
    from commands.doctor import healthy
    from opsbot.doctor import diagnose

    profile_path = resolve_profile_path(config)
    profile = load_profile(profile_path)
    findings = diagnose(profile, profile_path, sandbox=sandbox, announce=announce)
    console = report_console()
    colour = {"OK": "green", "MISSING": "red", "NOT CHECKED": "yellow"}
    for found in findings:
        line = f"[{colour[found.label]}]{found.label:<11}[/] {escape(found.what)}"
        if found.detail:
            line += f": {escape(found.detail)}"
        if found.grant:
            line += f" [bold](grant {escape(found.grant)})[/bold]"
        console.print(line, soft_wrap=True)  # one line per check, however long
    missing = sum(1 for f in findings if f.ok is False)
    console.print(f"{len(findings)} checks, {missing} missing")
    if not healthy(findings):
        raise typer.Exit(EXIT_MISSING)
