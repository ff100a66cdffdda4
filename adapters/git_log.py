"""What the commit index reads from git: main's first-parent chain, each commit with its files.

`git log --first-parent --name-only -z --format=INDEX_FORMAT` lists, newest first, each commit's
SHA, parents, author, commit time and subject, then the files it changes against its first
parent (all of them for the root commit). Pathspecs are matched as git matches plain paths.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

_RECORD = "\x1e"
_FIELD = "\x1f"
INDEX_FORMAT = _RECORD + _FIELD.join(("%H", "%P", "%an", "%ct", "%s"))
_WILDCARDS = frozenset("*?[")


@dataclass(frozen=True)
class IndexedCommit:
    sha: str
    first_parent: str | None
    parents: int
    author: str
    committed: int
    subject: str
    files: tuple[str, ...]


def parse_log(output: str) -> list[IndexedCommit]:
    """`git log -z --name-only --format=INDEX_FORMAT` output, newest first."""
    commits: list[IndexedCommit] = []
    for record in output.split(_RECORD)[1:]:
        header, *names = record.split("\0")
        sha, parents, author, stamp, subject = header.split(_FIELD, 4)
        parent_list = parents.split()
        files = tuple(name.lstrip("\n") for name in names if name.strip("\n"))
        commits.append(
            IndexedCommit(
                sha,
                parent_list[0] if parent_list else None,
                len(parent_list),
                author,
                int(stamp),
                subject,
                files,
            )
        )
    return commits


def plain_paths(paths: Iterable[str]) -> list[str] | None:
    """Pathspecs as literal prefixes ("" for everything); None when one needs git's matching."""
    plain: list[str] = []
    for path in paths:
        if path.startswith(":") or _WILDCARDS & set(path):
            return None
        cleaned = path.removeprefix("./").rstrip("/")
        plain.append("" if cleaned == "." else cleaned)
    return plain
