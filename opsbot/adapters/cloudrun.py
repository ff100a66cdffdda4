"""Cloud Run through the official client (run_v2): services, revisions and their traffic.

Returns domain types, never protos. Reads now; the deploy issue adds the writes (a revision from
an image, traffic moves) on the same clients, which is why both clients live here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opsbot.adapters.errors import AdapterError

if TYPE_CHECKING:
    from google.cloud import run_v2

COMMIT_LABEL = "commit-sha"
CONDITION_SUCCEEDED = 4


class CloudRunError(AdapterError):
    """Cloud Run could not answer; the message names the resource and what to do."""


class ServiceNotFound(CloudRunError):
    pass


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
            f"{what}: permission denied (the account needs roles/run.viewer)"
        ) from None
    except exceptions.RetryError:
        raise CloudRunError(f"{what}: Cloud Run did not answer in time") from None
    except exceptions.GoogleAPICallError as exc:
        raise CloudRunError(f"{what}: {exc}") from None
    except OSError as exc:  # requests' errors are OSErrors
        if "timeout" in type(exc).__name__.lower() or "timed out" in str(exc):
            raise CloudRunError(f"{what}: Cloud Run did not answer in time") from None
        raise CloudRunError(f"{what}: cannot reach Cloud Run ({type(exc).__name__})") from None
