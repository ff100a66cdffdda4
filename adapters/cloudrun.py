"""Cloud Run through the official client (run_v2): services, revisions and their traffic.

Returns domain types, never protos. Reads, and the writes a rollout needs: a revision from an
image at 0% with a tag, and traffic moved to an exact split that is read back to verify it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from adapters.cloudrun_model import (
    CloudRunError,
    ConcurrentChange,
    NotWanted,
    OperationStatus,
    Revision,
    RevisionNotReady,
    ServiceState,
    TrafficShare,
    is_stale_etag,
    revision_of,
    service_of,
    set_env,
    short_name,
    split_of,
    traffic_targets,
    translated_errors,
    what_changed,
)

if TYPE_CHECKING:
    from google.cloud import run_v2

POLL_FIRST_S = 1.0  # an operation is polled after 1 s, then 2, 4, and every 5 s
POLL_MAX_S = 5.0
ETAG_ATTEMPTS = 3


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
        operation_timeout_s: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._services = services
        self._revisions = revisions
        self._parent = f"projects/{project}/locations/{region}"
        self._timeout_s = timeout_s  # one request
        self._operation_timeout_s = operation_timeout_s  # one write's operation, polled
        self._sleep = sleep
        self._monotonic = monotonic

    @classmethod
    def connect(
        cls,
        *,
        project: str,
        region: str,
        timeout_s: float,
        operation_timeout_s: float = 600.0,
        endpoint: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
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
            operation_timeout_s=operation_timeout_s,
            sleep=sleep,
            monotonic=monotonic,
        )

    def service_path(self, service: str) -> str:
        return f"{self._parent}/services/{service}"

    def get_service(self, service: str) -> ServiceState:
        with translated_errors(f"service {service}"):
            return service_of(
                self._services.get_service(name=self.service_path(service), timeout=self._timeout_s)
            )

    def get_revision(self, service: str, revision: str) -> Revision:
        with translated_errors(f"revision {revision} of {service}"):
            return revision_of(
                self._revisions.get_revision(
                    name=f"{self.service_path(service)}/revisions/{revision}",
                    timeout=self._timeout_s,
                )
            )

    def list_revisions(self, service: str, limit: int = 20) -> list[Revision]:
        """The service's newest revisions first, at most `limit`."""
        with translated_errors(f"revisions of {service}"):
            pages = self._revisions.list_revisions(
                parent=self.service_path(service), timeout=self._timeout_s
            )
            found = [revision_of(r) for _, r in zip(range(limit), pages, strict=False)]
        return sorted(found, key=lambda r: r.created, reverse=True)

    def permissions(self, service: str, wanted: tuple[str, ...]) -> set[str]:
        """Which of `wanted` the caller holds on the service (testIamPermissions)."""
        from google.iam.v1 import iam_policy_pb2

        with translated_errors(f"permissions on {service}"):
            answer = self._services.test_iam_permissions(
                request=iam_policy_pb2.TestIamPermissionsRequest(
                    resource=self.service_path(service), permissions=list(wanted)
                ),
                timeout=self._timeout_s,
            )
        return set(answer.permissions)

    # --- writes -------------------------------------------------------------------------------
    #
    # Every write is a long-running operation: Cloud Run answers at once with `done: false` and
    # finishes in seconds (traffic) to minutes (a new revision: image pull, start-up, health
    # checks). Writes return the operation's name; `operation` reads it once and `wait` polls it
    # up to `operation_timeout_s`. Each write sends back the etag it read; when Cloud Run says it
    # is stale (409 ABORTED), the service is read again and the write retried only while what it
    # changes is as first read, so a change made meanwhile (a gcloud deploy) is never overwritten.

    def begin_revision(
        self,
        service: str,
        *,
        revision: str,
        image: str,
        labels: dict[str, str],
        keep: list[TrafficShare],
        tag: str,
        env: dict[str, str] | None = None,
    ) -> str:
        """Start creating a revision from `image` at 0% under `tag` (traffic otherwise `keep`).

        `labels` and `env` are set in the template over what the serving revision had (a value
        it had, such as its BUILD_COMMIT, is replaced, never kept beside the new one). The split
        is pinned to named revisions first, so a "latest" target never hands the new revision
        traffic by itself. Returns the operation's name.
        """
        kept = [TrafficShare(t.revision, t.percent, t.tag if t.tag != tag else None) for t in keep]

        def change(current: run_v2.Service) -> None:
            current.template.revision = revision
            container = current.template.containers[0]
            container.image = image
            set_env(container, env or {})
            for key, value in labels.items():
                current.template.labels[key] = value
            current.traffic = traffic_targets([*kept, TrafficShare(revision, 0, tag)])

        return self._update(service, f"new revision {revision} of {service}", change)

    def finish_revision(self, service: str, revision: str, operation: str) -> Revision:
        """The revision once its operation is done: ready, or RevisionNotReady with the reason."""
        status = self.operation(operation)
        if status.error is not None:
            raise RevisionNotReady(f"revision {revision} of {service} failed: {status.error}")
        created = self.get_revision(service, revision)
        if not created.ready:
            raise RevisionNotReady(
                f"revision {revision} of {service} is not ready: {created.ready_message}"
            )
        return created

    def route(
        self,
        service: str,
        split: list[TrafficShare],
        unless: Callable[[], str | None] | None = None,
    ) -> ServiceState:
        """Traffic exactly as `split` (percentages summing to 100), waited for and read back.

        `unless` is asked after the service is read and before it is written: a reason it returns
        stops the write (NotWanted). The write carries the etag of that read, so a change to the
        service made after the condition was asked makes the write fail rather than land over it.
        """
        if sum(t.percent for t in split) != 100:
            raise ValueError(f"a split must total 100%, not {sum(t.percent for t in split)}%")

        def change(current: run_v2.Service) -> None:
            reason = unless() if unless is not None else None
            if reason is not None:
                raise NotWanted(f"traffic of {service} left as it is: {reason}")
            current.traffic = traffic_targets(split)

        what = f"traffic of {service}"
        wanted = split_of(split)
        try:
            self.wait(self._update(service, what, change), what)
        except ConcurrentChange:
            # Changed since it was read. If the change asks for this very split (another replica
            # restoring the same traffic), it is done once Cloud Run serves it; anything else is
            # not overwritten. Asked of the service's desired traffic, not of what it serves: a
            # write still reconciling (the chaos soak's seed 8: a step's 90/10 accepted just
            # before this rollback wrote) would otherwise pass for the stable traffic it is
            # about to replace, and the rollback end with the step's split served after it.
            if split_of(self.get_service(service).desired) != wanted:
                raise
            self._poll(lambda: self._reconciled(service), what, f"service {service}")
        after = self.get_service(service)
        actual = split_of(after.serving)
        if actual != wanted:
            raise CloudRunError(
                f"traffic of {service} did not take effect: asked {wanted}, serving {actual}"
            )
        return after

    def set_service_labels(self, service: str, labels: dict[str, str]) -> None:
        """Labels on the service itself (e.g. commit-sha once a rollout completes)."""

        def change(current: run_v2.Service) -> None:
            for key, value in labels.items():
                current.labels[key] = value

        what = f"labels of {service}"
        self.wait(self._update(service, what, change, mask=["labels"]), what)

    def operation(self, name: str) -> OperationStatus:
        """One read of a long-running operation."""
        from google.longrunning import operations_pb2

        with translated_errors(f"operation {short_name(name)}"):
            found = self._services.get_operation(
                request=operations_pb2.GetOperationRequest(name=name), timeout=self._timeout_s
            )
        error = (
            (found.error.message or f"code {found.error.code}") if found.HasField("error") else None
        )
        return OperationStatus(name=name, done=found.done, error=error)

    def wait(self, name: str, what: str, *, raise_error: bool = True) -> OperationStatus:
        """Poll the operation until done, at most `operation_timeout_s`; CloudRunError past it."""
        status = self._poll(lambda: self.operation(name), what, f"operation {short_name(name)}")
        if status.error is not None and raise_error:
            raise CloudRunError(f"{what}: {status.error}")
        return status

    def _reconciled(self, service: str) -> OperationStatus:
        """Done once Cloud Run no longer says the service is `reconciling` (v2 Service: while it
        does, traffic_statuses may not match the traffic asked for yet)."""
        return OperationStatus(name=service, done=not self.get_service(service).reconciling)

    def _poll(
        self, read: Callable[[], OperationStatus], what: str, waiting_on: str
    ) -> OperationStatus:
        """Read until done: after 1 s, 2, 4, then every 5 s, at most `operation_timeout_s`."""
        started = self._monotonic()
        delay = POLL_FIRST_S
        while True:
            status = read()
            if status.done:
                return status
            waited = self._monotonic() - started
            if waited >= self._operation_timeout_s:
                raise CloudRunError(
                    f"{what}: Cloud Run's operation had not finished after {waited:.0f} s "
                    f"({waiting_on})"
                )
            self._sleep(min(delay, self._operation_timeout_s - waited))
            delay = min(delay * 2, POLL_MAX_S)

    def _update(
        self,
        service: str,
        what: str,
        change: Callable[[run_v2.Service], None],
        mask: list[str] | None = None,
    ) -> str:
        """Read, change, write with the etag read; retried on a stale etag while safe."""
        from google.api_core import exceptions
        from google.cloud import run_v2
        from google.protobuf import field_mask_pb2

        with translated_errors(what):
            first = self._services.get_service(
                name=self.service_path(service), timeout=self._timeout_s
            )
            current = first
            for _ in range(ETAG_ATTEMPTS):
                wanted = run_v2.Service.deserialize(run_v2.Service.serialize(current))
                change(wanted)
                request = run_v2.UpdateServiceRequest(service=wanted)
                if mask is not None:
                    request.update_mask = field_mask_pb2.FieldMask(paths=mask)
                try:
                    sent = self._services.update_service(request=request, timeout=self._timeout_s)
                    return str(sent.operation.name)
                except exceptions.Conflict as exc:
                    if not is_stale_etag(exc):
                        raise
                current = self._services.get_service(
                    name=self.service_path(service), timeout=self._timeout_s
                )
                changed = what_changed(first, current)
                if changed:
                    raise ConcurrentChange(
                        f"{what}: {service} changed after opsbot read it ({changed}); "
                        "opsbot did not overwrite it. Someone may have deployed or moved traffic "
                        "with gcloud or the console meanwhile: check the service, then try again."
                    )
        raise CloudRunError(f"{what}: Cloud Run kept refusing a stale etag; try again")
