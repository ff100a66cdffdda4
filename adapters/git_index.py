"""An index of main's commits and the files each one changes, so drift does not re-walk history.

Commits are immutable, so what a commit changes is learnt once and kept in an SQLite file in the
checkout's git directory (`<git dir>/opsbot/commit-index.sqlite3`). The index holds one unbroken
stretch of main's first-parent chain; it grows forward when main moves (only the new commits are
read) and backward when a deployed commit is older than its oldest entry.

It answers only where its answer is git's answer: `deployed..main -- paths` over a stretch
without merges (every commit is then on the chain, and "touches a path" is its diff against its
parent). For a range with merges, a commit off the chain, or a pathspec with wildcards the caller
asks git itself.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from adapters.git_log import IndexedCommit, parse_log

SCHEMA_VERSION = "1"
READ_PARTS = 4  # git processes reading a long stretch of history at once

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commits (
    pos INTEGER PRIMARY KEY,
    sha TEXT NOT NULL UNIQUE,
    first_parent TEXT,
    parents INTEGER NOT NULL,
    author TEXT NOT NULL,
    committed INTEGER NOT NULL,
    subject TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS merges ON commits (pos) WHERE parents > 1;
CREATE TABLE IF NOT EXISTS changes (
    path TEXT NOT NULL,
    pos INTEGER NOT NULL,
    PRIMARY KEY (path, pos)
) WITHOUT ROWID;
"""


class _NotAChain(Exception):
    """A stretch of history git listed is not the part of the chain it was asked for."""


class GitRunner(Protocol):
    """The git questions the index asks (GitRepo answers them)."""

    def first_parent_log(self, include: str, exclude: Sequence[str]) -> str: ...

    def first_parent_chain(self, include: str) -> list[str]: ...

    def is_ancestor(self, ancestor: str, descendant: str) -> bool: ...


@dataclass(frozen=True)
class Span:
    """Commits after a position touching some paths: how many, the oldest's time, the newest."""

    count: int
    oldest_committed: datetime | None
    newest: list[tuple[str, str, datetime, str]]  # sha, author, committed, subject


