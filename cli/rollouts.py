"""`opsbot rollouts`: the rollouts in the store, newest first."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from cli.options import ConfigOption, JsonOption, SandboxOption
from cli.state import opened_store
from cli.terminal import emit_json, report_console
from commands.errors import RequestError
from config import resolve_profile_path
from infra.clock import utc_now
from opsbot.profile import load_profile


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
    table = Table(title="rollouts", title_justify="left")
    for column in ("id", "service", "commit", "state", "step", "requested by", "updated", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["service"],
            row["commit"][:8],
            row["state"],
            str(row["step"]),
            row["requested_by"],
            row["updated_at"][:16],
            escape(row["reason"] or ""),
        )
    report_console().print(table)
