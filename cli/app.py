"""The `opsbot` command line's commands (cli/main.py runs them, mapping failures to exit codes)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from checks.registry import enabled_checks
from cli.deploy import deploy_command
from cli.doctor import doctor
from cli.drift_output import print_contains, print_drift
from cli.health_output import health_progress, print_report
from cli.options import ConfigOption, JsonOption, SandboxOption, announce, stderr
from cli.postmortem import postmortem
from cli.regrade import regrade
from cli.rollback import rollback
from cli.rollouts import rollouts
from cli.schedule import schedule_app
from cli.serve import sandbox_command, serve
from cli.state import remembering_store
from commands.drift import deploy_advice, needs_deploy, run_contains, run_drift
from commands.health import parse_game_date, run_health
from commands.requests import parse_commit_ref, select_services
from config import resolve_profile_path
from infra.wording import plural
from opsbot import __version__
from opsbot.platform import open_platform
from opsbot.profile import load_profile

app = typer.Typer(
    name="opsbot",
    help="Operations of the NBA props platform: health and drift, in the terminal and in Slack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="The platform profile (opsbot.toml).", no_args_is_help=True)
app.add_typer(config_app, name="config")


@app.command()
def health(
    date: Annotated[
        str | None,
        typer.Option("--date", help="Judge the platform as of this game day (YYYY-MM-DD, ET)."),
    ] = None,
    as_json: JsonOption = False,
    sandbox: SandboxOption = False,
    config: ConfigOption = None,
) -> None:
    """Run the health checks and print the scored report. Exit 0 OK, 1 DEGRADED, 2 CRITICAL."""
    profile_path = resolve_profile_path(config)
    profile = load_profile(profile_path)
    as_of = parse_game_date(date) if date is not None else None
    with (
        open_platform(
            profile, profile_path, sandbox=sandbox, announce=announce, reads_only=True
        ) as platform,
        health_progress(profile) as on_result,
    ):
        report = asyncio.run(
            run_health(
                profile,
                platform.warehouse,
                now=platform.now,
                as_of=as_of,
                on_result=on_result,
                drift_sources=platform.drift_sources,
            )
        )
    print_report(report, as_json=as_json)
    raise typer.Exit(report.status.exit_code)


@app.command()
def drift(
    services: Annotated[
        list[str] | None,
        typer.Argument(
            help="Services to check (default: every service in the profile).", show_default=False
        ),
    ] = None,
    contains: Annotated[
        str | None,
        typer.Option("--contains", metavar="SHA", help="Which services already run this commit?"),
    ] = None,
    as_json: JsonOption = False,
    sandbox: SandboxOption = False,
    config: ConfigOption = None,
) -> None:
    """Per service: the commit it runs and the commits on main touching its sources that it lacks.

    SERVICES: the services to check (default: every service in the profile).

    Exit 0 no drift (or only younger than the warning age), 1 WARN, 2 CRITICAL. With --contains:
    0 when every service the commit touches runs it, 1 when some do not yet.
    """
    profile_path = resolve_profile_path(config)
    profile = load_profile(profile_path)
    names = list(dict.fromkeys(services or []))  # a service named twice is one service
    select_services(profile, names)  # bad input is a usage error before anything starts
    if contains is not None:
        parse_commit_ref(contains)
    with open_platform(
        profile, profile_path, sandbox=sandbox, announce=announce, reads_only=True
    ) as platform:
        sources = platform.drift_sources()
        if contains is not None:
            found = run_contains(profile, sources, contains, names)
            print_contains(found, as_json=as_json)
            raise typer.Exit(found.exit_code)
        report = run_drift(profile, sources, names, platform.now)
        advice = {}
        if not as_json and any(needs_deploy(s) for s in report.services):
            with remembering_store(
                profile, profile_path, sandbox, platform.clock, platform.store_url
            ) as store:
                advice = deploy_advice(profile, sources, report, store)
    print_drift(report, as_json=as_json, advice=advice)
    raise typer.Exit(report.severity.exit_code)


app.command("serve")(serve)
app.command("sandbox")(sandbox_command)
app.command("deploy")(deploy_command)
app.command("doctor")(doctor)
app.command("postmortem")(postmortem)
app.command("regrade")(regrade)
app.add_typer(schedule_app, name="schedule")
app.command("rollback")(rollback)
app.command("rollouts")(rollouts)


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Validate the profile and print it with every default filled in."""
    path = resolve_profile_path(config)
    profile = load_profile(config)
    typer.echo(profile.model_dump_json(indent=2))
    stderr().print(
        f"{path}: valid ({plural(len(profile.services), 'service')}, "
        f"{plural(len(enabled_checks(profile)), 'check')})"
    )


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"opsbot {__version__}")
        raise typer.Exit(0)
