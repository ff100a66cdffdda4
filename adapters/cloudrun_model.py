"""Cloud Run as opsbot sees it: domain types from run_v2's protos, the errors it raises, and the
helpers its client uses (traffic targets, stale etags, what changed, error translation)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from string import Template
from typing import TYPE_CHECKING, Any

from adapters.errors import AdapterError
from infra.wording import short_sha

if TYPE_CHECKING:
    from google.cloud import run_v2

COMMIT_LABEL = "commit-sha"
BUILD_ENV = "BUILD_COMMIT"  # the platform stamps what it writes (predictions) with this
LATEST_TARGET = "LATEST"  # a desired target that follows the latest ready revision, unnamed
CONDITION_SUCCEEDED = 4


class CloudRunError(AdapterError):
    """Cloud Run could not answer; the message names the resource and what to do."""


class ServiceNotFound(CloudRunError):
    pass


class RevisionNotReady(CloudRunError):
    """A new revision failed to become ready; the message carries Cloud Run's reason."""


class ConcurrentChange(CloudRunError):
    """Someone changed the service between opsbot's read and its write; nothing was overwritten."""


class NotWanted(CloudRunError):
    """The caller's condition, asked between reading the service and writing it, said no: nothing
    was written."""


@dataclass(frozen=True)
class OperationStatus:
    """A long-running operation as last read: done or not, and Cloud Run's error if it failed."""

    name: str
    done: bool
    error: str | None = None


@dataclass(frozen=True)
class TrafficShare:
    """A share of a service's traffic as Cloud Run reports it (traffic_statuses)."""

    revision: str
    percent: int
    tag: str | None = None


@dataclass(frozen=True)
class Revision:
    name: str
    service: str
    created: datetime
    image: str
    labels: dict[str, str] = field(default_factory=dict)
    ready: bool = True
    ready_message: str = ""
    env: dict[str, str] = field(default_factory=dict)  # its (first) container's plain values

    @property
    def commit_label(self) -> str | None:
        """The commit this revision was built from, as its `commit-sha` label says (any length)."""
        return self.labels.get(COMMIT_LABEL) or None


@dataclass(frozen=True)
class Build:
    """What a deploy of one commit writes into a revision's template (docs/platform.md): the
    image, and the commit as its `commit-sha` label and `BUILD_COMMIT`, short, one value both."""

    image: str
    labels: dict[str, str]
    env: dict[str, str]


def build_of(image_template: str, service: str, sha: str) -> Build:
    """The build of `sha` (full) for `service`; the image from the profile's `[deploy] image`
    ($service, $commit: the short SHA, as the platform's builds tag its images)."""
    image = Template(image_template).substitute(service=service, commit=short_sha(sha))
    return Build(image, commit_labels(sha), {BUILD_ENV: short_sha(sha)})


def commit_labels(sha: str) -> dict[str, str]:
    """The labels naming the commit a revision or service runs: `commit-sha=<short sha>`."""
    return {COMMIT_LABEL: short_sha(sha)}


@dataclass(frozen=True)
class ServiceState:
    """A service as read: `traffic` is what it serves (traffic_statuses), `desired` what its
    latest write asked for (traffic); they differ while Cloud Run is `reconciling` a write."""

    name: str
    labels: dict[str, str]
    traffic: list[TrafficShare]
    latest_ready_revision: str
    uri: str = ""
    desired: list[TrafficShare] = field(default_factory=list)
    reconciling: bool = False

    @property
    def serving(self) -> list[TrafficShare]:
        """The revisions that receive traffic, largest share first."""
        return sorted((t for t in self.traffic if t.percent > 0), key=lambda t: -t.percent)


def short_name(resource_name: str) -> str:
    return resource_name.rsplit("/", 1)[-1]


