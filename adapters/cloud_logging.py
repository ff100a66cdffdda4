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

    def errors(self, service: str, revision: str, since: datetime, limit: int = 5) -> list[LogLine]:
        """The newest ERROR (and worse) lines the revision logged since `since`, at most `limit`."""
        from google.api_core import exceptions

        stamp = since.isoformat().replace("+00:00", "Z")
        query = (
            f'resource.type = "cloud_run_revision" AND resource.labels.service_name = "{service}" '
            f'AND resource.labels.revision_name = "{revision}" AND severity >= ERROR '
            f'AND timestamp >= "{stamp}"'
        )
        try:
            entries = self._client.list_entries(
                resource_names=[f"projects/{self._project}"],
                filter_=query,
                order_by="timestamp desc",
                page_size=limit,
                max_results=limit,
            )
            return [
                LogLine(entry.timestamp, str(entry.severity), str(entry.payload))
                for entry in entries
            ]
        except exceptions.GoogleAPICallError as exc:
            raise LoggingError(f"error logs of {revision}: {exc}") from None
