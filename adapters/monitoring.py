"""Cloud Monitoring through the official client: a Cloud Run revision's requests, errors, latency."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from adapters.errors import AdapterError

if TYPE_CHECKING:
    from google.cloud import monitoring_v3

REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"


class MonitoringError(AdapterError):
    """Cloud Monitoring could not answer; the message says about what."""


@dataclass(frozen=True)
class RevisionMetrics:
    """What one revision served in an interval."""

    revision: str
    requests: int
    server_errors: int  # 5xx
    p95_ms: float | None  # None without requests

    @property
    def error_ratio(self) -> float | None:
        """5xx / requests, None without requests."""
        return self.server_errors / self.requests if self.requests else None


class Monitoring:
    def __init__(
        self, client: monitoring_v3.MetricServiceClient, *, project: str, timeout_s: float
    ) -> None:
        self._client = client
        self._project = project
        self._timeout_s = timeout_s

    @classmethod
    def connect(cls, *, project: str, timeout_s: float, endpoint: str | None = None) -> Monitoring:
        """Production: Application Default Credentials over gRPC. With `endpoint`: an emulator."""
        from google.cloud import monitoring_v3

        if endpoint is None:
            return cls(monitoring_v3.MetricServiceClient(), project=project, timeout_s=timeout_s)
        import grpc
        from google.cloud.monitoring_v3.services.metric_service.transports import (
            MetricServiceGrpcTransport,
        )

        transport = MetricServiceGrpcTransport(channel=grpc.insecure_channel(endpoint))
        return cls(
            monitoring_v3.MetricServiceClient(transport=transport),
            project=project,
            timeout_s=timeout_s,
        )

    def revision_metrics(
        self, service: str, revision: str, start: datetime, end: datetime
    ) -> RevisionMetrics:
        from google.cloud import monitoring_v3

        aligner = monitoring_v3.Aggregation.Aligner
        seconds = max(60, int((end - start).total_seconds()))
        what = f"metrics of {revision}"
        counts: dict[str, int] = {}
        for series in self._series(
            REQUEST_COUNT, service, revision, start, end, aligner.ALIGN_DELTA, seconds, what
        ):
            code_class = series.metric.labels.get("response_code_class", "")
            counts[code_class] = counts.get(code_class, 0) + sum(
                int(p.value.int64_value) for p in series.points
            )
        # request_latencies has one series per response code: p95 over all of the revision's
        # requests is a percentile reducer over the merged distributions, never the highest
        # p95 of any series (a handful of slow 5xx would set it).
        latencies = [
            point.value.double_value
            for series in self._series(
                REQUEST_LATENCIES,
                service,
                revision,
                start,
                end,
                aligner.ALIGN_DELTA,
                seconds,
                what,
                reducer=monitoring_v3.Aggregation.Reducer.REDUCE_PERCENTILE_95,
            )
            for point in series.points
        ]
        return RevisionMetrics(
            revision=revision,
            requests=sum(counts.values()),
            server_errors=counts.get("5xx", 0),
            p95_ms=max(latencies) if latencies else None,
        )

    def _series(
        self,
        metric: str,
        service: str,
        revision: str,
        start: datetime,
        end: datetime,
        aligner: Any,
        seconds: int,
        what: str,
        reducer: Any = None,
    ) -> list[Any]:
        from google.cloud import monitoring_v3

        request = monitoring_v3.ListTimeSeriesRequest(
            name=f"projects/{self._project}",
            filter=(
                f'metric.type = "{metric}" AND resource.type = "cloud_run_revision" AND '
                f'resource.labels.service_name = "{service}" AND resource.labels.revision_name = "{revision}"'
            ),
            interval=monitoring_v3.TimeInterval(start_time=start, end_time=end),
            aggregation=monitoring_v3.Aggregation(
                alignment_period={"seconds": seconds},
                per_series_aligner=aligner,
                cross_series_reducer=reducer or monitoring_v3.Aggregation.Reducer.REDUCE_NONE,
            ),
            view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL,
        )
        with _translated_errors(what):
            return list(self._client.list_time_series(request=request, timeout=self._timeout_s))


@contextmanager
def _translated_errors(what: str) -> Iterator[None]:
    from google.api_core import exceptions

    try:
        yield
    except exceptions.PermissionDenied:
        raise MonitoringError(
            f"{what}: permission denied (the account needs roles/monitoring.viewer)"
        ) from None
    except (exceptions.RetryError, exceptions.DeadlineExceeded):
        raise MonitoringError(f"{what}: Cloud Monitoring did not answer in time") from None
    except exceptions.GoogleAPICallError as exc:
        raise MonitoringError(f"{what}: {exc}") from None
