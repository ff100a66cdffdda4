"""Cloud Run's rules and shapes for the emulator's state: enums, mutable fields, update masks,
resource names, etags, and the record of a write whose operation has not finished."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.json_http import GoogleApiError

LATEST = 1  # TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
REVISION = 2  # TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
CONDITION_RECONCILING = 2
CONDITION_FAILED = 3
CONDITION_SUCCEEDED = 4
CODE_FAILED_PRECONDITION = 9  # google.rpc.Code of a revision that cannot become ready
INGRESS_TRAFFIC_ALL = 1
TRAFFIC_TYPES = {
    "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST": LATEST,
    "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION": REVISION,
}
# What a client may change; everything else in a PATCH body is output only and ignored.
MUTABLE_SERVICE_FIELDS = (
    "description",
    "labels",
    "annotations",
    "client",
    "clientVersion",
    "ingress",
    "launchStage",
    "binaryAuthorization",
    "template",
    "traffic",
    "scaling",
    "invokerIamDisabled",
    "defaultUriDisabled",
    "customAudiences",
)
MASK_ALIASES = {  # update masks arrive in snake_case (proto field names) or camelCase
    "client_version": "clientVersion",
    "launch_stage": "launchStage",
    "binary_authorization": "binaryAuthorization",
    "invoker_iam_disabled": "invokerIamDisabled",
    "default_uri_disabled": "defaultUriDisabled",
    "custom_audiences": "customAudiences",
}


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def not_found(kind: str, name: str) -> GoogleApiError:
    return GoogleApiError(404, "notFound", f"{kind} '{name}' was not found.")


def invalid(message: str) -> GoogleApiError:
    return GoogleApiError(400, "badRequest", message)


@dataclass(frozen=True)
class SeedRevision:
    """A revision that existed before the sandbox started."""

    name: str
    image: str
    created: datetime
    labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Pending:
    """A write whose operation has not finished: what it does when it does."""

    operation: str
    service: str
    revision: str | None  # the revision it creates, if any
    traffic: list[dict[str, Any]]  # the split it asked for
    done_at: datetime


SERVICE_TYPE = "type.googleapis.com/google.cloud.run.v2.Service"


def new_etag() -> str:
    return f'"{uuid.uuid4()}"'


def parent_of(name: str) -> str:
    """projects/P/locations/L of a services/… or operations/… resource name."""
    return "/".join(name.split("/")[:4])


def template_of(image: str, labels: dict[str, str], env: dict[str, str]) -> dict[str, Any]:
    container: dict[str, Any] = {"image": image}
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    return {"labels": dict(labels), "containers": [container]}


def traffic_type(value: Any) -> int:
    if isinstance(value, str):
        if value not in TRAFFIC_TYPES:
            raise invalid(f"Invalid traffic type '{value}'.")
        return TRAFFIC_TYPES[value]
    return int(value)


def apply_path(target: dict[str, Any], body: dict[str, Any], path: str) -> None:
    """Copy one update-mask path (possibly dotted, e.g. template.labels) from body to target."""
    if path.split(".")[0] not in MUTABLE_SERVICE_FIELDS:
        raise invalid(f"Invalid update mask path '{path}'.")
    source: Any = body
    sink: Any = target
    parts = path.split(".")
    for part in parts[:-1]:
        source = source.get(part, {}) if isinstance(source, dict) else {}
        sink = sink.setdefault(part, {})
    last = parts[-1]
    if isinstance(source, dict) and last in source:
        sink[last] = copy.deepcopy(source[last])
    else:
        sink.pop(last, None)
