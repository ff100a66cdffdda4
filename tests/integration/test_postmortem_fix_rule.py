"""A postmortem names a fix for its failing check by the rule /health's likely causes use
(commands/fix_names.py): the check's words as whole words of the description, not inside other
words ("pipeline" is not "line") nor in a conventional commit's scope.

On a clone of the demo monorepo, two fixes land on phase 4's sources during the 2026-01-28
Vegas-line incident that do not name vegas_line_coverage; its postmortem still names only
3f18b34b "restore Vegas line coverage".
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from commands.postmortem.build import Subject, build_draft
from commands.postmortem.tools import PostmortemTools
from opsbot.platform import sandbox_deploy_tools, sandbox_platforms
from opsbot.postmortem import postmortem_tools
from opsbot.profile import load_profile
from sandbox.demo_repo import platform_repo
from sandbox.platform import Sandbox
from store.database import Database
from store.location import sqlite_url
from store.rollouts import Store

ROOT = Path(__file__).resolve().parents[2]
PROFILE = load_profile(ROOT / "opsbot.toml")
NOT_FOR_THE_CHECK = (  # each says a check word only inside a word, or only in its scope
    ("fix(phase4): pipeline cleanup in the feature builder", "2026-01-29T18:00:00+00:00"),
    ("fix(coverage): tidy the builder's logging", "2026-01-30T18:00:00+00:00"),
)


def _git(where: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(["git", *args], cwd=where, env=env, check=True, capture_output=True)


def _land(repo: Path, number: int, subject: str, when: str) -> None:
    """A commit on main touching phase 4's sources, dated `when`."""
    path = repo / "data_processors/precompute" / f"tidy_{number}.py"
    path.write_text("TIDY = True\n")
    env = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "PATH": "/usr/bin:/bin"}
    _git(repo, "add", str(path.relative_to(repo)))
    _git(repo, "-c", "user.name=Ravi", "-c", "user.email=ravi@example.com", "commit",
         "--quiet", "-m", subject, env=env)  # fmt: skip


@pytest.fixture
def tools(tmp_path: Path) -> Iterator[PostmortemTools]:
    """A sandbox on a clone of the demo monorepo (commits land without touching the shared
    cache), with the two fixes that do not name the check on its main."""
    repo = tmp_path / "platform"
    cached, _ = platform_repo()
    _git(tmp_path, "clone", "--quiet", "--local", str(cached), str(repo))
    for number, (subject, when) in enumerate(NOT_FOR_THE_CHECK):
        _land(repo, number, subject, when)
    with Sandbox(repo=repo) as platform:
        database = Database.open(sqlite_url(tmp_path / "opsbot.db"))
        try:
            deploy = sandbox_deploy_tools(PROFILE, platform, Store(database, platform.clock))
            yield postmortem_tools(deploy, sandbox_platforms(PROFILE, platform))
        finally:
            database.close()


def test_a_fix_that_names_the_check_only_inside_a_word_or_its_scope_is_not_its_fix(
    tools: PostmortemTools,
) -> None:
    draft = build_draft(tools, Subject("date", "2026-01-28"))
    assert draft is not None
    fixes = [c for c in draft.causes if c.startswith("the fix ")]
    assert len(fixes) == 1 and "“fix(phase4): restore Vegas line coverage" in fixes[0]
    said = " ".join(draft.causes + [e.text for e in draft.timeline])
    assert "pipeline cleanup" not in said and "tidy the builder" not in said
