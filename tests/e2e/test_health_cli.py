"""`opsbot health` as a scheduler runs it: a subprocess, its output and its exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT


def opsbot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsbot", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        # reports are as wide as $COLUMNS says (160 without it): fix it, whatever set it before
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_human_report_is_a_table_with_a_summary_and_the_exit_code_of_the_status() -> None:
    done = opsbot("health", "--sandbox")
    assert done.returncode == 2, done.stderr
    for name in (
        "vegas_line_coverage",
        "grading_completeness",
        "phase3_completion",
        "recent_predictions",
        "bdb_coverage",
        "deployment_drift",
    ):
        assert name in done.stdout
    assert "CRITICAL · score 66.7 (4/6 applicable checks passed)" in done.stdout
    assert "gcloud pubsub topics publish nba-grading-trigger" in done.stdout
    assert "sandbox: BigQuery http://127.0.0.1:" in done.stderr


def test_json_report_shape() -> None:
    done = opsbot("health", "--sandbox", "--json", "--date", "2026-01-08")
    assert done.returncode == 1, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["as_of"] == "2026-01-08"
    assert report["status"] == "DEGRADED"
    assert report["score"] == 80.0  # drift is judged now, so N/A for a past day
    assert isinstance(report["duration_s"], float)
    checks = {c["name"]: c for c in report["checks"]}
    assert set(checks) == {
        "vegas_line_coverage",
        "grading_completeness",
        "phase3_completion",
        "recent_predictions",
        "bdb_coverage",
        "deployment_drift",
    }
    recent = checks["recent_predictions"]
    assert recent["status"] == "WARN" and recent["value"] == 29.8  # % of the 208 expected
    for check in checks.values():
        assert {
            "name",
            "status",
            "value",
            "threshold",
            "baseline",
            "window",
            "detail",
            "action",
        } <= set(check)
    assert checks["vegas_line_coverage"]["window"]["end"] == "2026-01-08"


def test_a_healthy_day_exits_zero() -> None:
    done = opsbot("health", "--sandbox", "--date", "2025-12-05", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "OK"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("health", "--sandbox", "--date", "2026-02-30"),
            "bad date '2026-02-30': expected YYYY-MM-DD",
        ),
        (("health", "--sandbox", "--date", "2026-03-01"), "is in the future"),
        (("health", "--sandbox", "--colour"), "No such option"),
        (("health", "--sandbox", "extra"), "unexpected extra argument"),
    ],
)
def test_usage_errors_exit_3_with_one_line(args: tuple[str, ...], message: str) -> None:
    done = opsbot(*args)
    assert done.returncode == 3
    assert message in done.stderr
    assert done.stdout == ""
    assert [line for line in done.stderr.splitlines() if line.startswith("opsbot:")] == [
        done.stderr.splitlines()[-1]
    ]


def test_a_bad_config_exits_4_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "opsbot.toml"
    bad.write_text((ROOT / "opsbot.toml").read_text().replace("ok_min = 35.0", "ok_min = 350.0"))
    done = opsbot("health", "--sandbox", "--config", str(bad))
    assert done.returncode == 4
    assert "checks.vegas_line_coverage.ok_min" in done.stderr
    assert "less than or equal to 100" in done.stderr
    assert "Traceback" not in done.stderr


def test_config_check_prints_the_validated_profile() -> None:
    done = opsbot("config", "check")
    assert done.returncode == 0, done.stderr
    profile = json.loads(done.stdout)
    assert profile["platform"]["project"] == "nba-props-platform"
    assert profile["checks"]["grading_completeness"]["ok_min"] == 80.0
    assert "valid (7 services, 6 checks)" in done.stderr


def test_the_sandbox_clock_can_be_set() -> None:
    done = opsbot(
        "health", "--sandbox", "--json", env={"OPSBOT_SANDBOX_NOW": "2026-02-05T14:00:00+00:00"}
    )
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    assert checks["recent_predictions"]["status"] == "NOT_APPLICABLE"


def test_without_credentials_the_real_platform_exits_5_saying_what_to_do(tmp_path: Path) -> None:
    # Keep google-auth's metadata-server probe on loopback: this machine has no network.
    env = {
        "HOME": str(tmp_path),
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"),
        "GOOGLE_APPLICATION_CREDENTIALS": "",
        "NO_GCE_CHECK": "true",
        "GCE_METADATA_HOST": "127.0.0.1:9",
        "GCE_METADATA_IP": "127.0.0.1:9",
    }
    done = opsbot("health", env=env)
    assert done.returncode == 5
    assert "gcloud auth application-default login" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_sandbox_clock_without_a_utc_offset_is_a_config_error_not_a_traceback() -> None:
    done = opsbot("health", "--sandbox", env={"OPSBOT_SANDBOX_NOW": "2026-02-05T18:00:00"})
    assert done.returncode == 4, done.stderr  # the configuration exit code, not DEGRADED's 1
    assert "OPSBOT_SANDBOX_NOW='2026-02-05T18:00:00' needs a UTC offset" in done.stderr
    assert "Traceback" not in done.stderr
    garbled = opsbot("drift", "--sandbox", env={"OPSBOT_SANDBOX_NOW": "tuesday"})
    assert garbled.returncode == 4 and "is not an ISO 8601 time" in garbled.stderr
