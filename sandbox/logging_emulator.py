"""A Cloud Logging emulator: `entries:list` over HTTP for the ERROR lines of Cloud Run revisions.

The real google-cloud-logging client (HTTP transport) asks for a revision's entries at or above a
severity since a time; the answer is what the simulated traffic's failures logged: one ERROR
line per 5xx, each with its request's timestamp, as Cloud Run's logs would show. As the API
documents: `orderBy` is "timestamp asc" (the default) or "timestamp desc"; a page holds at most
`pageSize` entries (default 50, at most 1000) and a `nextPageToken` when more match. The fault
plan's `logging.page_size` makes pages smaller still, as the real service may ("fewer entries than
pageSize ... the presence of nextPageToken is the only indication that more exist").
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sandbox.json_http import GoogleApiError, JsonApi, Query
from sandbox.traffic import TrafficModel

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_MATCHES = 5000  # the sandbox keeps at most this many lines a query (plenty for a sample)
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

    def __init__(
        self, traffic: TrafficModel, project: str, clock: Any, *, page_size: int | None = None
    ) -> None:
        super().__init__()
        self.traffic = traffic
        self.project = project
        self.clock = clock
        self.page_size = page_size  # a cap below what clients ask for (the fault plan)

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
        order = str(body.get("orderBy") or "timestamp asc").strip().lower()
        if order not in ("timestamp asc", "timestamp desc"):
            raise GoogleApiError(400, "badRequest", f"Invalid orderBy: {body.get('orderBy')}")
        size = min(int(body.get("pageSize") or DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
        if self.page_size is not None:
            size = min(size, self.page_size)
        token = str(body.get("pageToken") or "0")
        if not token.isdigit():
            raise GoogleApiError(400, "badRequest", "Invalid page token")
        offset = int(token)
        matching = (
            self._errors(service, revision, since, now) if _at_least(minimum, "ERROR") else []
        )
        if order == "timestamp asc":
            matching = matching[::-1]
        answer: dict[str, Any] = {"entries": matching[offset : offset + size]}
        if offset + size < len(matching):
            answer["nextPageToken"] = str(offset + size)
        return answer

    def _errors(
        self, service: str, revision: str, since: datetime, now: datetime
    ) -> list[dict[str, Any]]:
        """Every ERROR line the revision logged in [since, now), newest first."""
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
            for index in range(min(failures, MAX_MATCHES))
        ]


def _at_least(asked: str, severity: str) -> bool:
    """Whether entries of `severity` pass a `severity >= asked` filter."""
    return (
        SEVERITIES.index(severity) >= SEVERITIES.index(asked.upper())
        if asked.upper() in SEVERITIES
        else False
    )
