"""The `opsbot` command line. Exit codes: 0 OK, 1 DEGRADED, 2 CRITICAL, 3 usage, 4 config, 5 platform."""

from __future__ import annotations

import asyncio
import errno
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console

from adapters.errors import AdapterError
from adapters.git import RepoNotFound
from checks.registry import enabled_checks
from cli.deploy import deploy_command
from cli.doctor import doctor
from cli.drift_output import print_contains, print_drift
from cli.health_output import health_progress, print_report
from cli.options import ConfigOption, JsonOption, PortOption, SandboxOption, announce, stderr
from cli.postmortem import postmortem
from cli.regrade import regrade
from cli.rollback import rollback
from cli.rollouts import rollouts
from cli.schedule import schedule_app
from commands.drift import run_contains, run_drift
from commands.errors import RequestError
from commands.health import parse_game_date, run_health
from commands.platform import PlatformUnavailable
from commands.requests import parse_commit_ref, select_services
from config import ConfigError, Profile, resolve_profile_path
from opsbot import __version__
from opsbot.platform import open_platform
from opsbot.profile import load_profile

EXIT_USAGE = 3
EXIT_CONFIG = 4
EXIT_PLATFORM = 5

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
    print_drift(report, as_json=as_json)
    raise typer.Exit(report.severity.exit_code)


@app.command()
def serve(
    port: PortOption = 3000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "0.0.0.0",
    sandbox: SandboxOption = False,
    config: ConfigOption = None,
    log_format: Annotated[
        str,
        typer.Option(
            "--log-format",
            help="json: one JSON object a line (Cloud Logging); text: readable; "
            "auto: json unless stderr is a terminal.",
            click_type=click.Choice(["auto", "json", "text"]),
        ),
    ] = "auto",
) -> None:
    """Serve the Slack app: POST /slack/events and GET /healthz over HTTP.

    Reads SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET from the environment; with SLACK_APP_TOKEN set
    it connects over Socket Mode instead; OPSBOT_SLACK_API_URL points it at another Slack Web API.
    With --sandbox it serves the embedded sandbox and its Slack console, like `opsbot sandbox`;
    with --sandbox and SLACK_BOT_TOKEN plus SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN) set, it
    serves the sandbox platform to that Slack workspace instead of the console.
    Every mutation is logged at INFO beside the audit table.
    """
    from opsbot.logs import configure_logging

    configure_logging(log_format, serving=True)  # type: ignore[arg-type]
    profile_path = resolve_profile_path(config)
    profile = load_profile(profile_path)
    if sandbox and _slack_tokens_set():
        from opsbot.sandbox_serve import serve_sandbox_to_slack

        with _port_guard(port):
            serve_sandbox_to_slack(profile, host, port, announce)
        return
    if sandbox:
        _run_sandbox(
            profile, profile_path, port, port + 1, "another --port (the console takes --port + 1)"
        )
        return
    from opsbot.serve import serve_production

    with _port_guard(port):
        serve_production(profile, profile_path, host, port, announce)


def _slack_tokens_set() -> bool:
    """A Slack app's tokens in the environment: serve the sandbox to that workspace."""
    import os

    return bool(os.environ.get("SLACK_BOT_TOKEN")) and bool(
        os.environ.get("SLACK_SIGNING_SECRET") or os.environ.get("SLACK_APP_TOKEN")
    )


@app.command("sandbox")
def sandbox_command(
    port: PortOption = 3000,
    console_port: Annotated[
        int, typer.Option("--console-port", help="Port of the Slack console and emulator.")
    ] = 3001,
    config: ConfigOption = None,
) -> None:
    """Run the bot on the embedded sandbox and open a Slack-like console in your browser.

    Starts the platform's emulators (BigQuery, Cloud Run, the monorepo), a Slack emulator with a
    web console, and the bot wired to them; prints the console's URL. Ctrl-C stops everything.
    """
    from opsbot.logs import configure_logging

    configure_logging("text", serving=True)
    profile_path = resolve_profile_path(config)
    _run_sandbox(load_profile(profile_path), profile_path, port, console_port)


@contextmanager
def _port_guard(*ports: int) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise RequestError(
            f"port {' or '.join(map(str, ports))} is in use: stop what uses it or pass --port"
        ) from None


def _ensure_free(ports: list[tuple[int, str]]) -> None:
    """Each (port, what moves it) free to bind, or a RequestError naming the one taken."""
    for port, flag in ports:
        if port == 0:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                raise RequestError(
                    f"port {port} is in use: stop what uses it or pass {flag}"
                ) from None


def _run_sandbox(
    profile: Profile,
    profile_path: Path,
    port: int,
    console_port: int,
    console_flag: str = "another --console-port",
) -> None:
    from opsbot.sandbox_serve import SandboxBot, run_sandbox

    _ensure_free([(port, "another --port"), (console_port, console_flag)])

    def ready(running: SandboxBot) -> None:
        out = Console(highlight=False)
        out.print(f"opsbot sandbox: bot at {running.server.url}/slack/events")
        out.print(
            f"[bold]Open the Slack console: {running.slack.console_url}[/bold] "
            "(type /health or /drift in #orchestration-health; Ctrl-C stops)"
        )

    with _port_guard(port, console_port):
        run_sandbox(profile, profile_path, port, console_port, announce, ready)


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
        f"{path}: valid ({len(profile.services)} services, {len(enabled_checks(profile))} checks)"
    )


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"opsbot {__version__}")
        raise typer.Exit(0)


def main(argv: list[str] | None = None) -> None:
    """Entry point: map every failure to a one-line message and an exit code a scheduler can trust."""
    from opsbot.logs import configure_logging

    configure_logging("text")  # `serve` turns on structured lines and INFO for itself
    command = typer.main.get_command(app)
    err = stderr()
    try:
        code = command.main(args=argv, prog_name="opsbot", standalone_mode=False)
    except click.UsageError as exc:
        hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
        if exc.format_message():  # empty when click already printed the help for a bare command
            err.print(f"opsbot: usage error: {exc.format_message()}{hint}", markup=False)
        sys.exit(EXIT_USAGE)
    except RequestError as exc:
        err.print(f"opsbot: {exc}", markup=False)
        sys.exit(EXIT_USAGE)
    except ConfigError as exc:
        err.print(f"opsbot: config error: {exc}", markup=False)
        sys.exit(EXIT_CONFIG)
    except RepoNotFound as exc:
        err.print(f"opsbot: config error: git.path: {exc}", markup=False)
        sys.exit(EXIT_CONFIG)
    except (PlatformUnavailable, AdapterError) as exc:
        err.print(f"opsbot: {exc}", markup=False)
        sys.exit(EXIT_PLATFORM)
    except (click.Abort, KeyboardInterrupt):
        err.print("opsbot: interrupted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
