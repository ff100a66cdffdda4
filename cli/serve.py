"""`opsbot serve` and `opsbot sandbox`: the Slack app on the real platform or on the sandbox.

`opsbot serve` is loaded alone (cli/main.py): a cold start on Cloud Run reaches its first ack
without importing the rest of the command line.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import click
import typer

from cli.options import ConfigOption, PortOption, SandboxOption, announce
from commands.errors import RequestError
from config import Profile, resolve_profile_path
from opsbot.profile import load_profile

serve_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@serve_app.command()
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


def _in_use(exc: OSError, ports: str, flag: str) -> RequestError:
    """What to say when binding failed because the port is taken (anything else is raised)."""
    if exc.errno != errno.EADDRINUSE:
        raise exc
    return RequestError(f"port {ports} is in use: stop what uses it or pass {flag}")


@contextmanager
def _port_guard(*ports: int) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise _in_use(exc, " or ".join(map(str, ports)), "--port") from None


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
                raise _in_use(exc, str(port), flag) from None


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
        from rich.console import Console

        out = Console(highlight=False)
        out.print(f"opsbot sandbox: bot at {running.server.url}/slack/events")
        out.print(
            f"[bold]Open the Slack console: {running.slack.console_url}[/bold] "
            "(type /health or /drift in #orchestration-health; Ctrl-C stops)"
        )

    with _port_guard(port, console_port):
        run_sandbox(profile, profile_path, port, console_port, announce, ready)
