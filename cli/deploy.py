"""`opsbot deploy`: the checklist; with --yes the canary starts; with --wait it is driven here."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from cli.options import AsOption, ConfigOption, SandboxOption, announce, who
from cli.state import opened_store
from cli.terminal import report_console
from commands.errors import RequestError
from commands.requests import select_services
from config import Profile, resolve_profile_path
from opsbot.platform import SANDBOX_DEPLOY, open_platform
from opsbot.profile import load_profile
from store.states import RolloutState

if TYPE_CHECKING:
    from commands.deploy.checklist import Checklist
    from commands.deploy.tools import DeployTools
    from store.views import RolloutView

ENDS_BADLY = frozenset({RolloutState.ROLLED_BACK, RolloutState.FAILED})


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
    from commands.deploy.checklist import prepare  # the deploy machinery: only when deploying
    from commands.deploy.lifecycle import start

    profile_path = resolve_profile_path(config)
    profile = load_profile(profile_path)
    select_services(profile, [service])
    actor = who(as_user) if yes else ""
    if sandbox:
        timing = profile.deploy.model_copy(update=SANDBOX_DEPLOY)
        profile = profile.model_copy(update={"deploy": timing})
    with (
        open_platform(profile, profile_path, sandbox=sandbox, announce=announce) as platform,
        opened_store(profile, profile_path, sandbox, platform.clock, platform.store_url) as store,
    ):
        tools = platform.deploy_tools(store)
        checklist = prepare(profile, tools, service, commit)
        _print_checklist(checklist)
        blockers = checklist.blockers(may_override_freeze=profile.slack.holds(actor, "approver"))
        if blockers:
            raise RequestError("cannot deploy: " + "; ".join(blockers))
        if not yes:
            report_console().print("start the canary with --yes --as YOUR_SLACK_ID")
            return
        current = start(profile, tools, checklist, actor)
        first = f"canary at {profile.deploy.steps[0]}%"
        if current.operation is not None:
            first = "Cloud Run is creating the canary revision"
        report_console().print(
            f"rollout #{current.id}: {current.state} ({current.reason or first})"
        )
        if wait and current.state is RolloutState.CANARY:
            current = asyncio.run(_drive(profile, tools, current.id)) or current
        if current.state in ENDS_BADLY:
            raise typer.Exit(1)


def _print_checklist(checklist: Checklist) -> None:
    console = report_console()
    commit = checklist.commit
    console.print(
        f"[bold]deploy {checklist.service}[/bold] {commit.short} {escape(commit.subject)}"
    )
    console.print(
        f"  replaces {checklist.stable_revision} (runs {checklist.deployed or 'no label'}); "
        f"ships {escape(checklist.ships)}"
    )
    for change in checklist.schema_changes:
        console.print(f"  [yellow]schema change[/yellow] {escape(change)}")


async def _drive(profile: Profile, tools: DeployTools, rollout_id: int) -> RolloutView | None:
    """Drive the rollout here until it ends, or until an analysis passes and approval is awaited."""
    from commands.deploy.driver import Tick, TickResult, drive
    from commands.deploy.verdict import Verdict

    console = report_console()

    async def said(result: TickResult) -> bool:
        if result.outcome is not None:
            analysis = result.outcome.analysis
            console.print(
                f"  analysis: {analysis.verdict.value}"
                + "".join(f"\n    - {escape(r)}" for r in analysis.reasons)
            )
        if result.tick is Tick.CREATING:
            waited = (tools.clock() - (result.rollout.step_started_at or tools.clock())).seconds
            console.print(f"  creating revision {result.rollout.canary_revision}… {waited} s")
        if result.tick is Tick.STARTED:
            console.print(f"  canary at {profile.deploy.steps[0]}%")
        if result.tick in (Tick.ROLLED_BACK, Tick.EXPIRED, Tick.COMPLETED, Tick.FAILED):
            reason = escape(result.rollout.reason or "")
            console.print(f"rollout #{rollout_id}: {result.rollout.state}: {reason}")
            return False
        if result.outcome is not None and result.outcome.analysis.verdict is Verdict.PASS:
            console.print(f"rollout #{rollout_id}: passing; an approver promotes it in Slack")
            return False
        return True

    return await drive(profile, tools, rollout_id, said, raise_errors=True)
