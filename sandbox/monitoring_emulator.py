"""A Cloud Monitoring emulator: gRPC MetricService.ListTimeSeries for Cloud Run request metrics.

Answers the real google-cloud-monitoring client (over an insecure loopback channel) from the
sandbox's simulated traffic, per revision, as Cloud Monitoring documents these metrics:
- `run.googleapis.com/request_count`: DELTA INT64, one series per response code (labels
  `response_code` and `response_code_class`);
- `run.googleapis.com/request_latencies`: DELTA DISTRIBUTION (ms), one series per response code.

Aggregation is honoured: points per `alignment_period` (newest first); ALIGN_DELTA keeps a
series' kind and type; a percentile aligner turns each series into GAUGE DOUBLE; REDUCE_SUM
(with `group_by_fields`) adds counts; a percentile reducer over ALIGN_DELTA distributions gives
the percentile of every request of every series merged, as one GAUGE DOUBLE series. No traffic
in the interval: no series. The fault plan's `slow_5xx_series` gives 5xx answers a 30 s latency.
"""

from __future__ import annotations

import math
import os
import re
from concurrent import futures
from datetime import datetime, timedelta
from typing import Any

os.environ.setdefault(
    "GRPC_VERBOSITY", "ERROR"
)  # gRPC core's INFO lines on shutdown are noise here

import grpc
from google.api import distribution_pb2, metric_pb2, monitored_resource_pb2
from google.cloud import monitoring_v3

from sandbox.latency import (
    BUCKETS,
    GROWTH,
    SCALE_MS,
    LatencyShape,
    bucket_counts,
    merged_percentile,
)
from sandbox.traffic import Requests, TrafficModel

SERVICE = "google.monitoring.v3.MetricService"
REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
Aligner = monitoring_v3.Aggregation.Aligner
Reducer = monitoring_v3.Aggregation.Reducer
ALIGNER_PERCENTILE = {
    Aligner.ALIGN_PERCENTILE_05: 0.05,
    Aligner.ALIGN_PERCENTILE_50: 0.50,
    Aligner.ALIGN_PERCENTILE_95: 0.95,
    Aligner.ALIGN_PERCENTILE_99: 0.99,
}
REDUCER_PERCENTILE = {
    Reducer.REDUCE_PERCENTILE_05: 0.05,
    Reducer.REDUCE_PERCENTILE_50: 0.50,
    Reducer.REDUCE_PERCENTILE_95: 0.95,
    Reducer.REDUCE_PERCENTILE_99: 0.99,
}
CODES = (("200", "2xx"), ("404", "4xx"), ("500", "5xx"))
SLOW_5XX = LatencyShape(25_000.0, 30_000.0, 30_000.0)  # requests that timed out
Kind = metric_pb2.MetricDescriptor.MetricKind
ValueType = metric_pb2.MetricDescriptor.ValueType
FILTER_TERM = re.compile(r'([\w.]+)\s*=\s*"([^"]*)"')


