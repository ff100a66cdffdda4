"""The README's quickstart stays true: two command lines, and CI runs the test line verbatim."""

from __future__ import annotations

import re

from commands.doctor import roles_table
from tests.conftest import ROOT


def quickstart_lines() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the quickstart has a bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_quickstart_has_exactly_two_command_lines() -> None:
    lines = quickstart_lines()
    assert len(lines) == 2
    assert lines[0].endswith(".venv/bin/opsbot sandbox")
    assert "pytest" in lines[1]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert quickstart_lines()[1] in ci


def test_the_readme_lists_the_roles_opsbot_doctor_checks() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    indented = "\n".join("   " + line for line in roles_table().splitlines())
    assert indented in readme
