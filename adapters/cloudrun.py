"""Cloud Run through the official client (run_v2): services, revisions and their traffic.

Returns domain types, never protos. Reads, and the writes a rollout needs: a revision from an
image at 0% with a tag, and traffic moved to an exact split that is read back to verify it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from adapters.errors import AdapterError

if TYPE_CHECKING:
    from google.cloud import run_v2

COMMIT_LABEL = "commit-sha"
CONDITION_SUCCEEDED = 4


class CloudRunError(AdapterError):
    """Cloud Run could not answer; the message names the resource and what to do."""


class ServiceNotFound(CloudRunError):
    pass


class RevisionNotReady(CloudRunError):
    """A new revision failed to become ready; the message carries Cloud Run's reason."""


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

    @property
    def commit_label(self) -> str | None:
        """The commit this revision was built from, as its `commit-sha` label says (any length)."""
        return self.labels.get(COMMIT_LABEL) or None


@dataclass(frozen=True)
class ServiceState:
    name: str
    labels: dict[str, str]
    traffic: list[TrafficShare]
    latest_ready_revision: str
    uri: str = ""

    @property
    def serving(self) -> list[TrafficShare]:
        """The revisions that receive traffic, largest share first."""
        return sorted((t for t in self.traffic if t.percent > 0), key=lambda t: -t.percent)


def _short(resource_name: str) -> str:
    return resource_name.rsplit("/", 1)[-1]


def _revision(proto: run_v2.Revision) -> Revision:
    ready = next((c for c in proto.conditions if c.type_ == "Ready"), None)
    return Revision(
        name=_short(proto.name),
        service=_short(proto.service),
        created=proto.create_time,
        image=proto.containers[0].image if proto.containers else "",
        labels=dict(proto.labels),
        ready=ready is not None and int(ready.state) == CONDITION_SUCCEEDED,
        ready_message=ready.message if ready is not None else "no Ready condition",
    )


def _service(proto: run_v2.Service) -> ServiceState:
    return ServiceState(
        name=_short(proto.name),
        labels=dict(proto.labels),
        traffic=[
            TrafficShare(_short(t.revision), int(t.percent), t.tag or None)
            for t in proto.traffic_statuses
        ],
        latest_ready_revision=_short(proto.latest_ready_revision),
        uri=proto.uri,
    )


