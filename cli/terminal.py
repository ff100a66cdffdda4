"""Terminal output shared by the commands: JSON for machines, a console sized for logs."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console


def emit_json(data: dict[str, Any] | list[Any]) -> None:
    """Pretty on a terminal, one plain line elsewhere (pipes, schedulers)."""
    text = json.dumps(data)
    if sys.stdout.isatty():
        Console().print_json(text)
    else:
        print(text)


def report_console() -> Console:
    """Stdout sized for reports: the terminal's width, $COLUMNS when set, else 160 in pipes."""
    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = 160  # logs and pipes: wide enough that a table does not crumble
    return console
