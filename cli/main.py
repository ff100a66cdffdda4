"""The `opsbot` command line. Exit codes: 0 OK, 1 DEGRADED, 2 CRITICAL, 3 usage, 4 config, 5 platform."""

from __future__ import annotations

import sys

import click
import typer

from adapters.errors import AdapterError
from adapters.git import RepoNotFound
from cli.options import stderr
from commands.errors import RequestError
from commands.platform import PlatformUnavailable
from config import ConfigError

EXIT_USAGE = 3
EXIT_CONFIG = 4
EXIT_PLATFORM = 5


def _say(line: str) -> None:
    stderr().print(line, markup=False)


def _command_for(args: list[str]) -> tuple[click.Command, list[str], str]:
    """`serve` loads only what serving needs (a cold start's first ack waits on it); every other
    command loads the whole command line. Each is (command, its arguments, its name)."""
    if args[:1] == ["serve"]:
        from cli.serve import serve_app

        return typer.main.get_command(serve_app), args[1:], "opsbot serve"
    from cli.app import app

    return typer.main.get_command(app), args, "opsbot"


def main(argv: list[str] | None = None) -> None:
    """Entry point: map every failure to a one-line message and an exit code a scheduler can trust."""
    from opsbot.logs import configure_logging

    configure_logging("text")  # `serve` turns on structured lines and INFO for itself
    command, args, name = _command_for(list(sys.argv[1:] if argv is None else argv))
    try:
        code = command.main(args=args, prog_name=name, standalone_mode=False)
    except click.UsageError as exc:
        hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
        if exc.format_message():  # empty when click already printed the help for a bare command
            _say(f"opsbot: usage error: {exc.format_message()}{hint}")
        sys.exit(EXIT_USAGE)
    except RequestError as exc:
        _say(f"opsbot: {exc}")
        sys.exit(EXIT_USAGE)
    except ConfigError as exc:
        _say(f"opsbot: config error: {exc}")
        sys.exit(EXIT_CONFIG)
    except RepoNotFound as exc:
        _say(f"opsbot: config error: git.path: {exc}")
        sys.exit(EXIT_CONFIG)
    except (PlatformUnavailable, AdapterError) as exc:
        _say(f"opsbot: {exc}")
        sys.exit(EXIT_PLATFORM)
    except (click.Abort, KeyboardInterrupt):
        _say("opsbot: interrupted")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
