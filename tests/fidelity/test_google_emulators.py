"""Each Google emulator's answers against the real API's schemas and protos.

Discovery documents (run v2, bigquery v2, logging v2) name every field and its JSON type; the
client protos, parsed with ignore_unknown_fields=False, refuse any field they do not know. A new
emulator field or method joins these tests.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.cloud import logging_v2, monitoring_v3, run_v2
from google.longrunning import operations_pb2
from google.protobuf import json_format

from sandbox.cloudrun_emulator import CloudRunEmulator
from sandbox.cloudrun_state import CloudRunState, SeedRevision
from sandbox.logging_emulator import LoggingEmulator
from sandbox.monitoring_emulator import MonitoringEmulator
from sandbox.platform import Sandbox
from sandbox.traffic import Behaviour, TrafficModel
from tests.fidelity.schemas import problems

T0 = datetime(2026, 2, 5, 18, tzinfo=UTC)
PARENT = "projects/nba-props-platform/locations/us-west2"
SERVICE = f"{PARENT}/services/worker"
STABLE = "worker-00001-aaa"
GOOD, BAD_IMAGE = "img:2222222", "img:missing"


class World:
    def __init__(self) -> None:
        self.clock = [T0]
        self.state = CloudRunState(lambda: self.clock[0], image_exists=lambda i: i != BAD_IMAGE)
        self.state.add_service(
            PARENT,
            "worker",
            [
                SeedRevision(
                    STABLE, "img:1111111", T0 - timedelta(days=1), {"commit-sha": "1111111"}
                )
            ],
            [(STABLE, 100)],
            tags={STABLE: "stable"},
        )
        self.run = CloudRunEmulator(self.state)
        traffic = TrafficModel(
            self.state, {"worker": 20.0}, lambda commit: Behaviour(error_log="KeyError: 'x'")
        )
        self.logging = LoggingEmulator(traffic, "nba-props-platform", lambda: self.clock[0])
        self.monitoring = MonitoringEmulator(traffic, "nba-props-platform", slow_5xx_series=True)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, **query: str) -> Any:
        return self.run.route(method, path, {k: [v] for k, v in query.items()}, body or {})

    def new_revision(self, name: str, image: str) -> dict[str, Any]:
        service = self.call("GET", f"/v2/{SERVICE}")
        service["template"]["revision"] = name
        service["template"]["containers"][0]["image"] = image
        service["traffic"] = [
            {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": STABLE, "percent": 100},
            {
                "type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
                "revision": name,
                "percent": 0,
                "tag": "canary",
            },
        ]
        answer: dict[str, Any] = self.call("PATCH", f"/v2/{SERVICE}", service)
        return answer


def _parses_as(message: Any, body: dict[str, Any]) -> None:
    """The client's proto takes the body without ignoring a single field."""
    json_format.Parse(json.dumps(body), message, ignore_unknown_fields=False)


def test_cloud_run_resources_operations_and_permissions_match_run_v2() -> None:
    world = World()
    world.state.operation_s = 30
    running = world.new_revision("worker-canary-1", GOOD)
    assert running["done"] is False
    world.clock[0] += timedelta(seconds=31)
    finished = world.call("GET", f"/v2/{running['name']}")
    assert finished["done"] is True and "response" in finished
    failing = world.new_revision("worker-canary-2", BAD_IMAGE)
    world.clock[0] += timedelta(seconds=31)
    failed = world.call("GET", f"/v2/{failing['name']}")
    assert failed["error"]["code"] == 9
    bodies = {
        "GoogleCloudRunV2Service": [world.call("GET", f"/v2/{SERVICE}")],
        "GoogleCloudRunV2ListServicesResponse": [world.call("GET", f"/v2/{PARENT}/services")],
        "GoogleCloudRunV2Revision": [
            world.call("GET", f"/v2/{SERVICE}/revisions/worker-canary-1"),
            world.call("GET", f"/v2/{SERVICE}/revisions/worker-canary-2"),
        ],
        "GoogleCloudRunV2ListRevisionsResponse": [
            world.call("GET", f"/v2/{SERVICE}/revisions", pageSize="1")
        ],
        "GoogleLongrunningOperation": [running, finished, failed],
        "GoogleIamV1TestIamPermissionsResponse": [
            world.call(
                "POST",
                f"/v2/{SERVICE}:testIamPermissions",
                {"permissions": ["run.services.get", "run.services.update"]},
            )
        ],
    }
    for schema, answers in bodies.items():
        for answer in answers:
            assert problems("run.v2", schema, answer) == [], schema
    _parses_as(run_v2.Service.pb(run_v2.Service()), bodies["GoogleCloudRunV2Service"][0])
    for revision in bodies["GoogleCloudRunV2Revision"]:
        _parses_as(run_v2.Revision.pb(run_v2.Revision()), revision)
    for operation in bodies["GoogleLongrunningOperation"]:
        _parses_as(operations_pb2.Operation(), operation)