class CommitIndex:
    """One checkout's index; thread-safe, and safe to share between processes (SQLite locks)."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        target = ":memory:" if path is None else str(path)
        # autocommit: transactions are explicit (BEGIN IMMEDIATE in _write)
        self._db = sqlite3.connect(
            target, timeout=30, check_same_thread=False, isolation_level=None
        )
        if path is not None:  # a cache: rebuilt if lost, so a commit need not wait for the disk
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)
        with self._write():
            if self._meta("version") != SCHEMA_VERSION:
                self._clear()
                self._set_meta("version", SCHEMA_VERSION)
        # answers that hold while main stays where it is: short labels, paths present on main
        self._labels: dict[str, str | None] = {}
        self._missing: dict[tuple[str, ...], list[str]] = {}
        self._cached_for: str | None = None
        self._chain_lock = threading.Lock()
        self._listed: tuple[str, list[str]] | None = None  # the last chain listed (SHAs)

    # -- storage -------------------------------------------------------------------------------

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _clear(self) -> None:
        self._db.execute("DELETE FROM commits")
        self._db.execute("DELETE FROM changes")
        self._db.execute("DELETE FROM meta WHERE key <> 'version'")

    def _ends(self) -> tuple[tuple[int, str, str | None], tuple[int, str]] | None:
        """(oldest pos, sha, first parent) and (newest pos, sha), or None when empty."""
        base = self._db.execute(
            "SELECT pos, sha, first_parent FROM commits ORDER BY pos LIMIT 1"
        ).fetchone()
        if base is None:
            return None
        tip = self._db.execute("SELECT pos, sha FROM commits ORDER BY pos DESC LIMIT 1").fetchone()
        return (int(base[0]), str(base[1]), base[2]), (int(tip[0]), str(tip[1]))

    def _store(self, commits: list[IndexedCommit], newest_pos: int) -> None:
        """`commits` newest first, the newest at `newest_pos`, each next one pos - 1."""
        rows = [
            (newest_pos - i, c.sha, c.first_parent, c.parents, c.author, c.committed, c.subject)
            for i, c in reversed(list(enumerate(commits)))
        ]  # oldest first: appended in key order, SQLite's fast path
        self._db.executemany("INSERT INTO commits VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        changes = sorted(
            {(name, newest_pos - i) for i, c in enumerate(commits) for name in c.files}
        )
        self._db.executemany("INSERT OR IGNORE INTO changes VALUES (?, ?)", changes)

    def _position(self, sha: str) -> int | None:
        row = self._db.execute("SELECT pos FROM commits WHERE sha = ?", (sha,)).fetchone()
        return None if row is None else int(row[0])

    # -- keeping up with main ------------------------------------------------------------------

    def sync(self, main: str, git: GitRunner) -> None:
        """Bring the newest end to `main`: read only the commits new since the last time."""
        with self._lock, self._write():
            ends = self._ends()
            if ends is None or ends[1][1] == main:
                return
            tip_pos, tip = ends[1]
            if git.is_ancestor(tip, main):
                new = parse_log(git.first_parent_log(main, [tip]))
                if new and new[-1].first_parent == tip:
                    self._store(new, tip_pos + len(new))
                    return
            self._clear()  # main was rewritten, or reached the old tip through a merge

    def locate(self, sha: str, main: str, git: GitRunner) -> int | None:
        """`sha`'s position on main's first-parent chain, indexing back to it when needed; None
        when it is not on that chain."""
        with self._lock:
            found = self._position(sha)
            if found is not None:
                return found
            with self._write():
                found = self._position(sha)
                if found is not None:
                    return found
                ends = self._ends()
                if ends is None:
                    include, newest_pos = main, 0
                else:
                    (base_pos, base, base_parent), _ = ends
                    if base_parent is None or not git.is_ancestor(sha, base):
                        return None
                    include, newest_pos = base_parent, base_pos - 1
                older = parse_log(git.first_parent_log(include, [f"{sha}^@"]))
                self._store(older, newest_pos)
                return self._position(sha)

    def reach(self, shas: Sequence[str], main: str, git: GitRunner) -> None:
        """Index back to the oldest of `shas` on main's first-parent chain, in one pass.

        Deployed commits found one at a time would each cost a walk of their own; here the chain
        is listed once (SHAs only), the oldest one needed is found in it, and the files of the
        commits down to it are read in READ_PARTS stretches by parallel git processes.
        """
        with self._lock:
            missing = {sha for sha in shas if self._position(sha) is None}
            if not missing:
                return
            ends = self._ends()
            include, top = (main, 0) if ends is None else (ends[0][2], ends[0][0] - 1)
            if include is None:  # indexed back to the root already
                return
            chain = self._chain(include, git)
            depth = max((i for i, sha in enumerate(chain) if sha in missing), default=None)
            if depth is None:  # none of them on the chain: git answers for those
                return
            parts = _stretches(depth + 1, READ_PARTS)

            def read(part: tuple[int, int]) -> list[IndexedCommit]:
                start, stop = part
                exclude = [chain[stop]] if stop < len(chain) else []
                return parse_log(git.first_parent_log(chain[start], exclude))

            try:
                with ThreadPoolExecutor(max_workers=len(parts)) as pool, self._write():
                    reading = {pool.submit(read, part): part for part in parts}
                    if self._ends() != ends:  # another process indexed meanwhile: keep its work
                        return
                    for done in as_completed(reading):  # stored while the others are read
                        start, stop = reading[done]
                        commits = done.result()
                        if [c.sha for c in commits] != chain[start:stop]:
                            raise _NotAChain  # rolled back: locate() walks it instead
                        self._store(commits, top - start)
            except _NotAChain:
                return

    def _chain(self, include: str, git: GitRunner) -> list[str]:
        with self._chain_lock:
            if self._listed is None or self._listed[0] != include:
                self._listed = (include, git.first_parent_chain(include))
            return self._listed[1]

    def list_chain_if_empty(self, main: str, git: GitRunner) -> None:
        """List main's chain now (while Cloud Run is read) when a first report will need it."""
        with self._lock:
            empty = self._ends() is None
        if empty:
            self._chain(main, git)

    def _write(self) -> _WriteTransaction:
        return _WriteTransaction(self._db)

    # -- questions -----------------------------------------------------------------------------

    def position(self, sha: str) -> int | None:
        """Where `sha` is in the index (on main's first-parent chain), without reading git."""
        with self._lock:
            return self._position(sha)

    def caches(self, main: str) -> tuple[dict[str, str | None], dict[tuple[str, ...], list[str]]]:
        """What short labels name and which paths main lacks, as of `main` (emptied when main
        moves): git answers each once."""
        with self._lock:
            if self._cached_for != main:
                self._labels, self._missing, self._cached_for = {}, {}, main
            return self._labels, self._missing

    def commit(self, sha: str) -> tuple[str, str, datetime, str] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT sha, author, committed, subject FROM commits WHERE sha = ?", (sha,)
            ).fetchone()
        return None if row is None else _info(row)

    def span_after(self, position: int, paths: list[str], keep: int) -> Span | None:
        """Commits after `position` to the tip touching `paths`; None when a merge is among them
        (git's answer then includes the merged branches, which the chain does not hold)."""
        # the statement is built from the fixed fragments below only; every value is a parameter
        matches = " UNION ".join(
            "SELECT pos FROM changes WHERE pos > ? AND path = ? "
            "UNION SELECT pos FROM changes WHERE pos > ? AND path > ? AND path < ?"
            if path
            else "SELECT DISTINCT pos FROM changes WHERE pos > ?"
            for path in paths
        )
        params: list[object] = []
        for path in paths:
            params += [position, path, position, path + "/", path + "0"] if path else [position]
        with self._lock:
            merge = self._db.execute(
                "SELECT 1 FROM commits WHERE parents > 1 AND pos > ? LIMIT 1", (position,)
            ).fetchone()
            if merge is not None:
                return None
            if not paths:
                return Span(0, None, [])
            count, oldest = self._db.execute(
                f"SELECT COUNT(*), MIN(pos) FROM ({matches})",  # noqa: S608
                params,
            ).fetchone()
            newest_sql = (
                "SELECT sha, author, committed, subject FROM commits WHERE pos IN "  # noqa: S608
                f"(SELECT pos FROM ({matches}) ORDER BY pos DESC LIMIT ?) ORDER BY pos DESC"
            )
            newest = self._db.execute(
                newest_sql,
                [*params, keep],
            ).fetchall()
            oldest_at = None
            if oldest is not None:
                stamp = self._db.execute(
                    "SELECT committed FROM commits WHERE pos = ?", (oldest,)
                ).fetchone()[0]
                oldest_at = datetime.fromtimestamp(int(stamp), UTC)
        return Span(int(count), oldest_at, [_info(row) for row in newest])

    def close(self) -> None:
        self._db.close()


