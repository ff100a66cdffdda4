"""A Cloud Logging emulator: `entries:list` over HTTP for the ERROR lines of Cloud Run revisions.

The real google-cloud-logging client (HTTP transport) asks for a revision's entries at or above a
severity since a time; the answer is what the simulated traffic's failures logged: one ERROR
line per 5xx, each with its request's timestamp, as Cloud Run's logs would show. As the API
documents: `orderBy` is "timestamp asc" (the default) or "timestamp desc"; a page holds at most
`pageSize` entries (default 50, at most 1000) and a `nextPageToken` when more match. The fault
plan's `logging.page_size` makes pages smaller still, as the real service may ("fewer entries than
pageSize ... the presence of nextPageToken is the only indication that more exist").

It also answers the Admin Activity audit log of Cloud Run's `UpdateService` (the traffic changes).
As Cloud Run's audit-logging page documents, an ADMIN_WRITE method is written to
`cloudaudit.googleapis.com%2Factivity` under `protoPayload.serviceName` "run.googleapis.com", and
a long-running one "usually" writes two entries, one when the operation starts (with the request)
and one when it ends (`operation.last`); the sandbox writes both for every split the emulated
service took, at the time it took effect.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.json_http import GoogleApiError, JsonApi, Query
from sandbox.traffic import TrafficModel

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_MATCHES = 5000  # the sandbox keeps at most this many lines a query (plenty for a sample)
TERM = re.compile(r'([\w.]+)\s*(>=|<=|=)\s*"?([^"\s]+)"?')
ACTIVITY_LOG = "cloudaudit.googleapis.com%2Factivity"
UPDATE_SERVICE = "google.cloud.run.v2.Services.UpdateService"
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
        found = TERM.findall(body.get("filter", ""))
        terms = {key: (op, value) for key, op, value in found if op != "<="}
        until_text = next((v for k, op, v in found if k == "timestamp" and op == "<="), "")
        service = terms.get("resource.labels.service_name", ("", ""))[1]
        if terms.get("logName", ("", ""))[1].endswith(ACTIVITY_LOG):
            return self._answer_audit(body, service, terms, until_text)
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

    def _answer_audit(
        self, body: dict[str, Any], service: str, terms: dict[str, Any], until_text: str
    ) -> dict[str, Any]:
        """UpdateService's audit entries of one service in [since, until], oldest first."""
        if terms.get("protoPayload.methodName", ("", ""))[1] != UPDATE_SERVICE or not service:
            raise GoogleApiError(
                400, "badRequest", "the sandbox answers audit filters on UpdateService per service"
            )
        since_text = terms.get("timestamp", (">=", ""))[1]
        since = _parse(since_text) if since_text else datetime.min.replace(tzinfo=UTC)
        until = _parse(until_text) if until_text else self.clock()
        service_name = next(
            (n for n in self.traffic.cloud_run.services if n.endswith(f"/services/{service}")), ""
        )
        entries = []
        for index, (at, split) in enumerate(self.traffic.cloud_run.split_history(service_name)):
            if since <= at <= until:
                entries += _update_service_entries(self.project, service_name, index, at, split)
        if str(body.get("orderBy") or "timestamp asc").strip().lower() == "timestamp desc":
            entries.reverse()
        size = min(int(body.get("pageSize") or DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)
        offset = int(str(body.get("pageToken") or "0"))
        answer: dict[str, Any] = {"entries": entries[offset : offset + size]}
        if offset + size < len(entries):
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
        stamps = _spread(self.traffic.served_spans(service_name, revision, since, now), failures)
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
                "timestamp": stamp.isoformat().replace("+00:00", "Z"),
                "severity": "ERROR",
                "textPayload": behaviour.error_log,
                "insertId": f"{revision}-{index}",
            }
            for index, stamp in enumerate(stamps[:MAX_MATCHES])
        ]


def _spread(spans: list[tuple[datetime, datetime]], count: int) -> list[datetime]:
    """`count` moments spaced evenly over the spans' time, newest first.

    A request is logged when it is served (Cloud Logging's `timestamp` is the time the entry
    was written by the revision), so a revision's failures fall only while it had traffic.
    """
    total = sum(((end - begin) for begin, end in spans), timedelta())
    if count <= 0 or total <= timedelta():
        return []
    step = total / count
    stamps: list[datetime] = []
    for index in range(count):
        left = step * index + step / 2  # back from the newest end of the served time
        for begin, end in reversed(spans):
            if left < end - begin:
                stamps.append(end - left)
                break
            left -= end - begin
    return stamps


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _update_service_entries(
    project: str, service_name: str, index: int, at: datetime, split: dict[str, int]
) -> list[dict[str, Any]]:
    """The two audit entries of one UpdateService operation: its start (request) and its end."""
    service_id = service_name.rsplit("/", 1)[-1]
    common = {
        "logName": f"projects/{project}/logs/{ACTIVITY_LOG}",
        "resource": {
            "type": "cloud_run_revision",
            "labels": {"service_name": service_id, "project_id": project, "revision_name": ""},
        },
        "timestamp": at.isoformat().replace("+00:00", "Z"),
        "severity": "NOTICE",
    }
    payload = {
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "serviceName": "run.googleapis.com",
        "methodName": UPDATE_SERVICE,
        "resourceName": service_name,
        "authenticationInfo": {"principalEmail": f"opsbot@{project}.iam.gserviceaccount.com"},
    }
    operation = {"id": f"{service_id}-update-{index}", "producer": "run.googleapis.com"}
    traffic = [
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": r, "percent": p}
        for r, p in split.items()
    ]
    request = {
        "@type": "type.googleapis.com/google.cloud.run.v2.UpdateServiceRequest",
        "service": {"name": service_name, "traffic": traffic},
    }
    return [
        {
            **common,
            "insertId": f"{service_id}-{index}-first",
            "operation": {**operation, "first": True},
            "protoPayload": {**payload, "request": request},
        },
        {
            **common,
            "insertId": f"{service_id}-{index}-last",
            "operation": {**operation, "last": True},
            "protoPayload": payload,
        },
    ]


def _at_least(asked: str, severity: str) -> bool:
    """Whether entries of `severity` pass a `severity >= asked` filter."""
    return (
        SEVERITIES.index(severity) >= SEVERITIES.index(asked.upper())
        if asked.upper() in SEVERITIES
        else False
    )