def test_a_stray_field_or_a_numeric_enum_would_be_caught() -> None:
    """The checker itself: what it must refuse, it refuses."""
    service = World().call("GET", f"/v2/{SERVICE}")
    assert problems("run.v2", "GoogleCloudRunV2Service", {**service, "sandboxOnly": 1})
    numeric = {**service, "ingress": 1}
    assert problems("run.v2", "GoogleCloudRunV2Service", numeric)
    with pytest.raises(json_format.ParseError):
        _parses_as(run_v2.Service.pb(run_v2.Service()), {**service, "sandboxOnly": 1})


def test_bigquery_answers_match_bigquery_v2(sandbox: Sandbox) -> None:
    emulator = sandbox.bigquery
    assert emulator is not None
    project = "nba-props-platform"
    sql = "SELECT x, 'a' AS s FROM UNNEST([1, 2, 3]) AS x ORDER BY x"
    base = f"/bigquery/v2/projects/{project}"
    answered = emulator.route("POST", f"{base}/queries", {}, {"query": sql, "useLegacySql": False})
    job_id = answered["jobReference"]["jobId"]
    inserted = emulator.route(
        "POST",
        f"{base}/jobs",
        {},
        {"configuration": {"query": {"query": sql, "useLegacySql": False}}},
    )
    inserted_id = inserted["jobReference"]["jobId"]
    dry = emulator.route(
        "POST", f"{base}/queries", {}, {"query": sql, "useLegacySql": False, "dryRun": True}
    )
    emulator.query_s, emulator.wait_cap_s = 5.0, 0.0
    try:
        pending = emulator.route("POST", f"{base}/queries", {}, {"query": sql, "timeoutMs": 0})
        running = emulator.route("GET", f"{base}/jobs/{pending['jobReference']['jobId']}", {}, {})
    finally:
        emulator.query_s, emulator.wait_cap_s = 0.0, 10.0
    assert pending["jobComplete"] is False and running["status"]["state"] == "RUNNING"
    table = f"{base}/datasets/_sandbox_anonymous/tables/anon{inserted_id}"
    bodies = {
        "QueryResponse": [answered, dry, pending],
        "GetQueryResultsResponse": [
            emulator.route("GET", f"{base}/queries/{job_id}", {"maxResults": ["0"]}, {}),
            emulator.route("GET", f"{base}/queries/{job_id}", {"maxResults": ["2"]}, {}),
        ],
        "Job": [inserted, running, emulator.route("GET", f"{base}/jobs/{inserted_id}", {}, {})],
        "TableDataList": [emulator.route("GET", f"{table}/data", {"maxResults": ["2"]}, {})],
        "Table": [emulator.route("GET", table, {}, {})],
    }
    for schema, answers in bodies.items():
        for answer in answers:
            assert problems("bigquery.v2", schema, answer) == [], schema


