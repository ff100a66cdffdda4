"""`opsbot deploy`, `opsbot rollback` and `opsbot rollouts`: deploys from a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from checks.drift_model import age_text
from cli.terminal import emit_json, report_console
from commands.errors import RequestError
from config import Profile, resolve_profile_path
from opsbot.platform import open_platform
from opsbot.profile import load_profile

if TYPE_CHECKING:
    from commands.deploy import DeployTools
    from commands.platform import Platform
    from commands.rollback import Candidate
    from store.rollouts import Store
    from store.schema import Rollout

ConfigOption = Annotated[Path | None, typer.Option("--config", help="Profile to use.")]
SandboxOption = Annotated[bool, typer.Option("--sandbox", help="Run against the embedded sandbox.")]
AsOption = Annotated[
    str | None,
    typer.Option("--as", help="Your Slack user ID, for the role check (default: $OPSBOT_USER)."),
]


def _who(as_user: str | None) -> str:
    user = as_user or os.environ.get("OPSBOT_USER")
    if not user:
        raise RequestError(
            "say who you are: --as U… (your Slack user ID, which needs the deployer role)"
        )
    return user


@contextmanager
def _store(
    profile: Profile, profile_path: Path, sandbox: bool, clock: Callable[[], datetime]
) -> Iterator[Store]:
    """The profile's store; in the sandbox, a fresh one for this run."""
    import tempfile

    from opsbot.serve import open_database
    from store.database import Database, sqlite_url
    from store.rollouts import Store

    if sandbox:
        with tempfile.TemporaryDirectory(prefix="opsbot-cli-") as state:
            database = Database.open(sqlite_url(Path(state) / "opsbot.db"))
            try:
                yield Store(database, clock)
            finally:
                database.close()
        return
    database = open_database(profile, profile_path)
    try:
        yield Store(database, clock)
    finally:
        database.close()


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
    from commands.drift import select_services
    from commands.rollback import candidates, roll_back

    profile_path = resolve_profile_path(config)
    profile = load_profile(profile_path)
    select_services(profile, [service])
    actor = _who(as_user) if to else ""
    with open_platform(profile, profile_path, sandbox=sandbox, announce=_announce) as platform:
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
        with _store(profile, profile_path, sandbox, lambda: platform.now) as store:
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


def rollouts(
    active: Annotated[
        bool, typer.Option("--active", help="Only rollouts still in progress.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object instead of a table.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Rollouts in the store (newest first): service, commit, state, step, who asked, when."""
    profile_path = resolve_profile_path(config)
    profile = load_profile(profile_path)
    with _store(profile, profile_path, False, lambda: datetime.now(UTC)) as store:
        found = store.active() if active else store.recent()
    rows = [
        {
            "id": r.id,
            "service": r.service,
            "commit": r.commit_sha,
            "state": r.state,
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
            str(row["service"]),
            str(row["commit"])[:8],
            str(row["state"]),
            str(row["step"]),
            str(row["requested_by"]),
            str(row["updated_at"])[:16],
            escape(str(row["reason"] or "")),
        )
    report_console().print(table)


def _announce(message: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False).print(f"[dim]{escape(message)}[/dim]")


def deploy_command(
    service: Annotated[str, typer.Argument(help="The service to deploy.", show_default=False)],
    commit: Annotated[
        str | None,
        typer.Option(
            "--commit",
            metavar="SHA",
            help="Commit to ship (default: main's newest touching the service).",
        ),
    ] = None,
    as_user: AsOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Start the canary after the checklist, without asking.")
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="Stay and drive the canary's analyses until it ends or awaits approval."
        ),
    ] = False,
    sandbox: SandboxOption = False,
    config: ConfigOption = None,
) -> None:
    """Print the checklist; with --yes, start the canary (the bot drives it and posts its message).

    SERVICE: the service to deploy. Exit 0 when started (or only the checklist was asked for),
    1 when the canary was rolled back or failed (with --wait), 3 when something blocks it.
    """
    from commands import deploy
    from commands.drift import select_services

    profile_path = resolve_profile_path(config)
    profile = load_profile(profile_path)
    select_services(profile, [service])
    actor = _who(as_user) if yes else ""
    if sandbox:
        profile = profile.model_copy(
            update={"deploy": profile.deploy.model_copy(update=_sandbox_timing())}
        )
    with (
        open_platform(profile, profile_path, sandbox=sandbox, announce=_announce) as platform,
        _store(profile, profile_path, sandbox, lambda: platform.now) as store,
    ):
        tools = _tools(profile, profile_path, platform, store, sandbox)
        checklist = deploy.prepare(profile, tools, service, commit)
        console = report_console()
        console.print(
            f"[bold]deploy {service}[/bold] {checklist.commit.short} {escape(checklist.commit.subject)}"
        )
        console.print(
            f"  replaces {checklist.stable_revision} (runs {checklist.deployed or 'no label'}); ships {escape(checklist.ships)}"
        )
        for change in checklist.schema_changes:
            console.print(f"  [yellow]schema change[/yellow] {escape(change)}")
        blockers = checklist.blockers(
            may_override_freeze=actor in profile.slack.roles.get("approver", [])
        )
        if blockers:
            raise RequestError("cannot deploy: " + "; ".join(blockers))
        if not yes:
            console.print("start the canary with --yes --as YOUR_SLACK_ID")
            return
        rollout = deploy.begin(profile, tools, checklist, actor)
        started = deploy.start_canary(profile, tools, rollout.id, actor)
        current = started or tools.store.get(rollout.id)
        assert current is not None
        console.print(
            f"rollout #{current.id}: {current.state} ({current.reason or f'canary at {profile.deploy.steps[0]}%'})"
        )
        if wait and current.state == "canary":
            current = _drive(profile, tools, current.id)
        if current.state in ("rolled_back", "failed"):
            raise typer.Exit(1)


def _sandbox_timing() -> dict[str, float]:
    from opsbot.serve import SANDBOX_DEPLOY

    return dict(SANDBOX_DEPLOY)


def _tools(
    profile: Profile, profile_path: Path, platform: Platform, store: Store, sandbox: bool
) -> DeployTools:
    from opsbot.platform import deploy_tools, sandbox_deploy_tools

    if platform.sandbox is not None:
        return sandbox_deploy_tools(profile, platform.sandbox, store)
    sources = platform.drift_sources()
    return deploy_tools(profile, sources.cloud_run, sources.repo, store, lambda: datetime.now(UTC))


def _drive(profile: Profile, tools: DeployTools, rollout_id: int) -> Rollout:
    """Tick the rollout until it ends or a promotion is awaited after a passing analysis."""
    import time

    from commands.rollout_driver import Tick, next_due, tick

    console = report_console()
    while True:
        rollout = tools.store.get(rollout_id)
        assert rollout is not None
        time.sleep(max(0.0, (next_due(profile, rollout) - tools.clock()).total_seconds()))
        result = tick(profile, tools, rollout_id)
        if result is None:
            return rollout
        if result.outcome is not None:
            analysis = result.outcome.analysis
            console.print(
                f"  analysis: {analysis.verdict.value}"
                + "".join(f"\n    - {escape(r)}" for r in analysis.reasons)
            )
        if result.tick in (Tick.ROLLED_BACK, Tick.EXPIRED, Tick.COMPLETED):
            console.print(
                f"rollout #{rollout_id}: {result.rollout.state}: {escape(result.rollout.reason or '')}"
            )
            return result.rollout
        if result.outcome is not None and result.outcome.analysis.verdict.value == "pass":
            console.print(f"rollout #{rollout_id}: passing; an approver promotes it in Slack")
            return result.rollout
