"""A Cloud Logging emulator: `entries:list` over HTTP for the ERROR lines of Cloud Run revisions.

The real google-cloud-logging client (HTTP transport) asks for a revision's entries at or above a
severity since a time; the answer is what the simulated traffic's failures logged: one ERROR
line per 5xx, newest first, each with its request's timestamp, as Cloud Run's logs would show.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sandbox.json_http import GoogleApiError, JsonApi, Query
from sandbox.traffic import TrafficModel

TERM = re.compile(r'([\w.]+)\s*(>=|=)\s*"?([^"\s]+)"?')
SEVERITIES = [
    "DEFAULT",
    "DEBUG",
    "INFO",
    "NOTICE",
    "WARNING",
    "ERROR",
    "CRITICAL",
    "ALERT",
    "EMERGENCY",
]


class LoggingEmulator(JsonApi):
    thread_name = "logging-emulator"

    def __init__(self, traffic: TrafficModel, project: str, clock: Any) -> None:
        super().__init__()
        self.traffic = traffic
        self.project = project
        self.clock = clock

    def route(self, method: str, path: str, query: Query, body: dict[str, Any]) -> dict[str, Any]:
        if (method, path) != ("POST", "/v2/entries:list"):
            raise GoogleApiError(
                404, "notFound", f"{method} {path} is not part of the sandbox's Logging API"
            )
        if body.get("resourceNames") != [f"projects/{self.project}"]:
            raise GoogleApiError(
                403,
                "forbidden",
                f"The caller does not have permission on {body.get('resourceNames')}",
            )
        terms = {key: (op, value) for key, op, value in TERM.findall(body.get("filter", ""))}
        service = terms.get("resource.labels.service_name", ("", ""))[1]
        revision = terms.get("resource.labels.revision_name", ("", ""))[1]
        if not service or not revision:
            raise GoogleApiError(
                400, "badRequest", "the sandbox answers filters on service_name and revision_name"
            )
        minimum = terms.get("severity", (">=", "DEFAULT"))[1]
        since_text = terms.get("timestamp", (">=", ""))[1]
        now = self.clock()
        since = (
            datetime.fromisoformat(since_text.replace("Z", "+00:00"))
            if since_text
            else now - timedelta(hours=1)
        )
        limit = int(body.get("pageSize") or 50)
        entries = (
            self._errors(service, revision, since, now, limit)
            if _at_least(minimum, "ERROR")
            else []
        )
        return {"entries": entries}

    def _errors(
        self, service: str, revision: str, since: datetime, now: datetime, limit: int
    ) -> list[dict[str, Any]]:
        service_name = next(
            (n for n in self.traffic.cloud_run.services if n.endswith(f"/services/{service}")), ""
        )
        behaviour = self.traffic.behaviour(service_name, revision)
        failures = self.traffic.requests(service_name, revision, since, now).server_errors
        if not behaviour.error_log or not failures:
            return []
        spacing = (now - since) / failures
        return [
            {
                "logName": f"projects/{self.project}/logs/run.googleapis.com%2Fstderr",
                "resource": {
                    "type": "cloud_run_revision",
                    "labels": {
                        "service_name": service,
                        "revision_name": revision,
                        "project_id": self.project,
                    },
                },
                "timestamp": (now - spacing * index).isoformat().replace("+00:00", "Z"),
                "severity": "ERROR",
                "textPayload": behaviour.error_log,
                "insertId": f"{revision}-{index}",
            }
            for index in range(min(failures, limit))
        ]


def _at_least(asked: str, severity: str) -> bool:
    """Whether entries of `severity` pass a `severity >= asked` filter."""
    return (
        SEVERITIES.index(severity) >= SEVERITIES.index(asked.upper())
        if asked.upper() in SEVERITIES
        else False
    )
