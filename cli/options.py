"""What the terminal commands share: their options, who the caller is, messages on stderr."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from commands.errors import RequestError

if TYPE_CHECKING:
    from rich.console import Console

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Profile to use (default: $OPSBOT_CONFIG, ./opsbot.toml, the shipped one)."
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object instead of a table.")
]
SandboxOption = Annotated[
    bool, typer.Option("--sandbox", help="Run against the embedded sandbox platform on loopback.")
]
AsOption = Annotated[
    str | None,
    typer.Option("--as", help="Your Slack user ID, for the role check (default: $OPSBOT_USER)."),
]
PortOption = Annotated[
    int,
    typer.Option(
        "--port", envvar="PORT", help="Port of the bot's HTTP server (Cloud Run sets $PORT)."
    ),
]


def stderr() -> Console:
    from rich.console import Console  # imported when first needed: `serve` may never need it

    return Console(stderr=True, highlight=False, soft_wrap=True)


def announce(message: str) -> None:
    """Progress for a person, on stderr, so stdout stays the report (dimmed on a terminal)."""
    if not sys.stderr.isatty():  # a log, Cloud Run: the same line, without loading rich
        print(message, file=sys.stderr, flush=True)
        return
    from rich.markup import escape

    stderr().print(f"[dim]{escape(message)}[/dim]")


def who(as_user: str | None) -> str:
    """The caller's Slack user ID, from --as or $OPSBOT_USER, for the role checks."""
    user = as_user or os.environ.get("OPSBOT_USER")
    if not user:
        raise RequestError(
            "say who you are: --as U… (your Slack user ID, which needs the deployer role)"
        )
    return user