class MonitoringEmulator:
    def __init__(
        self, traffic: TrafficModel, project: str, *, slow_5xx_series: bool = False
    ) -> None:
        self.traffic = traffic
        self.project = project
        self.slow_5xx_series = slow_5xx_series
        self._server: grpc.Server | None = None
        self.port = 0

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        handler = grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "ListTimeSeries": grpc.unary_unary_rpc_method_handler(
                    self._list_time_series,
                    request_deserializer=monitoring_v3.ListTimeSeriesRequest.deserialize,
                    response_serializer=monitoring_v3.ListTimeSeriesResponse.serialize,
                )
            },
        )
        server.add_generic_rpc_handlers((handler,))
        self.port = server.add_insecure_port(f"{host}:{port}")
        server.start()
        self._server = server
        return self.endpoint

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None)
            self._server = None

    def _list_time_series(
        self, request: monitoring_v3.ListTimeSeriesRequest, context: grpc.ServicerContext
    ) -> monitoring_v3.ListTimeSeriesResponse:
        terms = dict(FILTER_TERM.findall(request.filter))
        metric = terms.get("metric.type", "")
        service = terms.get("resource.labels.service_name", "")
        revision = terms.get("resource.labels.revision_name", "")
        if request.name != f"projects/{self.project}":
            context.abort(grpc.StatusCode.NOT_FOUND, f"Project {request.name} not found.")
        if metric not in (REQUEST_COUNT, REQUEST_LATENCIES) or not service or not revision:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "the sandbox answers request_count/request_latencies filtered by service_name and revision_name",
            )
        aggregation = request.aggregation
        aligner, reducer = aggregation.per_series_aligner, aggregation.cross_series_reducer
        latency = metric == REQUEST_LATENCIES
        if aligner not in (Aligner.ALIGN_DELTA, *ALIGNER_PERCENTILE) or (
            not latency and aligner != Aligner.ALIGN_DELTA
        ):
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"the sandbox aligns {metric} with ALIGN_DELTA"
                + (" or a percentile aligner" if latency else ""),
            )
        if reducer in REDUCER_PERCENTILE and not latency:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "a percentile reducer needs a distribution or double metric",
            )
        if reducer not in (Reducer.REDUCE_NONE, Reducer.REDUCE_SUM, *REDUCER_PERCENTILE) or (
            reducer == Reducer.REDUCE_SUM and latency
        ):
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "the sandbox reduces counts with REDUCE_SUM and latencies with a percentile",
            )
        start, end = request.interval.start_time, request.interval.end_time
        service_name = (
            f"projects/{self.project}/locations/{self._region(service)}/services/{service}"
        )
        period = aggregation.alignment_period
        seconds = period.total_seconds() if period else (end - start).total_seconds()
        periods = _periods(start, end, max(seconds, 1.0))
        resource = self._resource(service, revision)
        behaviour = self.traffic.behaviour(service_name, revision)
        normal = LatencyShape(behaviour.p50_ms, behaviour.p95_ms, behaviour.p99_ms)
        shapes = {"2xx": normal, "4xx": normal, "5xx": SLOW_5XX if self.slow_5xx_series else normal}
        per_period = [
            (since, until, self.traffic.requests(service_name, revision, since, until))
            for since, until in periods
        ]
        if not any(requests.total for _, _, requests in per_period):
            return monitoring_v3.ListTimeSeriesResponse(time_series=[])
        if not latency:
            series = _count_series(per_period, resource)
            if reducer == Reducer.REDUCE_SUM:
                series = _summed(series, list(aggregation.group_by_fields))
        elif reducer in REDUCER_PERCENTILE:
            series = [_merged_latency(per_period, shapes, aligner, REDUCER_PERCENTILE[reducer])]
        else:
            series = _latency_series(per_period, shapes, resource, aligner)
        return monitoring_v3.ListTimeSeriesResponse(time_series=series)

    def _region(self, service: str) -> str:
        for name in self.traffic.cloud_run.services:
            if name.endswith(f"/services/{service}"):
                return name.split("/")[3]
        return "us-west2"

    def _resource(self, service: str, revision: str) -> Any:
        return monitored_resource_pb2.MonitoredResource(
            type="cloud_run_revision",
            labels={"service_name": service, "revision_name": revision, "project_id": self.project},
        )


Period = tuple[datetime, datetime, Requests]


def _periods(start: datetime, end: datetime, seconds: float) -> list[tuple[datetime, datetime]]:
    """[since, until) windows of `seconds` ending at `end`, newest first (as points are listed)."""
    count = max(1, math.ceil((end - start).total_seconds() / seconds - 1e-9))
    step = timedelta(seconds=seconds)
    return [(max(start, end - step * (i + 1)), end - step * i) for i in range(count)]


def _by_class(requests: Requests) -> dict[str, int]:
    return {"2xx": requests.ok, "4xx": requests.client_errors, "5xx": requests.server_errors}


def _interval(since: datetime, until: datetime) -> monitoring_v3.TimeInterval:
    return monitoring_v3.TimeInterval(start_time=since, end_time=until)


def _count_series(per_period: list[Period], resource: Any) -> list[monitoring_v3.TimeSeries]:
    found = []
    for code, code_class in CODES:
        if not any(_by_class(r)[code_class] for _, _, r in per_period):
            continue
        found.append(
            monitoring_v3.TimeSeries(
                metric=metric_pb2.Metric(
                    type=REQUEST_COUNT,
                    labels={"response_code": code, "response_code_class": code_class},
                ),
                resource=resource,
                metric_kind=Kind.DELTA,
                value_type=ValueType.INT64,
                points=[
                    monitoring_v3.Point(
                        interval=_interval(since, until),
                        value=monitoring_v3.TypedValue(int64_value=_by_class(r)[code_class]),
                    )
                    for since, until, r in per_period
                ],
            )
        )
    return found


