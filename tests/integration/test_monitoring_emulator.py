"""Canary metrics from the Monitoring emulator, through the real monitoring_v3 gRPC client."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.api.metric_pb2 import MetricDescriptor
from google.cloud import monitoring_v3

from adapters.cloud_logging import CloudLogging
from adapters.cloudrun import CloudRun
from adapters.cloudrun_model import TrafficShare
from adapters.monitoring import Monitoring, MonitoringError
from sandbox.cloudrun_emulator import CloudRunEmulator
from sandbox.cloudrun_state import CloudRunState, SeedRevision
from sandbox.logging_emulator import LoggingEmulator
from sandbox.monitoring_emulator import MonitoringEmulator
from sandbox.traffic import HEALTHY, Behaviour, TrafficModel
from tests.integration.deploy_world import create_revision

T0 = datetime(2026, 2, 5, 18, tzinfo=UTC)
PROJECT = "nba-props-platform"
PARENT = f"projects/{PROJECT}/locations/us-west2"
STABLE, CANARY = "worker-00002-bbb", "worker-canary-bad0001"
Aligner = monitoring_v3.Aggregation.Aligner
MetricKind, ValueType = MetricDescriptor.MetricKind, MetricDescriptor.ValueType
BAD = Behaviour(error_5xx=0.12, p95_ms=900.0, error_log="KeyError: 'vegas_line'")


@dataclass
class World:
    clock: list[datetime]
    cloud_run: CloudRun
    monitoring: Monitoring
    monitoring_traffic: TrafficModel
    metrics_emulator: MonitoringEmulator


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
        metrics_emulator,
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
    create_revision(
        world.cloud_run,
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


def test_a_revisions_error_lines_are_stamped_only_while_it_had_traffic(
    world: World, logging_url: str
) -> None:
    """Cloud Logging stamps an entry when the revision wrote it: none after a rollback."""
    _canary(world)
    world.cloud_run.route("worker", [TrafficShare(STABLE, 90), TrafficShare(CANARY, 10, "canary")])
    rolled_back = T0 + timedelta(minutes=5)
    world.clock[0] = rolled_back
    world.cloud_run.route("worker", [TrafficShare(STABLE, 100)])
    world.clock[0] = T0 + timedelta(minutes=10)
    lines = CloudLogging.connect(project=PROJECT, endpoint=logging_url).errors(
        "worker", CANARY, since=T0, limit=100
    )
    assert lines and all(T0 <= line.at < rolled_back for line in lines)


def test_a_few_slow_5xx_do_not_set_the_p95_of_a_healthy_revision(world: World) -> None:
    """request_latencies is one series per response code; p95 is over all requests merged."""
    world.metrics_emulator.slow_5xx_series = True  # 0.2% of answers are 5xx after 30 s
    window = (T0, T0 + timedelta(minutes=5))
    healthy = world.monitoring.revision_metrics("worker", STABLE, *window)
    assert healthy.server_errors > 0
    # the slow 0.2% nudge the merged p95 a little above the 2xx one, nowhere near 30,000 ms
    assert healthy.p95_ms is not None and 160.0 <= healthy.p95_ms < 170.0

    per_code = _latency_series(world, Aligner.ALIGN_PERCENTILE_95, window, 300)
    p95s = {
        s.metric.labels["response_code_class"]: s.points[0].value.double_value for s in per_code
    }
    assert p95s["5xx"] == 30_000.0 and p95s["2xx"] == HEALTHY.p95_ms  # the highest would fail it


def test_aggregation_follows_the_aligner_reducer_and_alignment_period(world: World) -> None:
    window = (T0, T0 + timedelta(minutes=5))
    gauges = _latency_series(world, Aligner.ALIGN_PERCENTILE_95, window, 300)
    assert {(s.metric_kind, s.value_type) for s in gauges} == {
        (MetricKind.GAUGE, ValueType.DOUBLE)  # a percentile aligner makes GAUGE DOUBLE
    }
    deltas = _latency_series(world, Aligner.ALIGN_DELTA, window, 60)
    assert {(s.metric_kind, s.value_type) for s in deltas} == {
        (MetricKind.DELTA, ValueType.DISTRIBUTION)
    }
    ok = next(s for s in deltas if s.metric.labels["response_code_class"] == "2xx")
    assert len(ok.points) == 5  # one a minute, newest first
    assert ok.points[0].interval.end_time > ok.points[-1].interval.end_time
    assert sum(p.value.distribution_value.count for p in ok.points) == sum(
        sum(p.value.distribution_value.bucket_counts) for p in ok.points
    )


def _latency_series(
    world: World, aligner: Any, window: tuple[datetime, datetime], period_s: int
) -> list[Any]:
    client = world.monitoring._client
    request = monitoring_v3.ListTimeSeriesRequest(
        name=f"projects/{PROJECT}",
        filter=(
            'metric.type = "run.googleapis.com/request_latencies" AND '
            f'resource.labels.service_name = "worker" AND resource.labels.revision_name = "{STABLE}"'
        ),
        interval=monitoring_v3.TimeInterval(start_time=window[0], end_time=window[1]),
        aggregation=monitoring_v3.Aggregation(
            alignment_period={"seconds": period_s}, per_series_aligner=aligner
        ),
    )
    return list(client.list_time_series(request=request))


def test_error_lines_are_read_across_pages_newest_first(world: World) -> None:
    """Cloud Logging may answer fewer entries than asked, with a nextPageToken: opsbot pages."""
    _canary(world)
    world.cloud_run.route("worker", [TrafficShare(STABLE, 90), TrafficShare(CANARY, 10, "canary")])
    world.clock[0] = T0 + timedelta(minutes=5)
    emulator = LoggingEmulator(
        world.monitoring_traffic, PROJECT, lambda: world.clock[0], page_size=2
    )
    try:
        logs = CloudLogging.connect(project=PROJECT, endpoint=emulator.start())
        lines = logs.errors("worker", CANARY, since=T0, limit=5)
        assert len(lines) == 5
        assert all(a.at > b.at for a, b in itertools.pairwise(lines))
        oldest_first = list(
            logs._client.list_entries(
                resource_names=[f"projects/{PROJECT}"],
                filter_=f'resource.labels.service_name = "worker" AND '
                f'resource.labels.revision_name = "{CANARY}" AND severity >= ERROR AND '
                'timestamp >= "2026-02-05T18:00:00Z"',  # else the client adds "the last 24 h"
                max_results=3,
            )
        )
        assert oldest_first[0].timestamp < oldest_first[-1].timestamp  # the API's default order
    finally:
        emulator.stop()
