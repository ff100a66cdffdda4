"""The commit index answers drift's questions exactly as git does, and reads each commit once.

Random histories (with and without merges), random deployed commits and pathspecs: every answer
through the index is compared with git's own (`GitRepo.open(..., index=False)`).
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from adapters.git import GitRepo

AREAS = ["services/a", "services/b", "services/ab", "shared", "docs", "services/a-x"]
PATHSPECS = [
    ["services/a"],
    ["services/a/", "shared"],
    ["services/ab"],
    ["services/a-x", "docs"],
    ["shared/lib.py"],
    ["."],
    ["services/*"],  # a wildcard: git answers it
    ["nothing/here"],
]


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, input=stdin, capture_output=True, text=True, check=True
    ).stdout


def build_history(repo: Path, seed: int, commits: int, merges: bool) -> None:
    """A monorepo of `commits` commits by git fast-import; with `merges`, some side branches."""
    rng = random.Random(seed)
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    lines: list[str] = []
    mark, stamp = 0, 1_700_000_000
    tip: int | None = None
    side: int | None = None

    def commit(branch: str, parents: list[int], files: list[str], message: str) -> int:
        nonlocal mark, stamp
        mark += 1
        stamp += rng.randint(60, 3600)
        lines.extend(
            [
                f"commit refs/heads/{branch}",
                f"mark :{mark}",
                f"author Dev{rng.randint(1, 4)} <d@x> {stamp} +0000",
                f"committer Dev <d@x> {stamp} +0000",
                f"data {len(message)}",
                message,
            ]
        )
        if parents:
            lines.append(f"from :{parents[0]}")
            lines.extend(f"merge :{p}" for p in parents[1:])
        for name in files:
            body = f"{name} {mark}\n"
            lines.extend([f"M 100644 inline {name}", f"data {len(body)}", body.rstrip("\n")])
        return mark

    for n in range(commits):
        files = [f"{rng.choice(AREAS)}/{rng.choice(['x.py', 'lib.py', 'sub/y.py'])}"]
        if rng.random() < 0.1:
            files.append(f"{rng.choice(AREAS)}/z.sql")
        if n % 7 == 3 and rng.random() < 0.05:
            files = []  # an empty commit touches nothing
        if merges and tip is not None and rng.random() < 0.15:
            side = commit("side", [side or tip], files, f"side {n}")
            continue
        if merges and side is not None and rng.random() < 0.3:
            tip = commit("main", [tip, side] if tip else [side], [], f"merge {n}")
            side = None
            continue
        tip = commit("main", [tip] if tip else [], files, f"feat {n} touches {files}")
    stream = "\n".join(lines) + "\n"
    git(repo, "fast-import", "--quiet", stdin=stream)
    git(repo, "checkout", "-q", "main")


def main_commits(repo: Path) -> list[str]:
    return git(repo, "rev-list", "main").split()


@pytest.mark.parametrize(("seed", "merges"), [(1, False), (2, False), (3, True), (4, True)])
def test_the_index_answers_as_git_for_random_histories(
    tmp_path: Path, seed: int, merges: bool
) -> None:
    repo = tmp_path / "repo"
    build_history(repo, seed, 300, merges)
    indexed = GitRepo.open(repo)
    plain = GitRepo.open(repo, index=False)
    assert indexed.main() == plain.main()
    rng = random.Random(seed)
    branch_only = git(repo, "rev-list", "--all", "--not", "main").split()  # never merged
    shas = main_commits(repo) + branch_only
    for deployed in [*rng.sample(shas, 25), shas[-1], shas[0]]:
        assert indexed.on_main(deployed) == plain.on_main(deployed), deployed
        for label in (deployed, deployed[:8]):
            assert indexed.resolve(label) == plain.resolve(label)
        for paths in PATHSPECS:
            assert indexed.undeployed(deployed, paths, keep=3) == plain.undeployed(
                deployed, paths, keep=3
            ), (deployed, paths)
    assert indexed.missing_paths(["shared", "nothing/here"]) == ["nothing/here"]
    assert (repo / ".git" / "opsbot" / "commit-index.sqlite3").is_file()


class CountingRepo(GitRepo):
    """A GitRepo that records which stretches of history the index asked git for."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.asked: list[tuple[str, tuple[str, ...]]] = []

    def first_parent_log(self, include: str, exclude: Sequence[str]) -> str:
        self.asked.append((include, tuple(exclude)))
        return super().first_parent_log(include, exclude)


def counting(repo: Path) -> CountingRepo:
    opened = CountingRepo.open(repo)
    assert isinstance(opened, CountingRepo)
    return opened


def test_a_warm_index_reads_only_the_commits_new_since_the_last_report(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    build_history(repo, 7, 200, merges=False)
    history = main_commits(repo)
    deployed = history[150]  # 150 commits behind
    first = counting(repo)
    first.main()
    before = first.undeployed(deployed, ["services/a"], keep=2)
    assert first.asked  # the first report indexed main back to the deployed commit

    again = counting(repo)  # a later report, nothing new: git is not asked for history
    again.main()
    assert again.undeployed(deployed, ["services/a"], keep=2) == before
    assert again.asked == []

    (repo / "services" / "a").mkdir(parents=True, exist_ok=True)
    (repo / "services/a/new.py").write_text("new\n")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=N", "-c", "user.email=n@x", "commit", "-qm", "new work")
    newest = git(repo, "rev-parse", "HEAD").strip()
    later = counting(repo)
    later.main()
    assert later.asked == [(newest, (history[0],))]  # only the new commit was read
    grown = later.undeployed(deployed, ["services/a"], keep=2)
    assert grown.count == before.count + 1 and grown.newest[0].sha == newest


def test_a_rewritten_main_is_indexed_afresh(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    build_history(repo, 9, 120, merges=False)
    history = main_commits(repo)
    first = GitRepo.open(repo)
    first.main()
    first.undeployed(history[100], ["shared"], keep=1)
    git(repo, "reset", "-q", "--hard", history[30])  # a force-push took 30 commits away
    (repo / "shared").mkdir(exist_ok=True)
    (repo / "shared/other.py").write_text("other\n")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=N", "-c", "user.email=n@x", "commit", "-qm", "rewritten")
    indexed, plain = GitRepo.open(repo), GitRepo.open(repo, index=False)
    indexed.main()
    for deployed in (history[100], history[29], history[31]):
        assert indexed.on_main(deployed) == plain.on_main(deployed)
        assert indexed.undeployed(deployed, ["shared"], keep=3) == plain.undeployed(
            deployed, ["shared"], keep=3
        )
