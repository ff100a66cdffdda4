"""A Cloud Run Admin API v2 emulator on loopback for the real google-cloud-run REST client.

services.get/list/patch (update mask, etag, long-running operations that take
`state.operation_s`), revisions.get/list, operations.get; errors in Google's JSON shape so the
client raises NotFound, Conflict...
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.cloudrun_state import CloudRunState
from sandbox.json_http import GoogleApiError, JsonApi, Query

_LOCATION = r"projects/[^/]+/locations/[^/]+"
_SERVICES = re.compile(rf"^/v2/({_LOCATION})/services$")
_SERVICE = re.compile(rf"^/v2/({_LOCATION}/services/[^/]+)$")
_REVISIONS = re.compile(rf"^/v2/({_LOCATION}/services/[^/]+)/revisions$")
_REVISION = re.compile(rf"^/v2/({_LOCATION}/services/[^/]+/revisions/[^/]+)$")
_TEST_PERMISSIONS = re.compile(rf"^/v2/({_LOCATION}/services/[^/:]+):testIamPermissions$")
_OPERATION = re.compile(rf"^/v2/({_LOCATION}/operations/[^/]+)$")
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class ReceivedCall:
    method: str
    path: str


class CloudRunEmulator(JsonApi):
    """Serves the v2 REST API over one CloudRunState."""

    thread_name = "cloudrun-emulator"

    def __init__(self, state: CloudRunState) -> None:
        super().__init__()
        self.state = state
        self.received: list[ReceivedCall] = []
        self.latency_s = 0.0  # injected before every answer (timeout tests, benchmarks)
        self.refuse_writes = 0  # the next N service updates are refused (403), as without IAM
        self.refuse_reads = 0  # the next N services.get are refused (403) likewise
        self.denied_permissions: set[str] = set()  # what testIamPermissions leaves out
        # Run once just before the next service update is handled: someone else's write racing
        # opsbot's (a gcloud deploy between opsbot's read and its write).
        self.before_next_write: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def route(self, method: str, path: str, query: Query, body: dict[str, Any]) -> dict[str, Any]:
        """The answer as Cloud Run's REST API writes it: enums by name (the state keeps numbers)."""
        answer: dict[str, Any] = _named_enums(self._answer(method, path, query, body))
        return answer

    def _answer(self, method: str, path: str, query: Query, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.received.append(ReceivedCall(method, path))
        if self.latency_s > 0:
            self.stopping.wait(self.latency_s)
        state = self.state
        if method == "POST" and (m := _TEST_PERMISSIONS.match(path)):
            state.get_service(m[1])  # 404 for a service that does not exist
            asked = [str(p) for p in body.get("permissions", [])]
            return {"permissions": [p for p in asked if p not in self.denied_permissions]}
        if method == "GET" and (m := _SERVICES.match(path)):
            return _page("services", state.list_services(m[1]), query)
        if m := _SERVICE.match(path):
            if method == "GET":
                with self._lock:
                    refused = self.refuse_reads > 0
                    self.refuse_reads -= refused
                if refused:
                    raise GoogleApiError(
                        403, "forbidden", "Permission 'run.services.get' denied (injected)"
                    )
                return state.get_service(m[1])
            if method == "PATCH":
                with self._lock:
                    refused = self.refuse_writes > 0
                    self.refuse_writes -= refused
                if refused:
                    raise GoogleApiError(
                        403, "forbidden", "Permission 'run.services.update' denied (injected)"
                    )
                with self._lock:
                    racing, self.before_next_write = self.before_next_write, None
                if racing is not None:
                    racing()
                mask = [p for v in query.get("updateMask", []) for p in v.split(",") if p]
                validate_only = query.get("validateOnly", ["false"])[-1] == "true"
                return state.update_service(m[1], body, mask or None, validate_only=validate_only)
        if method == "GET" and (m := _REVISIONS.match(path)):
            return _page("revisions", state.list_revisions(m[1]), query)
        if method == "GET" and (m := _REVISION.match(path)):
            return state.get_revision(m[1])
        if method == "GET" and (m := _OPERATION.match(path)):
            return state.get_operation(m[1])
        raise GoogleApiError(404, "notFound", f"Not found: {method} {path}")


_TRAFFIC_TYPE = {
    1: "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST",
    2: "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
}
_CONDITION_STATE = {
    1: "CONDITION_PENDING",
    2: "CONDITION_RECONCILING",
    3: "CONDITION_FAILED",
    4: "CONDITION_SUCCEEDED",
}
_INGRESS = {1: "INGRESS_TRAFFIC_ALL", 2: "INGRESS_TRAFFIC_INTERNAL_ONLY"}


def _named_enums(value: Any, key: str = "") -> Any:
    """Enum fields by name, as proto3 JSON (and so the REST API) writes them."""
    if isinstance(value, list):
        return [_named_enums(item, key) for item in value]
    if not isinstance(value, dict):
        return value
    named: dict[str, Any] = {}
    for field, item in value.items():
        if field == "type" and key in ("traffic", "trafficStatuses") and isinstance(item, int):
            item = _TRAFFIC_TYPE.get(item, item)
        elif (
            field == "state"
            and key in ("conditions", "terminalCondition")
            and isinstance(item, int)
        ):
            item = _CONDITION_STATE.get(item, item)
        elif field == "ingress" and isinstance(item, int):
            item = _INGRESS.get(item, item)
        named[field] = _named_enums(item, field)
    return named


def _page(kind: str, items: list[dict[str, Any]], query: Query) -> dict[str, Any]:
    start = int(query.get("pageToken", ["0"])[-1] or 0)
    size = int(query.get("pageSize", [str(DEFAULT_PAGE_SIZE)])[-1] or DEFAULT_PAGE_SIZE)
    body: dict[str, Any] = {kind: items[start : start + size]}
    if start + size < len(items):
        body["nextPageToken"] = str(start + size)
    return body
