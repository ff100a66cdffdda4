"""Every Slack listener keeps the one skeleton: short module-level functions, `register` wiring."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.views.messages import USAGE
from tests.conftest import ROOT

LISTENERS = sorted((ROOT / "bot" / "listeners").glob("*.py"))
LONGEST = 60


def _functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


@pytest.mark.parametrize("path", LISTENERS, ids=lambda p: p.name)
def test_no_listener_function_is_longer_than_sixty_lines(path: Path) -> None:
    long = [
        f"{f.name}: {f.end_lineno - f.lineno + 1} lines"
        for f in _functions(path)
        if f.end_lineno is not None and f.end_lineno - f.lineno + 1 > LONGEST
    ]
    assert long == []


@pytest.mark.parametrize("path", LISTENERS, ids=lambda p: p.name)
def test_register_only_wires_module_level_listeners(path: Path) -> None:
    """No listener is a closure inside `register`: each can be imported and tested alone."""
    for function in _functions(path):
        if function.name != "register":
            continue
        inner = [
            n.name
            for n in ast.walk(function)
            if isinstance(n, ast.AsyncFunctionDef) and n is not function
        ]
        assert inner == [], f"listeners defined inside register: {inner}"


def test_every_slash_command_has_a_usage_text() -> None:
    """`/x help` and every bad argument answer with the command's usage (a KeyError was a 500)."""
    from bot.app import SLASH_COMMANDS

    assert sorted(SLASH_COMMANDS) == sorted(USAGE)
