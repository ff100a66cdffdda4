"""`opsbot regrade` from a terminal: the plan, the backfill, --wait, JSON and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_health_cli import opsbot

RANGE = ("2026-01-28", "2026-02-03")


def test_the_plan_alone_changes_nothing_and_says_how_to_start() -> None:
    done = opsbot("regrade", *RANGE, "--sandbox")
    assert done.returncode == 0, done.stderr
    assert "7 of 7 dates to regrade" in done.stdout and "an estimate" in done.stdout
    assert "start it with --yes --as YOUR_SLACK_ID" in done.stdout


def test_a_backfill_waited_on_grades_every_date_and_prints_one_json_object() -> None:
    done = opsbot("regrade", *RANGE, "--sandbox", "--yes", "--as", "U0DANAONCL", "--wait", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert isinstance(report["backfill"], int) and report["estimate_bytes"] > 0
    assert [d["state"] for d in report["dates"]] == ["done"] * 7
    first = report["dates"][0]
    assert set(first) == {"date", "action", "reason", "state", "graded_count", "mae"}
    assert first["graded_count"] > 0 and first["mae"] > 0


def test_a_failed_date_exits_1_and_a_refusal_exits_3(tmp_path: Path) -> None:
    plan = tmp_path / "faults.toml"
    plan.write_text('[cloud_run]\noperation_s = 0\n[regrade]\nfail_dates = ["2026-01-30"]\n')
    failed = opsbot(
        "regrade",
        *RANGE,
        "--sandbox",
        "--yes",
        "--as",
        "U0DANAONCL",
        "--wait",
        env={"OPSBOT_SANDBOX_FAULTS": str(plan)},
    )
    assert failed.returncode == 1, failed.stderr
    assert "failed" in failed.stdout and "fault plan" in failed.stdout
    stranger = opsbot("regrade", *RANGE, "--sandbox", "--yes", "--as", "U0NOBODY01")
    assert stranger.returncode == 3 and "regrader role" in stranger.stderr
    future = opsbot("regrade", "2026-02-04", "2026-02-09", "--sandbox")
    assert future.returncode == 3 and "has not been played" in future.stderr
