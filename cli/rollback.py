"""`opsbot rollback`: a service's recent revisions, or all traffic moved to one and verified."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from checks.drift_model import age_text
from cli.options import AsOption, ConfigOption, SandboxOption, announce, who
from cli.state import opened_store
from cli.terminal import report_console
from commands.errors import RequestError
from commands.requests import select_services
from config import resolve_profile_path
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
    from commands.rollback import candidates, roll_back

    profile_path = resolve_profile_path(config)
    profile = load_profile(profile_path)
    select_services(profile, [service])
    actor = who(as_user) if to else ""
    with open_platform(profile, profile_path, sandbox=sandbox, announce=announce) as platform:
        sources = platform.drift_sources()
        if to is None:
            _print_candidates(
                service, candidates(sources.cloud_run, sources.repo, service), platform.now
            )
            return
        if not yes:
            if not sys.stdin.isatty():
                raise RequestError("rolling back changes production: confirm with --yes")
            typer.confirm(f"Move 100% of {service}'s traffic to {to}?", abort=True)
        with opened_store(
            profile, profile_path, sandbox, platform.clock, platform.store_url
        ) as store:
            result = roll_back(profile, sources.cloud_run, store, service, to, actor)
        assert result is not None  # no once_key: every call acts
        ended = f" (rollout #{result.aborted_rollout} aborted)" if result.aborted_rollout else ""
        report_console().print(f"{service}: 100% of traffic on {result.revision}, verified{ended}")


def _print_candidates(service: str, found: list[Candidate], now: datetime) -> None:
    table = Table(title=f"{service}: recent revisions", title_justify="left")
    for column in ("revision", "traffic", "commit", "subject", "age", "ready"):
        table.add_column(column, overflow="fold")
    for c in found:
        table.add_row(
            c.revision,
            f"{c.percent}%",
            (c.commit or "—")[:8],
            escape(c.subject or "—"),
            age_text(c.created, now),
            "yes" if c.ready else "no",
        )
    report_console().print(table)
    report_console().print(
        f"roll back with: opsbot rollback {service} --to REVISION --as YOUR_SLACK_ID"
    )
