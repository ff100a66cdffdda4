"""Cloud Logging through the official client (HTTP): a sample of a revision's ERROR lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters.errors import AdapterError


class LoggingError(AdapterError):
    """Cloud Logging could not answer; the message says about what."""


@dataclass(frozen=True)
class LogLine:
    at: datetime
    severity: str
    text: str


@dataclass(frozen=True)
class TrafficChange:
    """A traffic split a service was given (Cloud Run's UpdateService, from its audit log)."""

    at: datetime
    principal: str
    split: dict[str, int]  # revision → percent


ACTIVITY_LOG = "cloudaudit.googleapis.com%2Factivity"
UPDATE_SERVICE = "google.cloud.run.v2.Services.UpdateService"


class CloudLogging:
    def __init__(self, client: Any, *, project: str) -> None:
        self._client = client
        self._project = project

    @classmethod
    def connect(cls, *, project: str, endpoint: str | None = None) -> CloudLogging:
        """Production: Application Default Credentials. With `endpoint`: an emulator, anonymously."""
        from google.cloud import logging as cloud_logging

        if endpoint is None:
            client = cloud_logging.Client(project=project, _use_grpc=False)  # type: ignore[no-untyped-call]
            return cls(client, project=project)
        from google.auth.credentials import AnonymousCredentials

        client = cloud_logging.Client(
            project=project,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            _use_grpc=False,
            client_options={"api_endpoint": endpoint},
        )
        return cls(client, project=project)

    def errors(
        self,
        service: str,
        revision: str,
        since: datetime,
        limit: int = 5,
        *,
        oldest_first: bool = False,
    ) -> list[LogLine]:
        """The newest ERROR (and worse) lines the revision logged since `since`, at most `limit`
        (with `oldest_first`: the first ones, in the order they were logged)."""
        query = (
            f'resource.type = "cloud_run_revision" AND resource.labels.service_name = "{service}" '
            f'AND resource.labels.revision_name = "{revision}" AND severity >= ERROR '
            f'AND timestamp >= "{_stamp(since)}"'
        )
        order = "timestamp asc" if oldest_first else "timestamp desc"
        entries = self._entries(query, order, limit, f"error logs of {revision}")
        return [LogLine(e.timestamp, str(e.severity), str(e.payload)) for e in entries]

    def traffic_changes(
        self, service: str, since: datetime, until: datetime, limit: int = 200
    ) -> list[TrafficChange]:
        """The service's traffic splits set in [since, until], oldest first, from the Admin
        Activity audit log (each UpdateService's first entry carries its request)."""
        query = (
            f'logName = "projects/{self._project}/logs/{ACTIVITY_LOG}" '
            f'AND protoPayload.methodName = "{UPDATE_SERVICE}" '
            f'AND resource.labels.service_name = "{service}" '
            f'AND timestamp >= "{_stamp(since)}" AND timestamp <= "{_stamp(until)}"'
        )
        changes = []
        for entry in self._entries(
            query, "timestamp asc", limit * 2, f"traffic changes of {service}"
        ):
            payload = entry.payload if isinstance(entry.payload, dict) else {}
            traffic = (payload.get("request") or {}).get("service", {}).get("traffic")
            if not traffic:  # the operation's end, or an update that left traffic alone
                continue
            split: dict[str, int] = {}
            for target in traffic:
                revision = str(target.get("revision") or "LATEST")
                split[revision] = split.get(revision, 0) + int(target.get("percent") or 0)
            who = str((payload.get("authenticationInfo") or {}).get("principalEmail") or "")
            changes.append(TrafficChange(entry.timestamp, who, split))
        return changes

    def _entries(self, query: str, order: str, limit: int, what: str) -> list[Any]:
        """At most `limit` entries matching `query`, read through every page they span."""
        from google.api_core import exceptions

        try:
            return list(
                self._client.list_entries(
                    resource_names=[f"projects/{self._project}"],
                    filter_=query,
                    order_by=order,
                    page_size=min(limit, 1000),
                    max_results=limit,
                )
            )
        except exceptions.GoogleAPICallError as exc:
            raise LoggingError(f"{what}: {exc}") from None


def _stamp(moment: datetime) -> str:
    """A time as Logging's filters write it (RFC 3339, Z)."""
    return moment.isoformat().replace("+00:00", "Z")
