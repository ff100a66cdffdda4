"""`opsbot doctor`: is everything opsbot needs granted? Exit 0 only when every check is OK."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from cli.layout import wrapped
from cli.options import ConfigOption, SandboxOption, announce
from cli.terminal import report_console
from config import resolve_profile_path
from infra.wording import plural
from opsbot.profile import load_profile

if TYPE_CHECKING:
    from commands.doctor import Finding

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
    for found in findings:
        print_finding(console, found)
    missing = sum(1 for f in findings if f.ok is False)
    console.print(f"{plural(len(findings), 'check')}, {missing} missing")
    if not healthy(findings):
        raise typer.Exit(EXIT_MISSING)


LABEL_WIDTH = 12  # "NOT CHECKED " : the text after it lines up, wrapped lines too
COLOUR = {"OK": "green", "MISSING": "red", "NOT CHECKED": "yellow"}


def print_finding(console: Console, found: Finding) -> None:
    """One check: its label, then what, why and the grant, wrapped at spaces under the text."""
    text = found.what + (f": {found.detail}" if found.detail else "")
    if found.grant:
        text += f" (grant {found.grant})"
    lines = wrapped(text, console.width - LABEL_WIDTH)
    label = f"{found.label:<{LABEL_WIDTH}}"
    console.print(
        f"[{COLOUR[found.label]}]{label}[/]{escape(lines[0])}", highlight=False, soft_wrap=True
    )
    for line in lines[1:]:
        console.print(" " * LABEL_WIDTH + line, markup=False, highlight=False, soft_wrap=True)
