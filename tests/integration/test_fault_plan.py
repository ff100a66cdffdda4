"""The sandbox's fault plan: each key reaches its emulator, and a bad plan says what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.faults import FaultPlanError, load_fault_plan
from sandbox.platform import Sandbox
from tests.e2e.test_health_cli import opsbot

EVERY_KEY = """
[cloud_run]
operation_s = 30
fail_images = ["abc1234"]
denied_permissions = ["run.services.update"]
[monitoring]
slow_5xx_series = true
[logging]
page_size = 2
[bigquery]
query_s = 12
denied_tables = ["nba_predictions.prediction_accuracy"]
[slack]
not_in_channel = ["#canary-alerts"]
missing_scopes = ["channels:read"]
"""


def test_every_key_of_a_plan_reaches_its_emulator(tmp_path: Path) -> None:
    plan = tmp_path / "faults.toml"
    plan.write_text(EVERY_KEY)
    with Sandbox(faults=load_fault_plan(str(plan))) as running:
        assert running.cloud_run is not None and running.bigquery is not None
        assert running.cloud_run.state.operation_s == 30
        assert not running.cloud_run.state.image_exists("registry/nba-scrapers:abc1234def")
        assert running.cloud_run.denied_permissions == {"run.services.update"}
        assert running.monitoring is not None and running.monitoring.slow_5xx_series
        assert running.logging is not None and running.logging.page_size == 2
        assert running.bigquery.query_s == 12
        assert running.bigquery.denied_tables == {"nba_predictions.prediction_accuracy"}
        assert running.faults.slack.not_in_channel == ["#canary-alerts"]


def test_without_a_plan_writes_take_a_few_seconds_so_the_demo_shows_the_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPSBOT_SANDBOX_FAULTS", raising=False)
    assert 1 <= load_fault_plan().cloud_run.operation_s <= 5


def test_a_plan_with_an_unknown_key_or_a_bad_value_is_refused_naming_it(tmp_path: Path) -> None:
    plan = tmp_path / "faults.toml"
    plan.write_text("[cloud_run]\noperation_seconds = 30\n")
    with pytest.raises(FaultPlanError, match=r"cloud_run\.operation_seconds"):
        load_fault_plan(str(plan))
    plan.write_text("[cloud_run]\noperation_s = -1\n")
    done = opsbot("drift", "--sandbox", env={"OPSBOT_SANDBOX_FAULTS": str(plan)})
    assert done.returncode != 0 and "cloud_run.operation_s" in done.stderr
    assert "Traceback" not in done.stderr
