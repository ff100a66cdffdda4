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


def test_the_running_doc_lists_the_roles_opsbot_doctor_checks() -> None:
    readme = (ROOT / "docs" / "running.md").read_text(encoding="utf-8")
    indented = "\n".join("   " + line for line in roles_table().splitlines())
    assert indented in readme


def test_every_link_in_the_docs_points_inside_the_repository_and_exists() -> None:
    """No doc sends a reader outside the repository (../shared, …) or to a file that is gone."""
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        assert "../shared" not in text and "shared/" not in text.replace("git-shared/", ""), doc
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if "://" in target:
                continue
            assert (doc.parent / target).resolve().exists(), f"{doc.name}: {target}"
