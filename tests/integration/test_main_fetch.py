"""A serving bot's main: fetched in the background, at most every interval, one fetch at a time,
on a real clone of a real remote."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.git import CommitInfo, GitRepo
from checks.drift_model import DriftReport, Severity
from commands.main_fetch import MainFetcher
from tests.gitcli import git_out

IDENTITY = ("-c", "user.name=Dev", "-c", "user.email=dev@example.com")
T0 = datetime(2026, 2, 5, 18, tzinfo=UTC)


def _commit(repo: Path, name: str) -> None:
    (repo / f"{name}.py").write_text(f"NAME = {name!r}\n")
    git_out(repo, *IDENTITY, "add", f"{name}.py")
    git_out(repo, *IDENTITY, "commit", "-q", "-m", name)


def test_main_is_fetched_apart_from_the_reports_once_per_interval(tmp_path: Path) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    git_out(origin, "init", "-q", "-b", "main")
    _commit(origin, "first")
    clone = tmp_path / "clone"
    git_out(tmp_path, "clone", "-q", str(origin), str(clone))
    _commit(origin, "second")
    checkout = GitRepo.open(clone, branch="main", remote="origin")
    now = [0.0]
    started: list[Callable[[], None]] = []
    fetcher = MainFetcher(
        lambda: checkout.fetch(timeout_s=30),
        60.0,
        monotonic=lambda: now[0],
        wall=lambda: T0 + timedelta(seconds=now[0]),
        spawn=started.append,
    )

    assert fetcher.fresh_as_of() is None  # a report reads main as it is; a fetch starts
    assert fetcher.fresh_as_of() is None and len(started) == 1  # one at a time
    assert checkout.main().subject == "first"
    started.pop()()
    assert checkout.main().subject == "second" and fetcher.fetched_at == T0

    _commit(origin, "third")
    now[0] = 30.0
    assert fetcher.fresh_as_of() == T0 and started == []  # within the interval: no fetch
    assert checkout.main().subject == "second"
    now[0] = 61.0
    fetcher.fresh_as_of()
    started.pop()()
    assert checkout.main().subject == "third" and fetcher.fetched_at == T0 + timedelta(seconds=61)

    git_out(clone, "remote", "set-url", "origin", str(tmp_path / "gone"))  # the remote is away
    now[0] = 130.0
    fetcher.fresh_as_of()
    started.pop()()
    assert fetcher.last_error and "git fetch origin main failed" in fetcher.last_error
    assert fetcher.fetched_at == T0 + timedelta(seconds=61)  # main as it was, said as it is
    now[0] = 191.0
    fetcher.fresh_as_of()
    assert len(started) == 1  # tried again at the next interval


def test_the_report_says_how_fresh_main_is() -> None:
    commit = CommitInfo("a" * 40, "Dev", T0 - timedelta(hours=1), "fix")

    def report(fetched: datetime | None, background: bool) -> DriftReport:
        return DriftReport(commit, T0, Severity.OK, [], 0.1, fetched, background)

    assert report(None, False).freshness == ""  # a terminal command fetched before it read
    assert report(None, True).freshness.startswith("main not fetched since the bot started")
    assert report(T0 - timedelta(seconds=42), True).freshness == "main fetched 42 s ago"
    assert report(T0 - timedelta(minutes=5), True).freshness == "main fetched 5m ago"
