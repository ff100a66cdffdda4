"""`opsbot rollback`: a service's recent revisions, or all traffic moved to one and verified."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from checks.drift_model import age_text
from cli.layout import Column, print_command, print_table, print_wrapped
from cli.options import AsOption, ConfigOption, SandboxOption, announce, stderr, who
from cli.state import opened_store, remembering_store
from cli.terminal import report_console
from commands.errors import RequestError
from commands.requests import select_services
from config import resolve_profile_path
from infra.wording import short_sha
from opsbot.platform import open_platform
from opsbot.profile import load_profile

if TYPE_CHECKING:
    from commands.rollback import Candidate


def rollback(
    service: Annotated[str, typer.Argument(help="The service to roll back.", show_default=False)],
    to: Annotated[
        str | None,
        typer.Option("--to", metavar="REVISION", help="Move 100% of traffic to this revision."),
    ] = None,
    as_user: AsOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    sandbox: SandboxOption = False,
    config: ConfigOption = None,
) -> None:
    """Without --to: the service's recent revisions (commit, subject, age, traffic). With --to:
    move all traffic to that revision, verify it and audit it; during a rollout, abort the rollout.

    SERVICE: the service to roll back.
    """
    from commands.deploy.history import revision_setbacks
    from commands.rollback import candidates, roll_back

    profile_path = resolve_profile_path(config)
    profile = load_profile(profile_path)
    select_services(profile, [service])
    actor = who(as_user) if to else ""
    with open_platform(profile, profile_path, sandbox=sandbox, announce=announce) as platform:
        sources = platform.drift_sources()
        where = (profile, profile_path, sandbox, platform.clock, platform.store_url)
        if to is None:
            with remembering_store(*where) as known:  # what went bad before, if remembered
                found = candidates(profile, sources.cloud_run, sources.repo, service, known)
            print_candidates(report_console(), service, found, platform.now)
            return
        with opened_store(*where) as store:
            setback = revision_setbacks(store, service).get(to)
            if setback is not None:
                print_wrapped(stderr(), f"warning: {to} {setback.text()}", hanging="  ")
            if not yes:
                if not sys.stdin.isatty():
                    raise RequestError("rolling back changes production: confirm with --yes")
                typer.confirm(f"Move 100% of {service}'s traffic to {to}?", abort=True)
            result = roll_back(profile, sources.cloud_run, store, service, to, actor)
        assert result is not None  # no once_key: every call acts
        ended = f" (rollout #{result.aborted_rollout} aborted)" if result.aborted_rollout else ""
        report_console().print(f"{service}: 100% of traffic on {result.revision}, verified{ended}")


COLUMNS = (
    Column("revision", whole=True),
    Column("traffic", whole=True, justify="right"),
    Column("commit", whole=True),
    Column("age", whole=True),
    Column("last change"),
)


def print_candidates(console: Console, service: str, found: list[Candidate], now: datetime) -> None:
    """The revisions to choose from; one that went bad is marked, and why is said below."""
    rows = []
    for c in found:
        change = f"{c.change.short} {c.change.subject}" if c.change else "—"
        if c.setback is not None:
            change = f"[bold red]⚠ {escape(c.setback.what)}[/] · {escape(change)}"
        else:
            change = escape(change)
        rows.append(
            [
                c.revision,
                f"{c.percent}%" + ("" if c.ready else " (not ready)"),
                short_sha(c.commit) if c.commit else "no label",
                age_text(c.created, now),
                change,
            ]
        )
    print_table(console, f"{service}: recent revisions", COLUMNS, rows)
    for c in found:
        if c.setback is not None:
            print_wrapped(console, f"⚠ {c.revision} {c.setback.text()}", hanging="    ")
    print_command(
        console,
        f"opsbot rollback {service} --to REVISION --as YOUR_SLACK_ID",
        label="roll back with:",
    )
