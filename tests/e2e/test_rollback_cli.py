"""`opsbot rollback` and `opsbot rollouts` from a terminal, as a subprocess with exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_health_cli import opsbot


def test_rollback_without_a_revision_lists_the_choices() -> None:
    done = opsbot("rollback", "nba-grading-service", "--sandbox")
    assert done.returncode == 0, done.stderr
    assert "nba-grading-service-00083-499" in done.stdout and "90%" in done.stdout
    assert "refactor(grading): cache the schedule lookup" in done.stdout


def test_rollback_moves_all_traffic_for_a_deployer_and_is_verified() -> None:
    done = opsbot(
        "rollback",
        "nba-grading-service",
        "--to",
        "nba-grading-service-00083-499",
        "--sandbox",
        "--yes",
        "--as",
        "U0SAMDEPLY",
    )
    assert done.returncode == 0, done.stderr
    assert (
        "nba-grading-service: 100% of traffic on nba-grading-service-00083-499, verified"
        in done.stdout
    )


def test_rollback_is_refused_without_the_role_without_a_name_or_without_confirmation() -> None:
    target = (
        "rollback",
        "nba-grading-service",
        "--to",
        "nba-grading-service-00083-499",
        "--sandbox",
    )
    assert "deployer role" in opsbot(*target, "--yes", "--as", "U0DANAONCL").stderr
    assert "say who you are: --as U" in opsbot(*target, "--yes").stderr
    unconfirmed = opsbot(*target, "--as", "U0SAMDEPLY")  # no terminal to ask on
    assert unconfirmed.returncode == 3 and "confirm with --yes" in unconfirmed.stderr


def test_rollouts_reads_the_store_named_by_database_url(tmp_path: Path) -> None:
    done = opsbot("rollouts", "--json", env={"DATABASE_URL": f"sqlite:///{tmp_path}/opsbot.db"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"rollouts": []}
    assert (tmp_path / "opsbot.db").is_file()  # created and migrated on first use


def test_deploy_prints_the_checklist_and_changes_nothing_without_yes() -> None:
    done = opsbot("deploy", "nba-phase4-precompute-processors", "--sandbox")
    assert done.returncode == 0, done.stderr
    assert "ships 202 commits" in done.stdout
    assert "start the canary with:\nopsbot deploy nba-phase4-precompute-processors --yes" in (
        done.stdout
    )


def test_a_service_whose_revision_has_no_label_is_told_as_unknown_never_as_zero_commits() -> None:
    done = opsbot("deploy", "nba-scrapers", "--sandbox")
    assert done.returncode == 0, done.stderr
    words = " ".join(done.stdout.split())  # rich wraps long lines
    assert "ships unknown: nba-scrapers-00055-368 runs an unknown commit" in words
    assert "no commit-sha label" in words and "ships 0" not in words


def test_deploying_the_bad_commit_with_wait_rolls_back_and_exits_1() -> None:
    done = opsbot("deploy", "nba-scrapers", "--sandbox", "--yes", "--as", "U0SAMDEPLY", "--wait")
    assert done.returncode == 1, done.stderr
    words = " ".join(done.stdout.split())
    assert "rolled back: 2 failing analyses in a row: 5xx" in words  # words, not `rolled_back`
    assert "rolled_back" not in done.stdout and "analysis at 10%: fail" in words