class CloudRun:
    """One project and region of Cloud Run."""

    def __init__(
        self,
        services: run_v2.ServicesClient,
        revisions: run_v2.RevisionsClient,
        *,
        project: str,
        region: str,
        timeout_s: float,
    ) -> None:
        self._services = services
        self._revisions = revisions
        self._parent = f"projects/{project}/locations/{region}"
        self._timeout_s = timeout_s

    @classmethod
    def connect(
        cls, *, project: str, region: str, timeout_s: float, endpoint: str | None = None
    ) -> CloudRun:
        """Production: Application Default Credentials. With `endpoint`: an emulator, anonymously."""
        from google.cloud import run_v2

        kwargs: dict[str, Any] = {"transport": "rest"}
        if endpoint is not None:
            from google.api_core.client_options import ClientOptions
            from google.auth.credentials import AnonymousCredentials

            kwargs.update(
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options=ClientOptions(api_endpoint=endpoint),
            )
        return cls(
            run_v2.ServicesClient(**kwargs),
            run_v2.RevisionsClient(**kwargs),
            project=project,
            region=region,
            timeout_s=timeout_s,
        )

    def service_path(self, service: str) -> str:
        return f"{self._parent}/services/{service}"

    def get_service(self, service: str) -> ServiceState:
        with _translated_errors(f"service {service}"):
            return _service(
                self._services.get_service(name=self.service_path(service), timeout=self._timeout_s)
            )

    def get_revision(self, service: str, revision: str) -> Revision:
        with _translated_errors(f"revision {revision} of {service}"):
            return _revision(
                self._revisions.get_revision(
                    name=f"{self.service_path(service)}/revisions/{revision}",
                    timeout=self._timeout_s,
                )
            )

    def list_revisions(self, service: str, limit: int = 20) -> list[Revision]:
        """The service's newest revisions first, at most `limit`."""
        with _translated_errors(f"revisions of {service}"):
            pages = self._revisions.list_revisions(
                parent=self.service_path(service), timeout=self._timeout_s
            )
            found = [_revision(r) for _, r in zip(range(limit), pages, strict=False)]
        return sorted(found, key=lambda r: r.created, reverse=True)

    # --- writes -------------------------------------------------------------------------------

    def create_revision(
        self,
        service: str,
        *,
        revision: str,
        image: str,
        labels: dict[str, str],
        keep: list[TrafficShare],
        tag: str,
    ) -> Revision:
        """A new revision from `image` receiving 0% under `tag`; traffic otherwise exactly `keep`.

        The split is pinned to named revisions first, so a "latest" target never hands the new
        revision traffic by itself. RevisionNotReady when it fails to start (e.g. unknown image).
        """
        from google.cloud import run_v2

        with _translated_errors(f"new revision {revision} of {service}"):
            current = self._services.get_service(
                name=self.service_path(service), timeout=self._timeout_s
            )
            current.template.revision = revision
            current.template.containers[0].image = image
            for key, value in labels.items():
                current.template.labels[key] = value
            kept = [
                TrafficShare(t.revision, t.percent, t.tag if t.tag != tag else None) for t in keep
            ]
            current.traffic = _targets([*kept, TrafficShare(revision, 0, tag)])
            operation = self._services.update_service(
                request=run_v2.UpdateServiceRequest(service=current), timeout=self._timeout_s
            )
            operation.result(timeout=self._timeout_s)  # type: ignore[no-untyped-call]
        created = self.get_revision(service, revision)
        if not created.ready:
            raise RevisionNotReady(
                f"revision {revision} of {service} is not ready: {created.ready_message}"
            )
        return created

    def route(self, service: str, split: list[TrafficShare]) -> ServiceState:
        """Traffic exactly as `split` (percentages summing to 100), read back to verify."""
        from google.cloud import run_v2

        if sum(t.percent for t in split) != 100:
            raise ValueError(f"a split must total 100%, not {sum(t.percent for t in split)}%")
        with _translated_errors(f"traffic of {service}"):
            current = self._services.get_service(
                name=self.service_path(service), timeout=self._timeout_s
            )
            current.traffic = _targets(split)
            operation = self._services.update_service(
                request=run_v2.UpdateServiceRequest(service=current), timeout=self._timeout_s
            )
            operation.result(timeout=self._timeout_s)  # type: ignore[no-untyped-call]
        after = self.get_service(service)
        wanted = {t.revision: t.percent for t in split if t.percent}
        actual = {t.revision: t.percent for t in after.serving}
        if actual != wanted:
            raise CloudRunError(
                f"traffic of {service} did not take effect: asked {wanted}, serving {actual}"
            )
        return after

    def set_service_labels(self, service: str, labels: dict[str, str]) -> None:
        """Labels on the service itself (e.g. commit-sha once a rollout completes)."""
        from google.cloud import run_v2
        from google.protobuf import field_mask_pb2

        with _translated_errors(f"labels of {service}"):
            current = self._services.get_service(
                name=self.service_path(service), timeout=self._timeout_s
            )
            for key, value in labels.items():
                current.labels[key] = value
            request = run_v2.UpdateServiceRequest(
                service=current, update_mask=field_mask_pb2.FieldMask(paths=["labels"])
            )
            self._services.update_service(request=request, timeout=self._timeout_s).result(  # type: ignore[no-untyped-call]
                timeout=self._timeout_s
            )


def _targets(split: list[TrafficShare]) -> list[Any]:
    from google.cloud import run_v2

    by_revision = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
    return [
        run_v2.TrafficTarget(
            type_=by_revision, revision=t.revision, percent=t.percent, tag=t.tag or ""
        )
        for t in split
    ]


@contextmanager
def _translated_errors(what: str) -> Iterator[None]:
    """Google API errors become CloudRunError messages a person can act on."""
    from google.api_core import exceptions

    try:
        yield
    except exceptions.NotFound:
        raise ServiceNotFound(f"{what}: not found in Cloud Run") from None
    except exceptions.PermissionDenied:
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
