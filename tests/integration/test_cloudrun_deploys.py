"""The Cloud Run writes a rollout makes, with the real run_v2 client against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from adapters.cloudrun import CloudRun
from adapters.cloudrun_model import CloudRunError, RevisionNotReady, TrafficShare
from sandbox.cloudrun_emulator import CloudRunEmulator
from sandbox.cloudrun_state import CloudRunState, SeedRevision
from tests.integration.deploy_world import create_revision

NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)
PARENT = "projects/nba-props-platform/locations/us-west2"
REGISTRY = "us-west2-docker.pkg.dev/nba-props-platform/services/worker"
STABLE = "worker-00002-bbb"


@pytest.fixture
def cloud_run() -> Iterator[CloudRun]:
    known = {f"{REGISTRY}:1111111", f"{REGISTRY}:2222222", f"{REGISTRY}:3333333"}
    state = CloudRunState(lambda: NOW, image_exists=known.__contains__)
    state.add_service(
        PARENT,
        "worker",
        [
            SeedRevision(
                "worker-00001-aaa",
                f"{REGISTRY}:1111111",
                datetime(2026, 1, 1, tzinfo=UTC),
                {"commit-sha": "1111111"},
            ),
            SeedRevision(
                STABLE,
                f"{REGISTRY}:2222222",
                datetime(2026, 1, 2, tzinfo=UTC),
                {"commit-sha": "2222222"},
            ),
        ],
        [(STABLE, 100)],
    )
    emulator = CloudRunEmulator(state)
    emulator.start()
    yield CloudRun.connect(
        project="nba-props-platform", region="us-west2", timeout_s=10, endpoint=emulator.url
    )
    emulator.stop()


def _canary(cloud_run: CloudRun, image: str = f"{REGISTRY}:3333333") -> None:
    create_revision(
        cloud_run,
        "worker",
        revision="worker-canary-3333333",
        image=image,
        labels={"commit-sha": "3333333"},
        keep=[TrafficShare(STABLE, 100)],
        tag="canary",
    )


def test_a_canary_revision_starts_at_zero_percent_with_its_tag_and_commit_label(
    cloud_run: CloudRun,
) -> None:
    _canary(cloud_run)
    revision = cloud_run.get_revision("worker", "worker-canary-3333333")
    assert (
        revision.ready
        and revision.commit_label == "3333333"
        and revision.image.endswith(":3333333")
    )
    service = cloud_run.get_service("worker")
    assert [(t.revision, t.percent) for t in service.serving] == [(STABLE, 100)]
    assert TrafficShare("worker-canary-3333333", 0, "canary") in service.traffic


def test_traffic_moves_to_the_exact_split_and_back(cloud_run: CloudRun) -> None:
    _canary(cloud_run)
    split = cloud_run.route(
        "worker", [TrafficShare(STABLE, 90), TrafficShare("worker-canary-3333333", 10, "canary")]
    )
    assert [(t.revision, t.percent) for t in split.serving] == [
        (STABLE, 90),
        ("worker-canary-3333333", 10),
    ]
    back = cloud_run.route("worker", [TrafficShare(STABLE, 100)])
    assert [(t.revision, t.percent) for t in back.serving] == [(STABLE, 100)]


def test_an_image_the_registry_does_not_know_never_becomes_ready_and_gets_no_traffic(
    cloud_run: CloudRun,
) -> None:
    with pytest.raises(RevisionNotReady, match="not found"):
        _canary(cloud_run, image=f"{REGISTRY}:deadbee")
    assert [(t.revision, t.percent) for t in cloud_run.get_service("worker").serving] == [
        (STABLE, 100)
    ]


def test_a_split_naming_an_unknown_revision_is_refused_and_changes_nothing(
    cloud_run: CloudRun,
) -> None:
    with pytest.raises(CloudRunError, match="not found"):
        cloud_run.route("worker", [TrafficShare("worker-99999-zzz", 100)])
    with pytest.raises(ValueError, match="must total 100%"):
        cloud_run.route("worker", [TrafficShare(STABLE, 90)])
    assert [(t.revision, t.percent) for t in cloud_run.get_service("worker").serving] == [
        (STABLE, 100)
    ]


def test_the_service_label_records_the_deployed_commit(cloud_run: CloudRun) -> None:
    cloud_run.set_service_labels("worker", {"commit-sha": "3333333"})
    assert cloud_run.get_service("worker").labels["commit-sha"] == "3333333"