def test_logging_answers_match_logging_v2() -> None:
    world = World()
    world.clock[0] += timedelta(minutes=5)
    asked = {
        "resourceNames": ["projects/nba-props-platform"],
        "filter": f'resource.labels.service_name = "worker" AND resource.labels.revision_name = "{STABLE}" '
        f'AND severity >= ERROR AND timestamp >= "{T0.isoformat().replace("+00:00", "Z")}"',
        "orderBy": "timestamp desc",
        "pageSize": 2,
    }
    first = world.logging.route("POST", "/v2/entries:list", {}, asked)
    assert first["entries"] and first["nextPageToken"]
    second = world.logging.route(
        "POST", "/v2/entries:list", {}, {**asked, "pageToken": first["nextPageToken"]}
    )
    for page in (first, second):
        assert problems("logging.v2", "ListLogEntriesResponse", page) == []
        _parses_as(
            logging_v2.types.ListLogEntriesResponse.pb(logging_v2.types.ListLogEntriesResponse()),
            page,
        )


def test_cloud_runs_audit_entries_match_logging_v2_and_the_audit_log_proto() -> None:
    """The traffic changes a postmortem reads: Admin Activity entries of UpdateService."""
    import google.cloud.audit.audit_log_pb2  # noqa: F401  (registers AuditLog for the Any)

    world = World()
    world.new_revision("worker-00002-bbb", GOOD)
    world.clock[0] += timedelta(minutes=1)
    service = world.call("GET", f"/v2/{SERVICE}")
    service["traffic"] = [
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": STABLE, "percent": 90},
        {
            "type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
            "revision": "worker-00002-bbb",
            "percent": 10,
        },
    ]
    world.call("PATCH", f"/v2/{SERVICE}", service)
    world.clock[0] += timedelta(minutes=5)
    asked = {
        "resourceNames": ["projects/nba-props-platform"],
        "filter": 'logName = "projects/nba-props-platform/logs/cloudaudit.googleapis.com%2Factivity" '
        'AND protoPayload.methodName = "google.cloud.run.v2.Services.UpdateService" '
        'AND resource.labels.service_name = "worker" '
        f'AND timestamp >= "{T0.isoformat().replace("+00:00", "Z")}"',
    }
    page = world.logging.route("POST", "/v2/entries:list", {}, asked)
    assert problems("logging.v2", "ListLogEntriesResponse", page) == []
    _parses_as(
        logging_v2.types.ListLogEntriesResponse.pb(logging_v2.types.ListLogEntriesResponse()), page
    )
    splits = [
        {t["revision"]: t["percent"] for t in e["protoPayload"]["request"]["service"]["traffic"]}
        for e in page["entries"]
        if "request" in e["protoPayload"]  # an operation's first entry; its last has none
    ]
    assert splits[-1] == {STABLE: 90, "worker-00002-bbb": 10}
    assert [e["operation"].get("last", False) for e in page["entries"]][-2:] == [False, True]


def test_monitoring_points_carry_the_value_their_series_declares() -> None:
    world = World()
    world.clock[0] += timedelta(minutes=5)
    aligner = monitoring_v3.Aggregation.Aligner
    value_field = {2: "int64_value", 3: "double_value", 5: "distribution_value"}  # ValueType
    for metric, how in (
        ("run.googleapis.com/request_count", aligner.ALIGN_DELTA),
        ("run.googleapis.com/request_latencies", aligner.ALIGN_DELTA),
        ("run.googleapis.com/request_latencies", aligner.ALIGN_PERCENTILE_95),
    ):
        request = monitoring_v3.ListTimeSeriesRequest(
            name="projects/nba-props-platform",
            filter=f'metric.type = "{metric}" AND resource.labels.service_name = "worker" '
            f'AND resource.labels.revision_name = "{STABLE}"',
            interval=monitoring_v3.TimeInterval(start_time=T0, end_time=world.clock[0]),
            aggregation=monitoring_v3.Aggregation(
                alignment_period={"seconds": 60}, per_series_aligner=how
            ),
        )
        answer = world.monitoring._list_time_series(request, context=None)
        assert answer.time_series
        for series in answer.time_series:
            field = value_field[int(series.value_type)]
            assert all(
                monitoring_v3.TypedValue.pb(p.value).WhichOneof("value") == field
                for p in series.points
            )
            assert series.metric_kind != 0 and series.metric.labels["response_code_class"]
            pb = monitoring_v3.TimeSeries.pb(series)
            _parses_as(type(pb)(), json.loads(json_format.MessageToJson(pb)))
