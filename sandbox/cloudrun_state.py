"""The state behind the Cloud Run Admin API v2 emulator: services, revisions, traffic.

Resources are kept in their JSON (camelCase) form, as the REST API sends them, with enums as
integers. Updates follow Cloud Run's rules: a template change creates a revision, a named
revision that exists already is a conflict, traffic must name revisions that exist and add up
to 100 percent, and a body carrying a stale `etag` is refused with 409 ABORTED (the resource's
`etag` field, "may be used to detect modification conflict during updates", and AIP-154).

Writes are long-running operations, as in Cloud Run: with `operation_s` > 0 an update answers
`done: false`, the service says `reconciling: true` and keeps serving its old split, and the
new revision's Ready condition stays unknown until the operation finishes; then the split takes
effect, or, for a revision whose image cannot start, the operation ends with an `error` and no
traffic moves (operations.get answers the final state; the client polls it).
"""

from __future__ import annotations

import copy
import hashlib
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sandbox.cloudrun_rules import (
    CODE_FAILED_PRECONDITION,
    CONDITION_FAILED,
    CONDITION_RECONCILING,
    CONDITION_SUCCEEDED,
    INGRESS_TRAFFIC_ALL,
    LATEST,
    MASK_ALIASES,
    MUTABLE_SERVICE_FIELDS,
    REVISION,
    SERVICE_TYPE,
    Pending,
    SeedRevision,
    apply_path,
    invalid,
    new_etag,
    not_found,
    parent_of,
    template_of,
    timestamp,
    traffic_type,
)
from sandbox.json_http import GoogleApiError

__all__ = ["CloudRunState", "SeedRevision"]


