"""`opsbot rollouts`: the rollouts in the store, newest first."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from cli.layout import Column, print_table, print_wrapped
from cli.options import ConfigOption, JsonOption, SandboxOption
from cli.state import opened_store
from cli.terminal import emit_json, report_console
from commands.errors import RequestError
from commands.postmortem.people import Names, named
from config import resolve_profile_path
from infra.clock import utc_now
from infra.wording import said, short_sha
from opsbot.profile import load_profile
from store.views import RolloutView


def rollouts(
    active: Annotated[
        bool, typer.Option("--active", help="Only rollouts still in progress.")
    ] = False,
    as_json: JsonOption = False,
    sandbox: SandboxOption = False,
    config: ConfigOption = None,
) -> None:
    """Rollouts in the store (newest first): service, commit, state, step, who asked, when.

    With --sandbox: the store of the `opsbot sandbox` running now (its console's rollouts).
    """
    from opsbot.platform import running_sandbox_store

    profile_path = resolve_profile_path(config)
    profile = load_profile(profile_path)
    shared = running_sandbox_store() if sandbox else None
    if sandbox and shared is None:
        raise RequestError(
            "no opsbot sandbox is running: start one with `opsbot sandbox`; a --sandbox command "
            "run without it keeps its rollouts in a store of its own, gone when it ends"
        )
    with opened_store(profile, profile_path, sandbox, utc_now, shared) as store:
        found = store.active() if active else store.recent()
    rows: list[dict[str, Any]] = [
        {
            "id": r.id,
            "service": r.service,
            "commit": r.commit_sha,
            "state": r.state.value,
            "step": r.step,
            "stable": r.stable_revision,
            "canary": r.canary_revision,
            "requested_by": r.requested_by,
            "updated_at": r.updated_at.isoformat(),
            "reason": r.reason,
        }
        for r in found
    ]
    if as_json:
        emit_json({"rollouts": rows})
        return
    print_rollouts(report_console(), found, profile.deploy.steps, profile.slack.people)


COLUMNS = (
    Column("rollout", whole=True),
    Column("service", whole=True),
    Column("commit", whole=True),
    Column("state", whole=True),
    Column("step", whole=True, justify="right"),
    Column("requested by", whole=True),
    Column("updated (UTC)", whole=True),
)


def print_rollouts(
    console: Console, found: list[RolloutView], steps: list[int], names: Names | None = None
) -> None:
    """The rollouts as a table, then each reason on lines of its own with people named."""
    rows = [
        [
            f"#{r.id}",
            r.service,
            short_sha(r.commit_sha),
            said(r.state),
            f"{steps[min(r.step, len(steps) - 1)]}%",
            escape(r.requested_by),
            f"{r.updated_at:%Y-%m-%d %H:%M}",
        ]
        for r in found
    ]
    print_table(console, "rollouts", COLUMNS, rows)
    for r in found:
        if r.reason:
            reason = named(r.reason, names or {})
            print_wrapped(console, f"#{r.id} {said(r.state)}: {reason}", hanging="    ")
