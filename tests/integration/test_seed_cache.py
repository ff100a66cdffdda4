"""The demo season is deterministic, and a warm start reuses the cached seed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from sandbox.demo_repo import PLATFORM_HISTORY
from sandbox.demo_tables import TABLES, build_database, cached_database
from sandbox.git_history import write_history
from sandbox.platform import Sandbox
from tests.gitcli import git_out


def fingerprint(path: Path) -> dict[str, tuple[int, str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        prints = {}
        for name in TABLES:
            row = con.execute(
                f"SELECT COUNT(*), md5(string_agg(t::VARCHAR, '|' ORDER BY t::VARCHAR)) FROM {name} t"
            ).fetchone()
            assert row is not None
            prints[name] = (int(row[0]), str(row[1]))
        return prints
    finally:
        con.close()


def test_a_second_start_uses_the_cache(sandbox: Any) -> None:
    with Sandbox() as again:
        assert again.startup is not None and again.startup.seeded_now is False


def test_generation_is_deterministic(sandbox: Any, tmp_path: Path) -> None:
    cached, _ = cached_database()
    rebuilt = tmp_path / "rebuilt.duckdb"
    build_database(rebuilt)
    assert fingerprint(rebuilt) == fingerprint(cached)


def test_the_demo_repo_is_the_same_history_wherever_it_is_built(tmp_path: Path) -> None:
    heads = []
    for place in ("one", "two"):
        write_history(tmp_path / place, PLATFORM_HISTORY)
        heads.append(git_out(tmp_path / place, "rev-parse", "main"))
    assert heads[0] == heads[1]
    count = git_out(tmp_path / "one", "rev-list", "--count", "main")
    assert int(count) == PLATFORM_HISTORY.commits + len(PLATFORM_HISTORY.pinned) + 1
