"""Drift as on-call reads it, on real git repositories and the real Cloud Run client."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from adapters.cloudrun import CloudRun
from adapters.cloudrun_model import CloudRunError
from adapters.git import GitError, GitRepo
from checks.drift_model import Basis, DriftSources, FindingKind, ServiceDrift, Severity
from commands.drift import run_contains, run_drift
from commands.errors import RequestError
from config import Profile
from tests.gitcli import git_out
from tests.integration.drift_world import NOW, World, profile, world

HOUR = timedelta(hours=1)
HISTORY = [
    ("services/alpha/main.py", "alpha v1", NOW - 30 * HOUR),
    ("services/beta/main.py", "beta v1", NOW - 29 * HOUR),
    ("services/beta/main.py", "beta only change", NOW - 5 * HOUR),
    ("shared/utils.py", "shared change", NOW - 4 * HOUR),
    ("docs/runbook.md", "docs change", NOW - 3 * HOUR),
]


def service(report_services: list[ServiceDrift], name: str) -> ServiceDrift:
    return next(s for s in report_services if s.service == name)


def kinds(drift: ServiceDrift) -> set[FindingKind]:
    return {f.kind for f in drift.findings}


def run(w: World, p: Profile | None = None) -> list[ServiceDrift]:
    return run_drift(p or profile(), w.sources, [], NOW).services


def test_short_and_full_sha_labels_give_the_same_answer(tmp_path: Path) -> None:
    with world(tmp_path, HISTORY) as w:
        full = w.sha["alpha v1"]
        w.deploy("alpha", (full[:7], 100))
        w.deploy("beta", (full, 100))
        p = Profile.model_validate(
            profile().model_dump()
            | {
                "services": [
                    {"name": "alpha", "source_paths": ["services/alpha", "shared"]},
                    {"name": "beta", "source_paths": ["services/alpha", "shared"]},
                ]
            }
        )
        alpha, beta = run(w, p)
    assert alpha.revisions[0].commit == beta.revisions[0].commit
    assert alpha.revisions[0].commit is not None and alpha.revisions[0].commit.sha == full
    assert alpha.revisions[0].undeployed.count == beta.revisions[0].undeployed.count == 1
    assert alpha.severity is beta.severity is Severity.WARN  # the shared change is 4 h old


def test_a_commit_touching_only_another_services_paths_is_not_drift(tmp_path: Path) -> None:
    history = HISTORY[:3]  # ends with "beta only change"
    with world(tmp_path, history) as w:
        w.deploy("alpha", (w.sha["beta v1"], 100))
        w.deploy("beta", (w.sha["beta v1"], 100))
        alpha, beta = run(w)
    assert alpha.severity is Severity.OK and alpha.commits_behind == 0
    assert beta.commits_behind == 1
    assert [c.subject for c in beta.revisions[0].undeployed.newest] == ["beta only change"]


def test_a_shared_commit_is_drift_for_every_service(tmp_path: Path) -> None:
    with world(tmp_path, HISTORY) as w:
        w.deploy("alpha", (w.sha["beta only change"], 100))
        w.deploy("beta", (w.sha["beta only change"], 100))
        alpha, beta = run(w)
    for drift in (alpha, beta):
        assert [c.subject for c in drift.revisions[0].undeployed.newest] == ["shared change"]
        assert drift.severity is Severity.WARN  # 4 h old: past the 2 h grace


def test_young_commits_are_info_and_many_commits_are_critical(tmp_path: Path) -> None:
    with world(tmp_path, HISTORY) as w:
        w.deploy("alpha", (w.sha["beta only change"], 100))
        w.deploy("beta", (w.sha["beta v1"], 100))
        lenient = run(w, profile(warn_age_hours=6, critical_age_hours=48, critical_commits=2))
        strict = run(w, profile(critical_commits=2))
    assert service(lenient, "alpha").severity is Severity.INFO  # 1 commit, 4 h < 6 h
    assert service(lenient, "beta").severity is Severity.CRITICAL  # 2 commits = critical_commits
    assert service(strict, "alpha").severity is Severity.WARN


def test_a_configured_source_path_missing_from_the_repo_is_reported(tmp_path: Path) -> None:
    with world(tmp_path, HISTORY) as w:
        w.deploy("alpha", (w.sha["docs change"], 100))
        w.deploy("beta", (w.sha["docs change"], 100))
        p = Profile.model_validate(
            profile().model_dump()
            | {
                "services": [
                    {"name": "alpha", "source_paths": ["services/alpha", "services/gone"]},
                    {"name": "beta", "source_paths": ["services/beta", "shared"]},
                ]
            }
        )
        alpha, beta = run(w, p)
    assert kinds(alpha) == {FindingKind.MISSING_SOURCE_PATH}
    assert "services/gone" in alpha.findings[0].message
    assert alpha.severity is Severity.WARN
    assert not beta.findings and beta.severity is Severity.OK


def test_an_unresolvable_label_is_reported_and_judged_by_time(tmp_path: Path) -> None:
    with world(tmp_path, HISTORY) as w:
        w.deploy("alpha", ("deadbeef", 100), created=NOW - 4.5 * HOUR)
        w.deploy("beta", (None, 100), created=NOW - 4.5 * HOUR)
        alpha, beta = run(w)
    assert kinds(alpha) == {FindingKind.UNKNOWN_COMMIT}
    assert "deadbeef" in alpha.findings[0].message
    assert kinds(beta) == {FindingKind.NO_COMMIT_LABEL}
    for drift in (alpha, beta):
        revision = drift.revisions[0]
        assert revision.basis is Basis.TIME
        assert revision.undeployed.count == 1  # the shared change, newer than the revision


def test_a_split_left_behind_is_a_finding_and_each_revision_is_judged(tmp_path: Path) -> None:
    with world(tmp_path, HISTORY) as w:
        w.deploy("alpha", (w.sha["alpha v1"], 90), (w.sha["docs change"], 10))
        w.deploy("beta", (w.sha["docs change"], 100))
        alpha = run(w)[0]
    assert kinds(alpha) == {FindingKind.TRAFFIC_SPLIT}
    assert [(r.percent, r.undeployed.count) for r in alpha.revisions] == [(90, 1), (10, 0)]


def test_a_service_missing_from_cloud_run_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    with world(tmp_path, HISTORY) as w:
        w.deploy("alpha", (w.sha["docs change"], 100))
        alpha, beta = run(w)
    assert alpha.severity is Severity.OK
    assert kinds(beta) == {FindingKind.SERVICE_NOT_FOUND} and not beta.revisions


def test_contains_lists_where_a_commit_is_live_and_how_far_the_rest_are(tmp_path: Path) -> None:
    with world(tmp_path, HISTORY) as w:
        w.deploy("alpha", (w.sha["docs change"], 100))
        w.deploy("beta", (w.sha["beta v1"], 100))
        found = run_contains(profile(), w.sources, w.sha["shared change"][:8], [])
        beta_only = run_contains(profile(), w.sources, w.sha["beta only change"], [])
    assert [e.service for e in found.live] == ["alpha"]
    assert [(e.service, e.commits_to_reach, e.relevant) for e in found.missing] == [
        ("beta", 2, True)
    ]
    assert found.exit_code == 1
    assert [e.service for e in beta_only.live] == ["alpha"]  # alpha runs a later commit
    assert beta_only.missing[0].service == "beta" and beta_only.exit_code == 1


def test_contains_refuses_an_unknown_or_malformed_commit(tmp_path: Path) -> None:
    with world(tmp_path, HISTORY) as w:
        for bad in ("0000000000", "not-a-sha", "--all"):
            with pytest.raises(RequestError):
                run_contains(profile(), w.sources, bad, [])


def test_an_unknown_service_name_lists_the_known_ones(tmp_path: Path) -> None:
    with world(tmp_path, HISTORY) as w, pytest.raises(RequestError, match="known: alpha, beta"):
        run_drift(profile(), w.sources, ["gamma"], NOW)


def test_main_is_read_from_the_remote_after_a_fetch(tmp_path: Path) -> None:
    with world(tmp_path, HISTORY) as w:
        origin = w.repo.path
        clone = tmp_path / "clone"
        git_out(tmp_path, "clone", "-q", str(origin), str(clone))
        (origin / "shared" / "late.py").write_text("LATE = True\n")
        identity = ("-c", "user.name=Dev", "-c", "user.email=dev@example.com")
        git_out(origin, *identity, "add", "shared/late.py")
        git_out(origin, *identity, "commit", "-q", "-m", "late fix")
        checkout = GitRepo.open(clone, branch="main", remote="origin")
        assert checkout.main().subject == "docs change"
        checkout.fetch(timeout_s=30)
        assert checkout.main().subject == "late fix"
        gone = GitRepo.open(clone, branch="main", remote="upstream")
        with pytest.raises(GitError, match="git fetch upstream main failed"):
            gone.fetch(timeout_s=30)


def test_cloud_run_unreachable_for_every_service_is_an_error_not_a_report(tmp_path: Path) -> None:
    with world(tmp_path, HISTORY) as w:
        dead = CloudRun.connect(
            project="nba-props-platform",
            region="us-west2",
            timeout_s=2,
            endpoint="http://127.0.0.1:9",
        )
        with pytest.raises(CloudRunError, match="cannot reach Cloud Run"):
            run_drift(profile(), DriftSources(dead, w.repo), [], NOW)
