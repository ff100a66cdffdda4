"""The sandbox's traffic and fault plan: who gets how many requests, and which commit is bad.

The bad commit is main's newest commit touching nba-scrapers' sources (`scrapers`, `shared`):
a canary of it answers 12% 5xx at 900 ms p95 and logs a KeyError, so `/deploy nba-scrapers`
rolls itself back in the demo. Every other commit behaves normally, e.g. a deploy of
nba-phase4-precompute-processors ships its 202 missing commits cleanly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from adapters.git import GitRepo
from sandbox.demo_services import SOURCE_PATHS
from sandbox.traffic import HEALTHY, Behaviour

REQUESTS_PER_SECOND = 20.0
BAD_SERVICE = "nba-scrapers"
BAD = Behaviour(
    error_5xx=0.12,
    p95_ms=900.0,
    p99_ms=2400.0,
    error_log="KeyError: 'bookmaker_id' in scrapers/odds_api/normalise.py:88 (response shape changed)",
)


def rates() -> dict[str, float]:
    return dict.fromkeys(SOURCE_PATHS, REQUESTS_PER_SECOND)


def bad_commit(repo_path: Path) -> str:
    newest = GitRepo.open(repo_path).newest_touching(list(SOURCE_PATHS[BAD_SERVICE]))
    assert newest is not None, "the demo repo touches nba-scrapers"
    return newest.sha


def behaviour_of(bad_sha: str) -> Callable[[str | None], Behaviour]:
    def behaviour(commit: str | None) -> Behaviour:
        return (
            BAD
            if commit is not None and len(commit) >= 7 and bad_sha.startswith(commit)
            else HEALTHY
        )

    return behaviour


def registry(repo_path: Path) -> Callable[[str], bool]:
    """The sandbox's Artifact Registry: an image exists when its tag is a commit on main."""
    repo = GitRepo.open(repo_path)

    def exists(image: str) -> bool:
        tag = image.rsplit(":", 1)[-1]
        commit = repo.resolve(tag) if 7 <= len(tag) <= 40 else None  # tags are short SHAs
        return commit is not None and repo.on_main(commit.sha)

    return exists