def revision_of(proto: run_v2.Revision) -> Revision:
    ready = next((c for c in proto.conditions if c.type_ == "Ready"), None)
    return Revision(
        name=short_name(proto.name),
        service=short_name(proto.service),
        created=proto.create_time,
        image=proto.containers[0].image if proto.containers else "",
        labels=dict(proto.labels),
        ready=ready is not None and int(ready.state) == CONDITION_SUCCEEDED,
        ready_message=ready.message if ready is not None else "no Ready condition",
        env={e.name: e.value for e in proto.containers[0].env} if proto.containers else {},
    )


def service_of(proto: run_v2.Service) -> ServiceState:
    return ServiceState(
        name=short_name(proto.name),
        labels=dict(proto.labels),
        traffic=[
            TrafficShare(short_name(t.revision), int(t.percent), t.tag or None)
            for t in proto.traffic_statuses
        ],
        latest_ready_revision=short_name(proto.latest_ready_revision),
        uri=proto.uri,
        desired=[
            TrafficShare(short_name(t.revision) or LATEST_TARGET, int(t.percent), t.tag or None)
            for t in proto.traffic
        ],
        reconciling=proto.reconciling,
    )


def split_of(shares: list[TrafficShare]) -> dict[str, int]:
    """Revision → percent, for the shares that get traffic."""
    return {t.revision: t.percent for t in shares if t.percent}


def set_env(container: run_v2.Container, values: dict[str, str]) -> None:
    """`values` as the container's plain environment values: each replaces any variable of its
    name (a value or a secret's reference), the others are kept as they were."""
    from google.cloud import run_v2

    kept = [e for e in container.env if e.name not in values]
    container.env = kept + [run_v2.EnvVar(name=k, value=v) for k, v in values.items()]


def traffic_targets(split: list[TrafficShare]) -> list[Any]:
    from google.cloud import run_v2

    by_revision = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
    return [
        run_v2.TrafficTarget(
            type_=by_revision, revision=t.revision, percent=t.percent, tag=t.tag or ""
        )
        for t in split
    ]


def is_stale_etag(error: Exception) -> bool:
    """A 409 that is Cloud Run's ABORTED for a stale etag (not ALREADY_EXISTS for a name)."""
    response = getattr(error, "response", None)
    try:
        status = response.json()["error"]["status"] if response is not None else ""
    except (ValueError, KeyError, TypeError):
        status = ""
    return status == "ABORTED" or "etag" in str(error).lower()


def what_changed(before: run_v2.Service, after: run_v2.Service) -> str:
    """What a write would overwrite between two reads: traffic or the template; "" for neither."""
    said = []
    split_before = {(t.revision, t.percent, t.tag) for t in before.traffic}
    split_after = {(t.revision, t.percent, t.tag) for t in after.traffic}
    if split_before != split_after:
        shares = ", ".join(
            f"{t.revision or 'latest'} {t.percent}%" for t in after.traffic if t.percent
        )
        said.append(f"traffic is now {shares}")
    if before.template != after.template:
        images = ", ".join(c.image for c in after.template.containers)
        said.append(f"its template changed (image now {images})")
    return "; ".join(said)


@contextmanager
def translated_errors(what: str) -> Iterator[None]:
    """Google API errors become CloudRunError messages a person can act on."""
    from google.api_core import exceptions

    try:
        yield
    except exceptions.NotFound:
        raise ServiceNotFound(f"{what}: not found in Cloud Run") from None
    except exceptions.Forbidden:  # REST 403s arrive as Forbidden; gRPC's PermissionDenied is one
        raise CloudRunError(
            f"{what}: permission denied (reads need roles/run.viewer, deploys roles/run.developer)"
        ) from None
    except exceptions.RetryError:
        raise CloudRunError(f"{what}: Cloud Run did not answer in time") from None
    except exceptions.GoogleAPICallError as exc:
        raise CloudRunError(f"{what}: {exc}") from None
    except OSError as exc:  # requests' errors are OSErrors
        if "timeout" in type(exc).__name__.lower() or "timed out" in str(exc):
            raise CloudRunError(f"{what}: Cloud Run did not answer in time") from None
        raise CloudRunError(f"{what}: cannot reach Cloud Run ({type(exc).__name__})") from None
