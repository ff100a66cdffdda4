"""The `opsbot` command line. Exit codes: 0 OK, 1 DEGRADED, 2 CRITICAL, 3 usage, 4 config, 5 platform."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console

from opsbot import __version__
from opsbot.adapters.bigquery import BigQueryWarehouse
from opsbot.adapters.warehouse import Warehouse
from opsbot.bot.health_output import health_progress, print_report
from opsbot.commands.errors import RequestError
from opsbot.commands.health import parse_game_date, run_health
from opsbot.config import ConfigError, Profile, load_profile, resolve_profile_path

EXIT_USAGE = 3
EXIT_CONFIG = 4
EXIT_PLATFORM = 5

app = typer.Typer(
    name="opsbot",
    help="Operations of the NBA props platform: health now; drift, deploy and rollback to come.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="The platform profile (opsbot.toml).", no_args_is_help=True)
app.add_typer(config_app, name="config")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Profile to use (default: $OPSBOT_CONFIG, ./opsbot.toml, the shipped one)."
    ),
]
SandboxOption = Annotated[
    bool, typer.Option("--sandbox", help="Run against the embedded sandbox platform on loopback.")
]


class PlatformUnavailable(Exception):
    """The platform cannot be reached (credentials, network); the message says what to do."""


def _stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextmanager
def platform(profile: Profile, use_sandbox: bool) -> Iterator[tuple[Warehouse, datetime]]:
    """The warehouse and the clock: the real platform, or the sandbox started for this command."""
    if not use_sandbox:
        from google.auth.exceptions import DefaultCredentialsError

        try:
            warehouse = BigQueryWarehouse.from_profile(profile)
        except DefaultCredentialsError:
            raise PlatformUnavailable(
                "no Google credentials: run `gcloud auth application-default login`, or try --sandbox"
            ) from None
        yield warehouse, datetime.now(UTC)
        return
    try:
        from opsbot.sandbox.platform import Sandbox
    except ImportError as exc:
        raise PlatformUnavailable(
            f"the sandbox needs its extra: pip install 'opsbot[sandbox]' ({exc.name} is missing)"
        ) from None
    with Sandbox() as sandbox:
        assert sandbox.startup is not None
        how = "seeded the demo season" if sandbox.startup.seeded_now else "from the seed cache"
        _stderr().print(
            f"[dim]sandbox: BigQuery emulator at {sandbox.bigquery_url}; "
            f"clock {sandbox.now:%Y-%m-%d %H:%M} UTC; "
            f"started in {sandbox.startup.seconds:.2f}s ({how})[/dim]"
        )
        yield BigQueryWarehouse.from_profile(profile, endpoint=sandbox.bigquery_url), sandbox.now


@app.command()
def health(
    date: Annotated[
        str | None,
        typer.Option("--date", help="Judge the platform as of this game day (YYYY-MM-DD, ET)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
    sandbox: SandboxOption = False,
    config: ConfigOption = None,
) -> None:
    """Run the health checks and print the scored report. Exit 0 OK, 1 DEGRADED, 2 CRITICAL."""
    profile = load_profile(config)
    as_of = parse_game_date(date) if date is not None else None
    with platform(profile, sandbox) as (warehouse, now), health_progress(profile) as on_result:
        report = asyncio.run(
            run_health(profile, warehouse, now=now, as_of=as_of, on_result=on_result)
        )
    print_report(report, as_json=as_json)
    raise typer.Exit(report.status.exit_code)


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Validate the profile and print it with every default filled in."""
    path = resolve_profile_path(config)
    profile = load_profile(config)
    typer.echo(profile.model_dump_json(indent=2))
    _stderr().print(
        f"{path}: valid ({len(profile.services)} services, {len(profile.health.checks)} checks)"
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
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("google.auth").setLevel(logging.ERROR)  # we say what to do ourselves
    command = typer.main.get_command(app)
    err = _stderr()
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
    except PlatformUnavailable as exc:
        err.print(f"opsbot: {exc}", markup=False)
        sys.exit(EXIT_PLATFORM)
    except (click.Abort, KeyboardInterrupt):
        err.print("opsbot: interrupted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