def _stretches(length: int, parts: int) -> list[tuple[int, int]]:
    """[start, stop) ranges splitting range(length) into at most `parts` (none empty)."""
    size = -(-length // parts)
    return [(start, min(start + size, length)) for start in range(0, length, size)]


def _info(row: Sequence[object]) -> tuple[str, str, datetime, str]:
    sha, author, committed, subject = row
    return str(sha), str(author), datetime.fromtimestamp(int(str(committed)), UTC), str(subject)


class _WriteTransaction:
    """BEGIN IMMEDIATE ... COMMIT: one writer at a time across processes; rolled back on error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


_SHARED: dict[str, CommitIndex] = {}
_SHARED_LOCK = threading.Lock()
_SHARED_MAX = 16


def shared_index(git_dir: Path) -> CommitIndex:
    """The process's index of one checkout (opened once; kept on disk when the git directory is
    writable, else in memory). Only the newest few checkouts stay registered; one dropped from the
    registry lives on while a GitRepo still uses it."""
    key = str(git_dir.resolve())
    with _SHARED_LOCK:
        index = _SHARED.pop(key, None)
        if index is None:
            index = _open(git_dir / "opsbot" / "commit-index.sqlite3")
        _SHARED[key] = index  # newest last
        while len(_SHARED) > _SHARED_MAX:
            del _SHARED[next(iter(_SHARED))]
        return index


def drop_shared(git_dir: Path, *, delete: bool = False) -> None:
    """Forget the process's index of a checkout (the next use opens it from disk again); with
    `delete`, remove its file too, so that the next report builds it afresh (benchmarks)."""
    key = str(git_dir.resolve())
    with _SHARED_LOCK:
        index = _SHARED.pop(key, None)
    if index is not None:
        index.close()
    if delete:
        (git_dir / "opsbot" / "commit-index.sqlite3").unlink(missing_ok=True)


def _open(path: Path) -> CommitIndex:
    try:
        path.parent.mkdir(exist_ok=True)
        return CommitIndex(path)
    except (OSError, sqlite3.Error):
        return CommitIndex(None)