class CloudRunState:
    """Services and revisions of one emulated Cloud Run, safe to use from several threads."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        image_exists: Callable[[str], bool] = lambda image: True,
    ) -> None:
        self.clock = clock
        self.image_exists = image_exists
        self.services: dict[str, dict[str, Any]] = {}
        self.revisions: dict[str, dict[str, Any]] = {}
        self.operations: dict[str, dict[str, Any]] = {}
        self.splits: dict[str, list[tuple[datetime, dict[str, int]]]] = {}  # service → history
        self.operation_s = 0.0  # how long every write's operation takes (the fault plan sets it)
        self._pending: list[Pending] = []
        self.lock = threading.RLock()

    # --- seeding ------------------------------------------------------------------------------

    def add_service(
        self,
        parent: str,
        service_id: str,
        revisions: Iterable[SeedRevision],
        traffic: Iterable[tuple[str, int]],
        *,
        labels: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """A service with its revisions (oldest first), traffic as (revision, %) and tags."""
        name = f"{parent}/services/{service_id}"
        history = list(revisions)
        service: dict[str, Any] = {
            "name": name,
            "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
            "generation": str(len(history)),
            "labels": dict(labels or {}),
            "annotations": {},
            "createTime": timestamp(history[0].created),
            "creator": "deployer@nba-props-platform.iam.gserviceaccount.com",
            "ingress": INGRESS_TRAFFIC_ALL,
            "traffic": [
                {"type": REVISION, "revision": revision, "percent": percent}
                | ({"tag": (tags or {})[revision]} if revision in (tags or {}) else {})
                for revision, percent in traffic
            ],
        }
        with self.lock:
            for seed in history:
                template = template_of(seed.image, seed.labels, seed.env)
                self._store_revision(service, seed.name, template, seed.created)
                service["template"] = template
            service["updateTime"] = timestamp(history[-1].created)
            self._validate_traffic(service, service["traffic"])
            self._refresh_status(service)
            self.services[name] = service
            self._record_split(service, history[-1].created)
        return copy.deepcopy(service)

    # --- reads --------------------------------------------------------------------------------

    def get_service(self, name: str) -> dict[str, Any]:
        with self.lock:
            self.settle()
            if name not in self.services:
                raise not_found("Resource", name.rsplit("/", 1)[-1])
            return copy.deepcopy(self.services[name])

    def list_services(self, parent: str) -> list[dict[str, Any]]:
        with self.lock:
            self.settle()
            return [
                copy.deepcopy(s) for n, s in sorted(self.services.items()) if parent_of(n) == parent
            ]

    def get_revision(self, name: str) -> dict[str, Any]:
        with self.lock:
            self.settle()
            if name not in self.revisions:
                raise not_found("Revision", name.rsplit("/", 1)[-1])
            return copy.deepcopy(self.revisions[name])

    def list_revisions(self, service_name: str) -> list[dict[str, Any]]:
        """The service's revisions, newest first."""
        with self.lock:
            self.settle()
            if service_name not in self.services:
                raise not_found("Resource", service_name.rsplit("/", 1)[-1])
            return copy.deepcopy(self._revisions_of(service_name))

    # --- writes -------------------------------------------------------------------------------

    def update_service(
        self, name: str, body: dict[str, Any], mask: list[str] | None, *, validate_only: bool
    ) -> dict[str, Any]:
        """Apply a PATCH; return its long-running operation (done unless `operation_s` > 0)."""
        paths = [MASK_ALIASES.get(p, p) for p in mask] if mask else None
        with self.lock:
            self.settle()
            current = self.services.get(name)
            if current is None:
                raise not_found("Resource", name.rsplit("/", 1)[-1])
            if body.get("etag") and body["etag"] != current["etag"]:
                raise GoogleApiError(
                    409,
                    "aborted",
                    f"The service '{name.rsplit('/', 1)[-1]}' was modified since it was read "
                    f"(etag {body['etag']} is stale; current {current['etag']}). Read it again "
                    "and reapply the change.",
                    status="ABORTED",
                )
            updated = copy.deepcopy(current)
            for path in paths or [f for f in MUTABLE_SERVICE_FIELDS if f in body]:
                apply_path(updated, body, path)
            for target in updated.get("traffic", []):
                target["type"] = traffic_type(target.get("type", REVISION))
            # stored templates never keep `revision`, so naming one is a change by itself
            template_changed = updated["template"] != current["template"]
            revision = updated["template"].get("revision")
            revision_name = self._new_revision_name(updated, revision) if template_changed else None
            self._validate_traffic(updated, updated.get("traffic", []), new_revision=revision_name)
            if validate_only:
                return self._operation(name, updated, record=False)
            now = self.clock()
            if revision_name is not None:
                self._store_revision(updated, revision_name, updated["template"], now, ready=None)
            updated["generation"] = str(int(current["generation"]) + 1)
            updated["updateTime"] = timestamp(now)
            updated["reconciling"] = True
            updated["etag"] = new_etag()
            if revision_name is not None:
                updated["latestCreatedRevision"] = f"{name}/revisions/{revision_name}"
            self.services[name] = updated
            operation = self._operation(name, updated, record=True, done=False)
            pending = Pending(
                operation["name"],
                name,
                revision_name,
                copy.deepcopy(updated["traffic"]),
                now + timedelta(seconds=self.operation_s),
            )
            self._pending.append(pending)
            if self.operation_s <= 0:
                self.settle()
                return copy.deepcopy(self.operations[operation["name"]])
            return operation

    def settle(self) -> None:
        """Finish every operation whose time has come, oldest first (called before each answer)."""
        with self.lock:
            now = self.clock()
            while self._pending and self._pending[0].done_at <= now:
                self._finish(self._pending.pop(0))

    def _finish(self, pending: Pending) -> None:
        service = self.services[pending.service]
        error: dict[str, Any] | None = None
        if pending.revision is not None:
            revision = self.revisions[f"{pending.service}/revisions/{pending.revision}"]
            image = revision["containers"][0]["image"] if revision["containers"] else ""
            ready = self.image_exists(image)
            condition = revision["conditions"][0]
            condition.update(
                state=CONDITION_SUCCEEDED if ready else CONDITION_FAILED,
                lastTransitionTime=timestamp(pending.done_at),
            )
            if not ready:
                condition["message"] = f"Image '{image}' not found."
                error = {
                    "code": CODE_FAILED_PRECONDITION,
                    "message": f"Revision '{pending.revision}' is not ready and cannot serve "
                    f"traffic. Image '{image}' not found.",
                }
        if error is None:
            self._refresh_status(service, pending.traffic)
            self._record_split(service, pending.done_at)
        else:
            service["terminalCondition"] = {
                "type": "Ready",
                "state": CONDITION_FAILED,
                "message": error["message"],
            }
        service["reconciling"] = any(
            p.service == pending.service for p in self._pending if p is not pending
        )
        service["etag"] = new_etag()
        operation = self.operations[pending.operation]
        operation["done"] = True
        if error is not None:
            operation["error"] = error
        else:
            resource = {"@type": SERVICE_TYPE, **copy.deepcopy(service)}
            operation.update(metadata=resource, response=resource)

    def split_history(self, service_name: str) -> list[tuple[datetime, dict[str, int]]]:
        """Every traffic split the service had, with when it took effect, oldest first."""
        with self.lock:
            self.settle()
            return list(self.splits.get(service_name, []))

    def get_operation(self, name: str) -> dict[str, Any]:
        with self.lock:
            self.settle()
            if name not in self.operations:
                raise not_found("Operation", name.rsplit("/", 1)[-1])
            return copy.deepcopy(self.operations[name])

    # --- internals ----------------------------------------------------------------------------

    def _new_revision_name(self, service: dict[str, Any], requested: str | None) -> str:
        service_id = service["name"].rsplit("/", 1)[-1]
        if requested:
            if not requested.startswith(f"{service_id}-"):
                raise invalid(
                    f"Revision name '{requested}' must begin with the service name '{service_id}-'."
                )
            if f"{service['name']}/revisions/{requested}" in self.revisions:
                raise GoogleApiError(
                    409, "alreadyExists", f"Revision named '{requested}' already exists."
                )
            return str(requested)
        number = int(service["generation"]) + 1
        suffix = hashlib.sha1(f"{service['name']}:{number}".encode()).hexdigest()[:3]
        return f"{service_id}-{number:05d}-{suffix}"

    def _store_revision(
        self,
        service: dict[str, Any],
        revision_id: str,
        template: dict[str, Any],
        at: datetime,
        ready: bool | None = True,
    ) -> None:
        """A revision; `ready` None: still starting (its operation decides)."""
        name = f"{service['name']}/revisions/{revision_id}"
        states = {True: CONDITION_SUCCEEDED, False: CONDITION_FAILED, None: CONDITION_RECONCILING}
        condition: dict[str, Any] = {
            "type": "Ready",
            "state": states[ready],
            "lastTransitionTime": timestamp(at),
        }
        self.revisions[name] = {
            "name": name,
            "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
            "generation": "1",
            "labels": dict(template.get("labels", {})),
            "annotations": dict(template.get("annotations", {})),
            "createTime": timestamp(at),
            "updateTime": timestamp(at),
            "service": service["name"],
            "containers": copy.deepcopy(template.get("containers", [])),
            "conditions": [condition],
            "observedGeneration": "1",
            "etag": f'"{uuid.uuid5(uuid.NAMESPACE_URL, name + ":etag")}"',
        }
        template.pop("revision", None)

    def _validate_traffic(
        self,
        service: dict[str, Any],
        traffic: list[dict[str, Any]],
        new_revision: str | None = None,
    ) -> None:
        if not traffic:
            raise invalid("Traffic must name at least one target.")
        total = 0
        tags: set[str] = set()
        for target in traffic:
            total += int(target.get("percent", 0))
            if traffic_type(target.get("type", REVISION)) == REVISION:
                revision = target.get("revision", "")
                known = f"{service['name']}/revisions/{revision}" in self.revisions
                if not known and revision != new_revision:
                    raise invalid(f"Revision '{revision}' referenced in traffic not found.")
            if tag := target.get("tag"):
                if tag in tags:
                    raise invalid(f"Traffic tag '{tag}' is used more than once.")
                tags.add(tag)
        if total != 100:
            raise invalid(f"Traffic percentages must add up to 100, not {total}.")

    def _refresh_status(
        self, service: dict[str, Any], traffic: list[dict[str, Any]] | None = None
    ) -> None:
        """Status as Cloud Run reports it once `traffic` (default: the service's own) took effect."""
        revisions = self._revisions_of(service["name"])
        latest_created = revisions[0]["name"].rsplit("/", 1)[-1] if revisions else ""
        ready = [r for r in revisions if r["conditions"][0]["state"] == CONDITION_SUCCEEDED]
        latest_ready = ready[0]["name"].rsplit("/", 1)[-1] if ready else ""
        service_id = service["name"].rsplit("/", 1)[-1]
        statuses = []
        for target in service["traffic"] if traffic is None else traffic:
            status = {
                "type": target["type"],
                "revision": latest_ready if target["type"] == LATEST else target["revision"],
                "percent": int(target.get("percent", 0)),
            }
            if tag := target.get("tag"):
                status["tag"] = tag
                status["uri"] = f"https://{tag}---{service_id}-sandbox.a.run.app"
            statuses.append(status)
        service.update(
            observedGeneration=service["generation"],
            latestCreatedRevision=f"{service['name']}/revisions/{latest_created}",
            latestReadyRevision=f"{service['name']}/revisions/{latest_ready}",
            trafficStatuses=statuses,
            uri=f"https://{service_id}-sandbox.a.run.app",
            reconciling=False,
            terminalCondition={"type": "Ready", "state": CONDITION_SUCCEEDED},
            etag=new_etag(),
        )

    def _record_split(self, service: dict[str, Any], at: datetime) -> None:
        split: dict[str, int] = {}
        for status in service["trafficStatuses"]:
            if status["percent"]:
                split[status["revision"]] = split.get(status["revision"], 0) + status["percent"]
        history = self.splits.setdefault(service["name"], [])
        if not history or history[-1][1] != split:
            history.append((at, split))

    def _revisions_of(self, service_name: str) -> list[dict[str, Any]]:
        found = [r for r in self.revisions.values() if r["service"] == service_name]
        return sorted(found, key=lambda r: r["createTime"], reverse=True)

    def _operation(
        self, name: str, service: dict[str, Any], *, record: bool, done: bool = True
    ) -> dict[str, Any]:
        operation_name = f"{parent_of(name)}/operations/{uuid.uuid4()}"
        resource = {"@type": SERVICE_TYPE, **service}
        operation: dict[str, Any] = {"name": operation_name, "metadata": resource, "done": done}
        if done:
            operation["response"] = resource
        if record:
            self.operations[operation_name] = operation
        return copy.deepcopy(operation)
