"""Commit labels resolve through git however long they are, and ambiguity is said, not guessed."""

from __future__ import annotations

from collections import defaultdict

import pytest

from adapters.git import AmbiguousCommit, GitRepo
from sandbox.platform import Sandbox
from tests.gitcli import git_out


def objects_by_prefix(repo: GitRepo) -> dict[str, list[tuple[str, str]]]:
    listing = git_out(
        repo.path, "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)"
    )
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for line in listing.splitlines():
        sha, kind = line.split()
        found[sha[:4]].append((sha, kind))
    return found


@pytest.fixture(scope="module")
def repo(sandbox: Sandbox) -> GitRepo:
    assert sandbox.repo_path is not None
    return GitRepo.open(sandbox.repo_path)


def test_any_length_and_case_of_a_sha_resolves_to_the_same_commit(repo: GitRepo) -> None:
    main = repo.main()
    for text in (main.sha[:7], main.sha[:8], main.sha, main.sha[:12].upper()):
        assert repo.resolve(text) == main


def test_a_prefix_two_commits_share_is_ambiguous(repo: GitRepo) -> None:
    shared = next(
        p for p, objs in objects_by_prefix(repo).items() if sum(k == "commit" for _, k in objs) >= 2
    )
    with pytest.raises(AmbiguousCommit, match="give more digits"):
        repo.resolve(shared)


def test_a_prefix_shared_with_trees_or_blobs_still_names_its_commit(repo: GitRepo) -> None:
    prefix, objs = next(
        (p, objs)
        for p, objs in objects_by_prefix(repo).items()
        if sum(k == "commit" for _, k in objs) == 1 and len(objs) > 1
    )
    commit = next(sha for sha, kind in objs if kind == "commit")
    resolved = repo.resolve(prefix)
    assert resolved is not None and resolved.sha == commit


def test_text_that_is_not_a_sha_never_reaches_git(repo: GitRepo) -> None:
    for text in ("main", "HEAD~1", "--all", "abc", "3f18b34b; rm -rf /"):
        assert repo.resolve(text) is None
