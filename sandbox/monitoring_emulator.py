"""A Cloud Monitoring emulator: gRPC MetricService.ListTimeSeries for Cloud Run request metrics.

Answers the real google-cloud-monitoring client (over an insecure loopback channel) with
`run.googleapis.com/request_count` per response_code_class (DELTA, INT64) and
`run.googleapis.com/request_latencies` reduced by a percentile aligner (DOUBLE, ms), per revision,
from the sandbox's simulated traffic. No traffic in the interval: no series, as Monitoring does.
"""

from __future__ import annotations

import os
import re
from concurrent import futures
from datetime import datetime
from typing import Any

os.environ.setdefault(
    "GRPC_VERBOSITY", "ERROR"
)  # gRPC core's INFO lines on shutdown are noise here

import grpc
from google.api import metric_pb2, monitored_resource_pb2
from google.cloud import monitoring_v3

from sandbox.traffic import TrafficModel

SERVICE = "google.monitoring.v3.MetricService"
REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
Aligner = monitoring_v3.Aggregation.Aligner
PERCENTILE = {
    Aligner.ALIGN_PERCENTILE_50: "p50_ms",
    Aligner.ALIGN_PERCENTILE_95: "p95_ms",
    Aligner.ALIGN_PERCENTILE_99: "p99_ms",
}
FILTER_TERM = re.compile(r'([\w.]+)\s*=\s*"([^"]*)"')


class MonitoringEmulator:
    def __init__(self, traffic: TrafficModel, project: str) -> None:
        self.traffic = traffic
        self.project = project
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
        start, end = request.interval.start_time, request.interval.end_time
        service_name = (
            f"projects/{self.project}/locations/{self._region(service)}/services/{service}"
        )
        if metric == REQUEST_COUNT:
            series = self._counts(service_name, service, revision, start, end)
        else:
            aligner = request.aggregation.per_series_aligner
            if aligner not in PERCENTILE:
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT, "request_latencies needs a percentile aligner"
                )
            series = self._latency(service_name, service, revision, start, end, PERCENTILE[aligner])
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

    def _counts(
        self, service_name: str, service: str, revision: str, start: datetime, end: datetime
    ) -> list[monitoring_v3.TimeSeries]:
        requests = self.traffic.requests(service_name, revision, start, end)
        if requests.total == 0:
            return []
        interval = monitoring_v3.TimeInterval(start_time=start, end_time=end)
        found = []
        for code_class, count in (
            ("2xx", requests.ok),
            ("4xx", requests.client_errors),
            ("5xx", requests.server_errors),
        ):
            found.append(
                monitoring_v3.TimeSeries(
                    metric=metric_pb2.Metric(
                        type=REQUEST_COUNT, labels={"response_code_class": code_class}
                    ),
                    resource=self._resource(service, revision),
                    metric_kind=metric_pb2.MetricDescriptor.MetricKind.DELTA,
                    value_type=metric_pb2.MetricDescriptor.ValueType.INT64,
                    points=[
                        monitoring_v3.Point(
                            interval=interval, value=monitoring_v3.TypedValue(int64_value=count)
                        )
                    ],
                )
            )
        return found

    def _latency(
        self,
        service_name: str,
        service: str,
        revision: str,
        start: datetime,
        end: datetime,
        field: str,
    ) -> list[monitoring_v3.TimeSeries]:
        if self.traffic.requests(service_name, revision, start, end).total == 0:
            return []
        value = getattr(self.traffic.behaviour(service_name, revision), field)
        interval = monitoring_v3.TimeInterval(start_time=start, end_time=end)
        return [
            monitoring_v3.TimeSeries(
                metric=metric_pb2.Metric(type=REQUEST_LATENCIES),
                resource=self._resource(service, revision),
                metric_kind=metric_pb2.MetricDescriptor.MetricKind.DELTA,
                value_type=metric_pb2.MetricDescriptor.ValueType.DOUBLE,
                points=[
                    monitoring_v3.Point(
                        interval=interval, value=monitoring_v3.TypedValue(double_value=value)
                    )
                ],
            )
        ]
