"""The Cloud Run emulator behaves as Cloud Run does for the real run_v2 REST client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2
from google.protobuf import field_mask_pb2

from adapters.cloudrun import CloudRun
from adapters.cloudrun_model import CloudRunError, ServiceNotFound
from sandbox.cloudrun_emulator import CloudRunEmulator
from sandbox.cloudrun_state import CloudRunState, SeedRevision

NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)
PARENT = "projects/nba-props-platform/locations/us-west2"
NAME = f"{PARENT}/services/worker"
REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION


@pytest.fixture()
def emulator() -> Iterator[CloudRunEmulator]:
    state = CloudRunState(lambda: NOW)
    state.add_service(
        PARENT,
        "worker",
        [
            SeedRevision(
                "worker-00001-aaa",
                "img:1",
                datetime(2026, 1, 1, tzinfo=UTC),
                {"commit-sha": "1111111"},
            ),
            SeedRevision(
                "worker-00002-bbb",
                "img:2",
                datetime(2026, 1, 2, tzinfo=UTC),
                {"commit-sha": "2222222"},
            ),
        ],
        [("worker-00002-bbb", 100)],
    )
    running = CloudRunEmulator(state)
    running.start()
    yield running
    running.stop()


@pytest.fixture()
def services(emulator: CloudRunEmulator) -> run_v2.ServicesClient:
    return run_v2.ServicesClient(
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=emulator.url),
        transport="rest",
    )


def update(services: run_v2.ServicesClient, service: run_v2.Service, *paths: str) -> run_v2.Service:
    request = run_v2.UpdateServiceRequest(
        service=service, update_mask=field_mask_pb2.FieldMask(paths=list(paths)) if paths else None
    )
    result: run_v2.Service = services.update_service(request=request).result(timeout=10)  # type: ignore[no-untyped-call]
    return result


def test_get_and_list_return_the_service_with_its_traffic(services: run_v2.ServicesClient) -> None:
    got = services.get_service(name=NAME)
    assert [(t.revision, t.percent, t.type_) for t in got.traffic_statuses] == [
        ("worker-00002-bbb", 100, REVISION)
    ]
    assert got.latest_ready_revision.endswith("/worker-00002-bbb")
    assert [s.name for s in services.list_services(parent=PARENT)] == [NAME]


def test_an_unknown_service_is_not_found(services: run_v2.ServicesClient) -> None:
    with pytest.raises(exceptions.NotFound):
        services.get_service(name=f"{PARENT}/services/nope")


def test_a_template_change_creates_a_revision_without_moving_traffic(
    services: run_v2.ServicesClient,
) -> None:
    service = services.get_service(name=NAME)
    service.template.labels["commit-sha"] = "3333333"
    service.template.containers[0].image = "img:3"
    updated = update(services, service, "template")
    created = updated.latest_created_revision.rsplit("/", 1)[-1]
    assert created.startswith("worker-00003-") and len(created) == len("worker-00003-abc")
    assert [(t.revision, t.percent) for t in updated.traffic_statuses] == [
        ("worker-00002-bbb", 100)
    ]
    assert int(updated.generation) == int(service.generation) + 1


def test_traffic_moves_and_tags_with_an_update_mask(services: run_v2.ServicesClient) -> None:
    service = services.get_service(name=NAME)
    del service.traffic[:]
    service.traffic.extend(
        [
            run_v2.TrafficTarget(type_=REVISION, revision="worker-00002-bbb", percent=90),
            run_v2.TrafficTarget(
                type_=REVISION, revision="worker-00001-aaa", percent=10, tag="canary"
            ),
        ]
    )
    updated = update(services, service, "traffic")
    assert [(t.revision, t.percent, t.tag) for t in updated.traffic_statuses] == [
        ("worker-00002-bbb", 90, ""),
        ("worker-00001-aaa", 10, "canary"),
    ]


def test_rejected_updates_change_nothing(services: run_v2.ServicesClient) -> None:
    before = services.get_service(name=NAME)
    named = services.get_service(name=NAME)
    named.template.revision = "worker-00001-aaa"
    with pytest.raises(exceptions.Conflict):
        update(services, named, "template")
    bad_split = services.get_service(name=NAME)
    bad_split.traffic[0].percent = 60
    with pytest.raises(exceptions.BadRequest):
        update(services, bad_split, "traffic")
    assert services.get_service(name=NAME).generation == before.generation


def test_a_whole_service_sent_back_ignores_its_output_only_fields(
    services: run_v2.ServicesClient,
) -> None:
    service = services.get_service(name=NAME)
    service.labels["team"] = "props"
    updated = update(services, service)  # no mask: the client sends uid, etag, statuses...
    assert updated.labels["team"] == "props"
    assert updated.uid == service.uid


def test_the_adapter_returns_domain_types(emulator: CloudRunEmulator) -> None:
    cloud_run = CloudRun.connect(
        project="nba-props-platform", region="us-west2", timeout_s=10, endpoint=emulator.url
    )
    state = cloud_run.get_service("worker")
    assert [(t.revision, t.percent) for t in state.serving] == [("worker-00002-bbb", 100)]
    revision = cloud_run.get_revision("worker", "worker-00002-bbb")
    assert (revision.commit_label, revision.image, revision.ready) == ("2222222", "img:2", True)
    assert revision.created == datetime(2026, 1, 2, tzinfo=UTC)
    assert [r.name for r in cloud_run.list_revisions("worker")] == [
        "worker-00002-bbb",
        "worker-00001-aaa",
    ]
    with pytest.raises(ServiceNotFound, match="nope"):
        cloud_run.get_service("nope")


def test_a_stalled_cloud_run_is_an_error_within_the_timeout(emulator: CloudRunEmulator) -> None:
    cloud_run = CloudRun.connect(
        project="nba-props-platform", region="us-west2", timeout_s=0.5, endpoint=emulator.url
    )
    emulator.latency_s = 5
    started = time.monotonic()
    with pytest.raises(CloudRunError, match="did not answer in time"):
        cloud_run.get_service("worker")
    assert time.monotonic() - started < 4  # bounded by the adapter's timeout, not the stall