def _summed(series: list[monitoring_v3.TimeSeries], group_by: list[str]) -> list[Any]:
    """REDUCE_SUM across series, one per value of the `group_by_fields` labels."""
    keys = [f.removeprefix("metric.label.").removeprefix("metric.labels.") for f in group_by]
    groups: dict[tuple[str, ...], list[monitoring_v3.TimeSeries]] = {}
    for one in series:
        groups.setdefault(tuple(one.metric.labels.get(k, "") for k in keys), []).append(one)
    reduced = []
    for values, members in groups.items():
        first = members[0]
        points = [
            monitoring_v3.Point(
                interval=point.interval,
                value=monitoring_v3.TypedValue(
                    int64_value=sum(m.points[i].value.int64_value for m in members)
                ),
            )
            for i, point in enumerate(first.points)
        ]
        reduced.append(
            monitoring_v3.TimeSeries(
                metric=metric_pb2.Metric(
                    type=REQUEST_COUNT, labels=dict(zip(keys, values, strict=True))
                ),
                metric_kind=Kind.DELTA,
                value_type=ValueType.INT64,
                points=points,
            )
        )
    return reduced


def _distribution(shape: LatencyShape, count: int) -> distribution_pb2.Distribution:
    buckets = bucket_counts(shape, count)
    return distribution_pb2.Distribution(
        count=count,
        mean=sum(shape.quantile((i + 0.5) / 100) for i in range(100)) / 100 if count else 0.0,
        bucket_options=distribution_pb2.Distribution.BucketOptions(
            exponential_buckets=distribution_pb2.Distribution.BucketOptions.Exponential(
                num_finite_buckets=BUCKETS, growth_factor=GROWTH, scale=SCALE_MS
            )
        ),
        bucket_counts=buckets,
    )


def _latency_series(
    per_period: list[Period], shapes: dict[str, LatencyShape], resource: Any, aligner: int
) -> list[monitoring_v3.TimeSeries]:
    """One series per response code: distributions (ALIGN_DELTA) or a percentile each (GAUGE)."""
    found = []
    for code, code_class in CODES:
        shape = shapes[code_class]
        points = []
        for since, until, requests in per_period:
            count = _by_class(requests)[code_class]
            if not count:
                continue
            value = (
                monitoring_v3.TypedValue(distribution_value=_distribution(shape, count))
                if aligner == Aligner.ALIGN_DELTA
                else monitoring_v3.TypedValue(
                    double_value=shape.quantile(ALIGNER_PERCENTILE[aligner])
                )
            )
            points.append(monitoring_v3.Point(interval=_interval(since, until), value=value))
        if not points:
            continue
        delta = aligner == Aligner.ALIGN_DELTA
        found.append(
            monitoring_v3.TimeSeries(
                metric=metric_pb2.Metric(
                    type=REQUEST_LATENCIES,
                    labels={"response_code": code, "response_code_class": code_class},
                ),
                resource=resource,
                metric_kind=Kind.DELTA if delta else Kind.GAUGE,
                value_type=ValueType.DISTRIBUTION if delta else ValueType.DOUBLE,
                points=points,
            )
        )
    return found


def _merged_latency(
    per_period: list[Period], shapes: dict[str, LatencyShape], aligner: int, p: float
) -> monitoring_v3.TimeSeries:
    """A percentile reducer across the per-code series: over every request (distributions
    merged) after ALIGN_DELTA, or over the series' values after a percentile aligner."""
    points = []
    for since, until, requests in per_period:
        counts = _by_class(requests)
        if aligner == Aligner.ALIGN_DELTA:
            value = merged_percentile([(shapes[c], n) for c, n in counts.items() if n], p)
        else:
            values = sorted(
                shapes[c].quantile(ALIGNER_PERCENTILE[aligner]) for c, n in counts.items() if n
            )
            value = values[min(len(values) - 1, round(p * (len(values) - 1)))] if values else None
        if value is not None:
            points.append(
                monitoring_v3.Point(
                    interval=_interval(since, until),
                    value=monitoring_v3.TypedValue(double_value=value),
                )
            )
    return monitoring_v3.TimeSeries(
        metric=metric_pb2.Metric(type=REQUEST_LATENCIES),
        metric_kind=Kind.GAUGE,
        value_type=ValueType.DOUBLE,
        points=points,
    )
