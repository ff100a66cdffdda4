"""A platform to deploy to: a real repo, Cloud Run, Monitoring and Logging emulators, a store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from adapters.bigquery import BigQueryWarehouse
from adapters.cloud_logging import CloudLogging
from adapters.cloudrun import CloudRun
from adapters.cloudrun_model import Revision
from adapters.git import GitRepo
from adapters.monitoring import Monitoring
from checks.revision_output import predictions_by_revision
from commands.deploy.tools import DeployTools
from config import Profile
from sandbox.bigquery_emulator import BigQueryEmulator
from sandbox.cloudrun_emulator import CloudRunEmulator
from sandbox.cloudrun_state import CloudRunState, SeedRevision
from sandbox.demo_tables import TABLES
from sandbox.git_history import HistorySpec, PinnedCommit, write_history
from sandbox.logging_emulator import LoggingEmulator
from sandbox.monitoring_emulator import MonitoringEmulator
from sandbox.traffic import HEALTHY, Behaviour, TrafficModel
from store.database import Database
from store.location import sqlite_url
from store.rollouts import Store
from tests.gitcli import git_out
from tests.integration.drift_world import AREAS, PARENT

T0 = datetime(2026, 2, 5, 18, 0, tzinfo=UTC)
PROJECT = "nba-props-platform"
BAD = Behaviour(error_5xx=0.12, p95_ms=900.0, error_log="KeyError: 'vegas_line' in features.py:212")
SUBJECTS = ("alpha: first", "alpha: faster features", "alpha: bad refactor")
REGISTRY = "us-west2-docker.pkg.dev/nba-props-platform/services"


DEFAULT_ROLES = {"deployer": ["U0SAMDEPLY", "U0LEEAPPRV"], "approver": ["U0LEEAPPRV", "U0SAMDEPLY"]}


PREDICTIONS = "nba_predictions.player_prop_predictions"


def deploy_profile(
    roles: dict[str, list[str]] | None = None,
    data_check: str | None = None,
    canary_output: str | None = None,
    **deploy: object,
) -> Profile:
    return Profile.model_validate(
        {
            "platform": {"project": PROJECT, "region": "us-west2"},
            "services": [
                {
                    "name": "alpha",
                    "source_paths": ["services/alpha", "shared"],
                    "data_check": data_check,
                    "canary_output": canary_output,
                }
            ],
            "slack": {"roles": roles or DEFAULT_ROLES},
            "deploy": {"image": f"{REGISTRY}/$service:$commit", "interval_s": 300, **deploy},
        }
    )


@dataclass
class DeployWorld:
    clock: list[datetime]
    sha: dict[str, str]
    state: CloudRunState
    tools: DeployTools
    missing_images: set[str]
    cloud_run: CloudRunEmulator
    warehouse: duckdb.DuckDBPyConnection  # behind a BigQuery emulator: the predictions table

    def advance(self, seconds: float) -> None:
        self.clock[0] += timedelta(seconds=seconds)

    def write_predictions(self, revision: str, count: int, seconds_ago: float = 60) -> None:
        """What the service does: `count` predictions stamped with the revision that wrote them."""
        at = (self.clock[0] - timedelta(seconds=seconds_ago)).replace(tzinfo=None)
        self.warehouse.execute(
            f"INSERT INTO {PREDICTIONS} (prediction_id, system_id, game_date, is_active,"
            " deployment_revision, created_at)"
            " SELECT ? || i, 'catboost_v9', ?, TRUE, ?, ? FROM range(?) t(i)",
            [revision, at.date(), revision, at, count],
        )

    def serving(self) -> list[tuple[str, int]]:
        return [(t.revision, t.percent) for t in self.tools.cloud_run.get_service("alpha").serving]

    def cloud_run_writes(self) -> int:
        """Service updates Cloud Run was asked for (each traffic change is one)."""
        return sum(1 for call in self.cloud_run.received if call.method == "PATCH")


@contextmanager
def deploy_world(tmp_path: Path) -> Iterator[DeployWorld]:
    pinned = tuple(
        PinnedCommit(T0 - timedelta(days=3 - n), f"services/alpha/file{n}.py", subject)
        for n, subject in enumerate(SUBJECTS)
    )
    spec = HistorySpec(
        areas=AREAS, start=T0 - timedelta(days=5), end=T0, commits=0, seed=1, pinned=pinned
    )
    write_history(tmp_path / "repo", spec)
    log = git_out(tmp_path / "repo", "log", "--format=%H %s", "main")
    sha = {line.split(" ", 1)[1]: line.split(" ", 1)[0] for line in log.splitlines()}
    clock = [T0]
    missing: set[str] = set()
    state = CloudRunState(  # images are tagged with the short SHA; `missing` holds full ones
        lambda: clock[0],
        image_exists=lambda image: not any(m.startswith(image.rsplit(":", 1)[-1]) for m in missing),
    )
    stable = SeedRevision(
        "alpha-00001-aaa",
        f"{REGISTRY}/alpha:{sha['alpha: first']}",
        T0 - timedelta(days=2),
        {"commit-sha": sha["alpha: first"][:7]},
    )
    state.add_service(PARENT, "alpha", [stable], [("alpha-00001-aaa", 100)])
    traffic = TrafficModel(
        state,
        {"alpha": 20.0},
        # a revision runs the commit its label names, at any length (as the sandbox's traffic)
        lambda commit: BAD if commit and sha["alpha: bad refactor"].startswith(commit) else HEALTHY,
    )
    run, metrics, logs = (
        CloudRunEmulator(state),
        MonitoringEmulator(traffic, PROJECT),
        LoggingEmulator(traffic, PROJECT, lambda: clock[0]),
    )
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA nba_predictions")
    con.execute(f"CREATE TABLE {PREDICTIONS} ({TABLES[PREDICTIONS].columns})")
    bigquery = BigQueryEmulator(con, {PREDICTIONS: TABLES[PREDICTIONS]})
    run.start()
    metrics.start()
    logs.start()
    bigquery.start()
    profile = deploy_profile()
    warehouse = BigQueryWarehouse.from_profile(profile, endpoint=bigquery.url)
    database = Database.open(sqlite_url(tmp_path / "opsbot.db"))
    try:
        tools = DeployTools(
            cloud_run=CloudRun.connect(
                project=PROJECT,
                region="us-west2",
                timeout_s=10,
                endpoint=run.url,
                # Waiting on an operation moves the world's clock: no real sleeps
                sleep=lambda seconds: clock.__setitem__(0, clock[0] + timedelta(seconds=seconds)),
                monotonic=lambda: clock[0].timestamp(),
            ),
            monitoring=Monitoring.connect(project=PROJECT, timeout_s=10, endpoint=metrics.endpoint),
            logs=CloudLogging.connect(project=PROJECT, endpoint=logs.url),
            repo=GitRepo.open(tmp_path / "repo", branch="main"),
            store=Store(database, lambda: clock[0]),
            clock=lambda: clock[0],
            revision_output=lambda revisions, since, until: predictions_by_revision(
                warehouse, profile, revisions, since, until
            ),
        )
        yield DeployWorld(clock, sha, state, tools, missing, run, con)
    finally:
        database.close()
        bigquery.stop()
        logs.stop()
        metrics.stop()
        run.stop()


def create_revision(cloud_run: CloudRun, service: str, **revision: Any) -> Revision:
    """A revision made as a rollout makes one (begin, wait, finish): the ready revision."""
    operation = cloud_run.begin_revision(service, **revision)
    cloud_run.wait(operation, f"new revision of {service}", raise_error=False)
    return cloud_run.finish_revision(service, revision["revision"], operation)
