"""`opsbot deploy`: the checklist; with --yes the canary starts; with --wait it is driven here."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer

from cli.layout import print_command, print_wrapped
from cli.options import AsOption, ConfigOption, SandboxOption, announce, who
from cli.state import opened_store
from cli.terminal import report_console
from commands.errors import RequestError
from commands.postmortem.people import named
from commands.requests import select_services
from config import Profile, resolve_profile_path
from infra.wording import said, short_sha
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
            print_command(
                report_console(),
                f"opsbot deploy {service} --yes --as YOUR_SLACK_ID",
                label="start the canary with:",
            )
            return
        current = start(profile, tools, checklist, actor)
        first = f"canary at {profile.deploy.steps[0]}%"
        if current.operation is not None:
            first = "Cloud Run is creating the canary revision"
        print_wrapped(
            report_console(),
            f"rollout #{current.id}: {said(current.state)} "
            f"({named(current.reason, profile.slack.people) if current.reason else first})",
            hanging="  ",
        )
        if wait and current.state is RolloutState.CANARY:
            current = asyncio.run(_drive(profile, tools, current.id)) or current
        if current.state in ENDS_BADLY:
            raise typer.Exit(1)


def _print_checklist(checklist: Checklist) -> None:
    console = report_console()
    commit = checklist.commit
    console.print(f"[bold]deploy {checklist.service}[/bold]")
    print_wrapped(
        console,
        f"commit {commit.short} {commit.subject} ({commit.author})",
        indent="  ",
        hanging="    ",
    )
    runs = short_sha(checklist.deployed) if checklist.deployed else "no label"
    lines = [
        f"replaces {checklist.stable_revision} (runs {runs})",
        f"ships {checklist.ships}",
    ]
    if checklist.setback is not None:
        lines.append(f"⚠ {checklist.setback.text(with_commit=True)}")
    lines += [f"schema change {change}" for change in checklist.schema_changes]
    for line in lines:
        print_wrapped(console, line, indent="  ", hanging="    ")


async def _drive(profile: Profile, tools: DeployTools, rollout_id: int) -> RolloutView | None:
    """Drive the rollout here until it ends, or until an analysis passes and approval is awaited."""
    from commands.deploy.driver import Tick, TickResult, drive
    from commands.deploy.verdict import Verdict, analysis_step

    console = report_console()

    async def told(result: TickResult) -> bool:
        if result.outcome is not None:
            analysis = result.outcome.analysis
            console.print(
                f"  analysis at {analysis_step(profile.deploy, analysis)}: {analysis.verdict.value}"
            )
            for because in analysis.reasons:
                print_wrapped(console, f"- {because}", indent="    ", hanging="      ")
        if result.tick is Tick.CREATING:
            waited = (tools.clock() - (result.rollout.step_started_at or tools.clock())).seconds
            console.print(f"  creating revision {result.rollout.canary_revision}… {waited} s")
        if result.tick is Tick.STARTED:
            console.print(f"  canary at {profile.deploy.steps[0]}%")
        if result.tick in (Tick.ROLLED_BACK, Tick.EXPIRED, Tick.COMPLETED, Tick.FAILED):
            ended = f"rollout #{rollout_id} {said(result.rollout.state)}"
            reason = named(result.rollout.reason or "", profile.slack.people)
            print_wrapped(console, f"{ended}: {reason}" if reason else ended, hanging="  ")
            return False
        if result.outcome is not None and result.outcome.analysis.verdict is Verdict.PASS:
            console.print(f"rollout #{rollout_id}: passing; an approver promotes it in Slack")
            return False
        return True

    return await drive(profile, tools, rollout_id, told, raise_errors=True)
