"""Deterministic git histories, written with `git fast-import` (thousands of commits per second).

The same spec always gives the same commit SHAs: authors, times and contents come from a seeded
generator, so the sandbox's docs and tests can name commits.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

AUTHORS = (
    ("Maya Chen", "maya@nba-props.dev"),
    ("Luis Ortega", "luis@nba-props.dev"),
    ("Priya Raman", "priya@nba-props.dev"),
    ("Sam Okafor", "sam@nba-props.dev"),
    ("Jonas Weber", "jonas@nba-props.dev"),
    ("Ava Brooks", "ava@nba-props.dev"),
)
VERBS = ("fix", "feat", "refactor", "perf", "test", "chore")
TOPICS = (
    "handle postponed games",
    "retry transient BigQuery errors",
    "log the correlation id",
    "tighten input validation",
    "cache the schedule lookup",
    "skip voided props",
    "batch inserts by game date",
    "clearer error on missing partition",
    "timezone-safe game dates",
    "drop the unused column",
    "faster player lookup",
    "guard against empty slates",
)
FILES = ("main.py", "config.py", "handlers.py", "utils.py")


@dataclass(frozen=True)
class Area:
    """A directory of the repository and how often commits touch it (relative weight)."""

    path: str
    weight: float
    label: str
    files: tuple[str, ...] = FILES


@dataclass(frozen=True)
class PinnedCommit:
    """A commit at a fixed time with a fixed subject: a documented event of the history."""

    at: datetime
    path: str
    subject: str
    author: int = 0


@dataclass(frozen=True)
class HistorySpec:
    areas: tuple[Area, ...]
    start: datetime
    end: datetime
    commits: int
    seed: int
    pinned: tuple[PinnedCommit, ...] = ()
    ramp: float = 1.0  # < 1 puts more commits towards the end (a busier team lately)
    extra_files: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        """Changes with the spec and with this generator's code (a stale cache is rebuilt)."""
        generator = Path(__file__).read_bytes()
        return hashlib.sha256(repr(self).encode() + generator).hexdigest()[:16]


@dataclass(frozen=True)
class _Commit:
    at: datetime
    author: int
    subject: str
    path: str


def _planned(spec: HistorySpec) -> list[_Commit]:
    rng = random.Random(spec.seed)
    weights = [area.weight for area in spec.areas]
    positions = sorted(rng.random() ** spec.ramp for _ in range(spec.commits))
    commits = []
    for position in positions:
        area = rng.choices(spec.areas, weights)[0]
        verb, topic = rng.choice(VERBS), rng.choice(TOPICS)
        commits.append(
            _Commit(
                at=spec.start + (spec.end - spec.start) * position,
                author=rng.randrange(len(AUTHORS)),
                subject=f"{verb}({area.label}): {topic}",
                path=f"{area.path}/{rng.choice(area.files)}",
            )
        )
    commits.extend(_Commit(p.at, p.author, p.subject, p.path) for p in spec.pinned)
    return sorted(commits, key=lambda c: c.at)


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def _stream(spec: HistorySpec) -> Iterator[bytes]:
    """The fast-import stream: an initial layout commit, then one commit per planned change."""
    versions: dict[str, int] = {}
    initial = [f"{area.path}/{name}" for area in spec.areas for name in area.files]
    initial += list(spec.extra_files)
    commits = _planned(spec)
    first_at = min(spec.start, commits[0].at) if commits else spec.start
    changes = [(_Commit(first_at, 0, "chore: repository layout", ""), initial)]
    changes += [(commit, [commit.path]) for commit in commits]
    for mark, (commit, paths) in enumerate(changes, start=1):
        name, email = AUTHORS[commit.author % len(AUTHORS)]
        stamp = f"{int(commit.at.timestamp())} +0000"
        yield b"commit refs/heads/main\n"
        yield b"mark :%d\n" % mark
        yield f"author {name} <{email}> {stamp}\n".encode()
        yield f"committer {name} <{email}> {stamp}\n".encode()
        yield _data(commit.subject)
        if mark > 1:
            yield b"from :%d\n" % (mark - 1)
        for path in paths:
            versions[path] = versions.get(path, 0) + 1
            yield f"M 100644 inline {path}\n".encode()
            yield _data(f"# {path}\nVERSION = {versions[path]}\n")
        yield b"\n"


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> None:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
    subprocess.run(["git", *args], cwd=cwd, input=stdin, check=True, capture_output=True, env=env)


def write_history(path: Path, spec: HistorySpec) -> None:
    """A new repository at `path` (which must not exist) holding the spec's history on main."""
    path.mkdir(parents=True)
    _git(path, "init", "-q", "-b", "main")
    _git(path, "fast-import", "--quiet", "--done", stdin=b"".join(_stream(spec)) + b"done\n")
    _git(path, "reset", "-q", "--hard", "main")
    _git(path, "commit-graph", "write", "--reachable")


def cached_history(cache_dir: Path, name: str, spec: HistorySpec) -> tuple[Path, bool]:
    """The spec's repository from the cache, built there first if needed; (path, built now)."""
    target = cache_dir / f"{name}-{spec.fingerprint()}"
    if (target / ".git").is_dir():
        return target, False
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_dir))
    try:
        write_history(staging / "repo", spec)
        try:
            (staging / "repo").rename(target)
        except OSError:  # another process built it first
            if not (target / ".git").is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, True
