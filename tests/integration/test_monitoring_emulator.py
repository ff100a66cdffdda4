"""Canary metrics from the Monitoring emulator, through the real monitoring_v3 gRPC client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from adapters.cloud_logging import CloudLogging
from adapters.cloudrun import CloudRun, TrafficShare
from adapters.monitoring import Monitoring, MonitoringError
from sandbox.cloudrun_emulator import CloudRunEmulator
from sandbox.cloudrun_state import CloudRunState, SeedRevision
from sandbox.logging_emulator import LoggingEmulator
from sandbox.monitoring_emulator import MonitoringEmulator
from sandbox.traffic import HEALTHY, Behaviour, TrafficModel

T0 = datetime(2026, 2, 5, 18, tzinfo=UTC)
PROJECT = "nba-props-platform"
PARENT = f"projects/{PROJECT}/locations/us-west2"
STABLE, CANARY = "worker-00002-bbb", "worker-canary-bad0001"
BAD = Behaviour(error_5xx=0.12, p95_ms=900.0, error_log="KeyError: 'vegas_line'")


@dataclass
class World:
    clock: list[datetime]
    cloud_run: CloudRun
    monitoring: Monitoring
    monitoring_traffic: TrafficModel


@pytest.fixture
def world() -> Iterator[World]:
    clock = [T0]
    state = CloudRunState(lambda: clock[0])
    state.add_service(
        PARENT,
        "worker",
        [SeedRevision(STABLE, "img:2", T0 - timedelta(days=1), {"commit-sha": "2222222"})],
        [(STABLE, 100)],
    )
    traffic = TrafficModel(
        state, {"worker": 20.0}, lambda commit: BAD if commit == "bad0001" else HEALTHY
    )
    run_emulator, metrics_emulator = CloudRunEmulator(state), MonitoringEmulator(traffic, PROJECT)
    run_emulator.start()
    metrics_emulator.start()
    yield World(
        clock,
        CloudRun.connect(
            project=PROJECT, region="us-west2", timeout_s=10, endpoint=run_emulator.url
        ),
        Monitoring.connect(project=PROJECT, timeout_s=10, endpoint=metrics_emulator.endpoint),
        traffic,
    )
    metrics_emulator.stop()
    run_emulator.stop()


@pytest.fixture
def logging_url(world: World) -> Iterator[str]:
    # the same traffic model as the world's Monitoring emulator: its failures are what is logged
    traffic = world.monitoring_traffic
    emulator = LoggingEmulator(traffic, PROJECT, lambda: world.clock[0])
    yield emulator.start()
    emulator.stop()


def _canary(world: World) -> None:
    world.cloud_run.create_revision(
        "worker",
        revision=CANARY,
        image="img:bad",
        labels={"commit-sha": "bad0001"},
        keep=[TrafficShare(STABLE, 100)],
        tag="canary",
    )


def test_a_bad_canary_at_ten_percent_shows_its_errors_and_latency_beside_the_stable(
    world: World,
) -> None:
    _canary(world)
    world.clock[0] = T0 + timedelta(seconds=60)
    world.cloud_run.route("worker", [TrafficShare(STABLE, 90), TrafficShare(CANARY, 10, "canary")])
    start, end = T0 + timedelta(seconds=60), T0 + timedelta(seconds=360)

    canary = world.monitoring.revision_metrics("worker", CANARY, start, end)
    stable = world.monitoring.revision_metrics("worker", STABLE, start, end)

    assert (canary.requests, canary.server_errors, canary.p95_ms) == (600, 72, 900.0)
    assert canary.error_ratio == pytest.approx(0.12)
    assert (
        stable.requests == 5400 and stable.server_errors == 11 and stable.p95_ms == HEALTHY.p95_ms
    )


def test_a_revision_without_traffic_has_no_data_rather_than_zero_errors(world: World) -> None:
    _canary(world)
    idle = world.monitoring.revision_metrics("worker", CANARY, T0, T0 + timedelta(minutes=5))
    assert (idle.requests, idle.error_ratio, idle.p95_ms) == (0, None, None)


def test_another_project_is_an_error_that_names_what_was_asked(world: World) -> None:
    other = Monitoring(world.monitoring._client, project="someone-else", timeout_s=5)
    with pytest.raises(MonitoringError, match=f"metrics of {STABLE}"):
        other.revision_metrics("worker", STABLE, T0, T0 + timedelta(minutes=5))


def test_the_canarys_error_lines_come_from_cloud_logging(world: World, logging_url: str) -> None:
    _canary(world)
    world.cloud_run.route("worker", [TrafficShare(STABLE, 90), TrafficShare(CANARY, 10, "canary")])
    world.clock[0] = T0 + timedelta(minutes=5)
    logs = CloudLogging.connect(project=PROJECT, endpoint=logging_url)
    lines = logs.errors("worker", CANARY, since=T0, limit=3)
    assert [line.text for line in lines] == ["KeyError: 'vegas_line'"] * 3
    assert lines[0].at > lines[1].at > lines[2].at and lines[0].severity == "ERROR"
    assert logs.errors("worker", STABLE, since=T0) == []  # healthy code logs no errors
