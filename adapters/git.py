"""The platform monorepo through gitpython: resolve commits, and what main has that a deploy lacks.

Every question is one git command over the whole range (rev-list, log, ls-tree, merge-base), so
a service thousands of commits behind costs what git costs, not a Python loop per commit. Once
`main()` has been read, the questions a drift report asks again and again (what a label names, is
it on main, what main has since it) are answered from the checkout's commit index
(adapters/git_index.py), which reads each commit from git once.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.errors import AdapterError
from adapters.git_index import CommitIndex, shared_index
from adapters.git_log import INDEX_FORMAT, plain_paths
from infra.wording import short_sha

if TYPE_CHECKING:
    import git
else:
    git = None  # gitpython (~30 ms to import): imported by the first GitRepo.open, not at start

_IMPORTING = threading.Lock()


def _gitpython() -> None:
    """Import gitpython once, before any GitRepo uses it (threads then share the module)."""
    global git
    with _IMPORTING:
        if git is None:
            import git as module

            git = module


SHA_LIKE = re.compile(r"^[0-9a-fA-F]{4,40}$")
_FIELD = "\x1f"
_FORMAT = _FIELD.join(("%H", "%an", "%ct", "%s"))
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


SCHEMA_CHANGE = re.compile(r"\b(ALTER\s+TABLE|ADD\s+COLUMN|DROP\s+COLUMN)\b", re.IGNORECASE)


class GitError(AdapterError):
    """The repository cannot answer; the message says which and what to do."""


class AmbiguousCommit(GitError):
    pass


class RepoNotFound(GitError):
    """git.path does not hold a checkout (a configuration error)."""


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str
    committed: datetime
    subject: str

    @property
    def short(self) -> str:
        return short_sha(self.sha)


@dataclass(frozen=True)
class Undeployed:
    """Commits on main, touching some paths, that a deployed commit does not contain."""

    count: int
    oldest_at: datetime | None
    newest: list[CommitInfo]


def _parse(line: str) -> CommitInfo:
    sha, author, stamp, subject = line.split(_FIELD, 3)
    return CommitInfo(sha, author, datetime.fromtimestamp(int(stamp), UTC), subject)


def _summarise(log_output: str, keep: int) -> Undeployed:
    """count, oldest and newest `keep` of a `git log --format=_FORMAT` listing, newest first."""
    if not log_output:
        return Undeployed(0, None, [])
    count = log_output.count("\n") + 1
    head = log_output.split("\n", keep)[:keep] if keep else []
    oldest = _parse(log_output.rsplit("\n", 1)[-1])
    return Undeployed(count, oldest.committed, [_parse(line) for line in head])


class GitRepo:
    """A checkout of the monorepo; `main` is the remote's branch when fetched, else the local one."""

    def __init__(
        self,
        repo: git.Repo,
        *,
        branch: str,
        remote: str | None,
        index: CommitIndex | None = None,
    ) -> None:
        self._repo = repo
        self._git = repo.git
        self._branch = branch
        self._remote = remote
        self._index = index
        self._indexed_main: str | None = None  # the main the index was brought to by main()

    @classmethod
    def open(
        cls, path: Path, *, branch: str = "main", remote: str | None = None, index: bool = True
    ) -> GitRepo:
        _gitpython()
        try:
            repo = git.Repo(path)
        except git.NoSuchPathError:
            raise RepoNotFound(
                f"{path}: no such directory (clone the platform repo there, or set git.path)"
            ) from None
        except git.InvalidGitRepositoryError:
            raise RepoNotFound(
                f"{path}: not a git checkout (set git.path to the platform repo)"
            ) from None
        commit_index = shared_index(Path(repo.git_dir)) if index else None
        opened = cls(repo, branch=branch, remote=remote, index=commit_index)
        try:
            opened.main()  # fail now, with a clear message, if the branch is missing
        except GitError as exc:
            raise RepoNotFound(f"{exc} (set git.branch)") from None
        return opened

    @property
    def path(self) -> Path:
        return Path(self._repo.working_tree_dir or self._repo.git_dir)

    @property
    def main_ref(self) -> str:
        if self._remote is not None:
            remote_ref = f"refs/remotes/{self._remote}/{self._branch}"
            if self._exists(remote_ref):
                return remote_ref
        return f"refs/heads/{self._branch}"

    def _exists(self, ref: str) -> bool:
        try:
            self._git.rev_parse("--verify", "--quiet", ref)
        except git.GitCommandError:
            return False
        return True

    def fetch(self, timeout_s: float) -> None:
        """Bring main up to date from the remote (bounded by `timeout_s`)."""
        if self._remote is None:
            return
        self._indexed_main = None  # main may move: the next main() brings the index along
        try:
            self._repo.remote(self._remote).fetch(self._branch, kill_after_timeout=timeout_s)
        except (ValueError, git.GitCommandError) as exc:
            detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise GitError(f"git fetch {self._remote} {self._branch} failed: {detail}") from None

    def main(self) -> CommitInfo:
        """Main's newest commit; the commit index, if any, is brought to it (only new commits)."""
        try:
            main = _parse(self._git.log("-1", f"--format={_FORMAT}", self.main_ref, "--"))
        except git.GitCommandError:
            raise GitError(f"{self.path}: branch {self._branch!r} not found") from None
        if self._index is not None:
            self._index.sync(main.sha, self)
            self._indexed_main = main.sha
        return main

    def _indexed(self) -> tuple[CommitIndex, str] | None:
        """The index and the main it answers for, once main() has brought it there."""
        if self._index is None or self._indexed_main is None:
            return None
        return self._index, self._indexed_main

    def first_parent_chain(self, include: str) -> list[str]:
        """The SHAs of `include`'s first-parent chain, newest first, down to the root."""
        return str(self._git.rev_list("--first-parent", include, "--")).split()

    def prepare_index(self) -> None:
        """Work a first report's index will need that depends on no deployed commit (call it
        beside the Cloud Run reads)."""
        indexed = self._indexed()
        if indexed is not None:
            indexed[0].list_chain_if_empty(indexed[1], self)

    def index_back_to(self, shas: Sequence[str]) -> None:
        """Have the commit index cover these (deployed) commits, in one pass over history."""
        indexed = self._indexed()
        if indexed is not None and shas:
            indexed[0].reach(shas, indexed[1], self)

    def first_parent_log(self, include: str, exclude: Sequence[str]) -> str:
        """Main's first-parent chain from `include` down to `exclude`, with each commit's files."""
        return str(
            self._git.log(
                "--first-parent",
                "--no-renames",
                "--root",
                "--name-only",
                "-z",
                f"--format={INDEX_FORMAT}",
                include,
                "--not",
                *exclude,
                "--",
            )
        )

    def resolve(self, text: str) -> CommitInfo | None:
        """The commit an abbreviated or full SHA names; None when git does not know it."""
        if not SHA_LIKE.match(text):
            return None
        indexed = self._indexed()
        if indexed is None:
            return self._resolve(text)
        index, main = indexed
        if _FULL_SHA.match(text):
            known = index.commit(text)
            if known is not None:
                return CommitInfo(*known)
            return self._resolve(text)
        labels, _ = index.caches(main)
        label = text.lower()
        if label not in labels:  # a short label: git says what it names (and if ambiguous)
            found = self._resolve(text)
            labels[label] = found.sha if found else None
            return found
        sha = labels[label]
        if sha is None:
            return None
        known = index.commit(sha)
        return CommitInfo(*known) if known else self._resolve(text)

    def _resolve(self, text: str) -> CommitInfo | None:
        try:
            # ^{commit}: a prefix shared with trees or blobs still names the one commit
            line = self._git.log(
                "-1", "--no-walk", f"--format={_FORMAT}", f"{text.lower()}^{{commit}}", "--"
            )
        except git.GitCommandError as exc:
            if "ambiguous" in str(exc.stderr):
                raise AmbiguousCommit(f"{text} is ambiguous: give more digits") from None
            return None
        return _parse(line) if line else None

    def undeployed(self, deployed: str, paths: list[str], *, keep: int) -> Undeployed:
        """Commits in deployed..main touching `paths`: how many, the oldest's time, the newest few."""
        indexed, plain = self._indexed(), plain_paths(paths)
        if indexed is not None and plain is not None:
            index, main = indexed
            position = index.locate(deployed, main, self)
            span = index.span_after(position, plain, keep) if position is not None else None
            if span is not None:
                return Undeployed(
                    span.count, span.oldest_committed, [CommitInfo(*c) for c in span.newest]
                )
        output = self._git.log(f"--format={_FORMAT}", f"{deployed}..{self.main_ref}", "--", *paths)
        return _summarise(output, keep)

    def committed_since(self, moment: datetime, paths: list[str], *, keep: int) -> Undeployed:
        """Commits on main after `moment` touching `paths` (for a revision without a commit label)."""
        output = self._git.log(
            f"--format={_FORMAT}", f"--since={int(moment.timestamp())}", self.main_ref, "--", *paths
        )
        return _summarise(output, keep)

    def count_between(self, base: str, tip: str, paths: list[str]) -> int:
        return int(self._git.rev_list("--count", f"{base}..{tip}", "--", *paths))

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Does `descendant` contain `ancestor` (git merge-base --is-ancestor)?"""
        try:
            self._git.merge_base("--is-ancestor", ancestor, descendant)
        except git.GitCommandError as exc:
            if exc.status == 1:
                return False
            raise GitError(
                f"cannot compare {short_sha(ancestor)} and {short_sha(descendant)}: "
                f"{exc.stderr.strip()}"
            ) from None
        return True

    def on_main(self, sha: str) -> bool:
        indexed = self._indexed()
        if indexed is not None and indexed[0].position(sha) is not None:
            return True
        return self.is_ancestor(sha, self.main_ref)

    def touches(self, sha: str, paths: list[str]) -> bool:
        """Does the commit itself change anything under `paths`?"""
        changed = self._git.diff_tree(
            "--no-commit-id", "--name-only", "-r", "--root", sha, "--", *paths
        )
        return bool(changed.strip())

    def newest_touching(self, paths: list[str], tip: str | None = None) -> CommitInfo | None:
        """The newest commit up to `tip` (default: main) that changes anything under `paths`:
        on main, what a deploy ships; at a revision's commit, the service's last change in it."""
        line = self._git.log("-1", f"--format={_FORMAT}", tip or self.main_ref, "--", *paths)
        return _parse(line) if line else None

    def commits_between(self, base: str, tip: str, paths: list[str], *, keep: int) -> Undeployed:
        """Commits in base..tip touching `paths`: how many, and the newest `keep` of them."""
        output = self._git.log(f"--format={_FORMAT}", f"{base}..{tip}", "--", *paths)
        return _summarise(output, keep)

    def schema_changes(self, base: str, tip: str, paths: list[str]) -> list[str]:
        """Added lines in base..tip under `paths` that alter a table: `file: line`, in order."""
        if not paths:
            return []
        diff = self._git.diff("--unified=0", "--no-color", f"{base}..{tip}", "--", *paths)
        found: list[str] = []
        current = ""
        for line in diff.splitlines():
            if line.startswith("+++ b/"):
                current = line.removeprefix("+++ b/")
            elif line.startswith("+") and not line.startswith("+++") and SCHEMA_CHANGE.search(line):
                found.append(f"{current}: {line[1:].strip()}")
        return found

    def missing_paths(self, paths: list[str]) -> list[str]:
        """The paths that do not exist on main (one ls-tree for all of them)."""
        unique = sorted(set(paths))
        if not unique:
            return []
        indexed = self._indexed()
        if indexed is None:
            return self._missing_paths(unique)
        _, missing = indexed[0].caches(indexed[1])
        key = tuple(unique)
        if key not in missing:
            missing[key] = self._missing_paths(unique)
        return list(missing[key])

    def _missing_paths(self, unique: list[str]) -> list[str]:
        listed = self._git.ls_tree("--name-only", self.main_ref, "--", *unique)
        present = set(listed.splitlines())
        return [path for path in unique if path not in present]
