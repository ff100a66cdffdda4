"""A BigQuery REST emulator on loopback for the real google-cloud-bigquery client.

jobs.query, jobs.insert, jobs.get, jobs.getQueryResults (paged), tabledata.list and tables.get
of a query's destination table, and dry runs, answered from DuckDB; errors in Google's JSON
shape so the client raises NotFound, BadRequest and friends.

Jobs take time as the real service documents: a job runs `query_s` (the fault plan sets it);
jobs.query and getQueryResults wait at most `timeoutMs` (capped at `wait_cap_s`, 10 s by
default as BigQuery's) and answer `jobComplete: false` while it runs; jobs.get says RUNNING;
once done, rows are read from getQueryResults pages or, by tabledata.list, from the job's
anonymous destination table.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb

from sandbox.bigquery_errors import from_duckdb
from sandbox.bigquery_sql import (
    BigQueryError,
    bigquery_field,
    decode_parameters,
    encode_row,
    invalid_query,
    translate,
)
from sandbox.demo_tables import TableSpec
from sandbox.json_http import JsonApi, Query

DEFAULT_PAGE_ROWS = 10_000
BYTES_PER_CELL = 8


@dataclass
class ReceivedQuery:
    """What a client sent: the SQL text and the decoded parameters (for tests to inspect)."""

    sql: str
    parameters: dict[str, Any]


@dataclass
class Job:
    project: str
    job_id: str
    location: str
    config: dict[str, Any]
    dry_run: bool
    created_ms: int
    fields: list[dict[str, str]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    bytes_processed: int = 0
    error: BigQueryError | None = None
    ready_at: float = 0.0  # time.monotonic() when the job finishes

    @property
    def complete(self) -> bool:
        return time.monotonic() >= self.ready_at

    @property
    def destination(self) -> dict[str, str]:
        """The anonymous table a query's results are written to, as BigQuery names one."""
        return {
            "projectId": self.project,
            "datasetId": ANON_DATASET,
            "tableId": f"anon{self.job_id}",
        }

    @property
    def reference(self) -> dict[str, str]:
        return {"projectId": self.project, "jobId": self.job_id, "location": self.location}

    def resource(self) -> dict[str, Any]:
        if not self.complete:
            return {
                "kind": "bigquery#job",
                "id": f"{self.project}:{self.location}.{self.job_id}",
                "jobReference": self.reference,
                "configuration": {"query": self.config, "dryRun": self.dry_run, "jobType": "QUERY"},
                "status": {"state": "RUNNING"},
                "statistics": {
                    "creationTime": str(self.created_ms),
                    "startTime": str(self.created_ms),
                },
            }
        status: dict[str, Any] = {"state": "DONE"}
        if self.error is not None:
            error = {"reason": self.error.reason, "message": self.error.message}
            status.update(errorResult=error, errors=[error])
        stats = {
            "totalBytesProcessed": str(self.bytes_processed),
            "statementType": "SELECT",
            "cacheHit": False,
            "schema": {"fields": self.fields},
        }
        if not self.dry_run:
            stats["totalBytesBilled"] = str(self.bytes_processed)
        return {
            "kind": "bigquery#job",
            "id": f"{self.project}:{self.location}.{self.job_id}",
            "jobReference": self.reference,
            "configuration": {
                "query": self.config
                | ({} if self.dry_run or self.error else {"destinationTable": self.destination}),
                "dryRun": self.dry_run,
                "jobType": "QUERY",
            },
            "status": status,
            "statistics": {
                "creationTime": str(self.created_ms),
                "startTime": str(self.created_ms),
                "endTime": str(self.created_ms),
                "totalBytesProcessed": str(self.bytes_processed),
                "query": stats,
            },
        }

    def results(self, start: int, max_results: int | None) -> dict[str, Any]:
        if not self.complete:
            return {
                "kind": "bigquery#queryResponse",
                "jobReference": self.reference,
                "jobComplete": False,
            }
        if self.error is not None:
            raise self.error
        size = min(DEFAULT_PAGE_ROWS if max_results is None else max_results, DEFAULT_PAGE_ROWS)
        page = self.rows[start : start + size]
        body: dict[str, Any] = {
            "kind": "bigquery#queryResponse",
            "schema": {"fields": self.fields},
            "jobReference": self.reference,
            "totalRows": str(len(self.rows)),
            "jobComplete": True,
            "cacheHit": False,
            "totalBytesProcessed": str(self.bytes_processed),
        }
        if not self.dry_run:
            body["rows"] = page
        if start + size < len(self.rows):
            body["pageToken"] = str(start + size)
        return body

    def table_data(self, start: int, max_results: int | None) -> dict[str, Any]:
        """tabledata.list of the job's destination table."""
        size = min(DEFAULT_PAGE_ROWS if max_results is None else max_results, DEFAULT_PAGE_ROWS)
        body: dict[str, Any] = {
            "kind": "bigquery#tableDataList",
            "totalRows": str(len(self.rows)),
            "rows": self.rows[start : start + size],
        }
        if start + size < len(self.rows):
            body["pageToken"] = str(start + size)
        return body

    def table(self) -> dict[str, Any]:
        """tables.get of the job's destination table."""
        reference = self.destination
        return {
            "kind": "bigquery#table",
            "id": f"{reference['projectId']}:{reference['datasetId']}.{reference['tableId']}",
            "tableReference": reference,
            "schema": {"fields": self.fields},
            "numRows": str(len(self.rows)),
            "type": "TABLE",
            "location": self.location,
        }


_QUERIES = re.compile(r"^/bigquery/v2/projects/([^/]+)/queries$")
_QUERY_RESULTS = re.compile(r"^/bigquery/v2/projects/([^/]+)/queries/([^/]+)$")
_JOBS = re.compile(r"^/bigquery/v2/projects/([^/]+)/jobs$")
_JOB = re.compile(r"^/bigquery/v2/projects/([^/]+)/jobs/([^/]+?)(/cancel)?$")
_TABLE = re.compile(r"^/bigquery/v2/projects/([^/]+)/datasets/([^/]+)/tables/([^/]+?)(/data)?$")
ANON_DATASET = "_sandbox_anonymous"
# jobs.query fields that are the request's, not the job's query configuration
QUERY_REQUEST_ONLY = frozenset(
    {
        "kind",
        "dryRun",
        "maxResults",
        "requestId",
        "location",
        "timeoutMs",
        "jobCreationMode",
        "formatOptions",
        "preserveNulls",
        "labels",
        "jobTimeoutMs",
    }
)
WAIT_CAP_S = 10.0  # BigQuery's default, and longest, wait of jobs.query


class BigQueryEmulator(JsonApi):
    """Serves the BigQuery v2 REST API for the tables of one DuckDB connection."""

    thread_name = "bigquery-emulator"

    def __init__(self, con: duckdb.DuckDBPyConnection, tables: Mapping[str, TableSpec]) -> None:
        self._con = con
        self._tables = dict(tables)
        self._row_counts = {name: self._count(name) for name in tables}
        self._jobs: dict[tuple[str, str], Job] = {}
        super().__init__()
        self._lock = threading.Lock()
        self.latency_s = 0.0
        self.latency_rules: list[tuple[str, float]] = []
        self.received: list[ReceivedQuery] = []
        self.denied_tables: set[str] = set()
        self.calls: list[str] = []  # "METHOD path" of every request, for tests to inspect
        self.query_s = 0.0  # how long each job runs (the fault plan sets it)
        self.wait_cap_s = WAIT_CAP_S  # the longest a request waits for a job, whatever timeoutMs

    def _count(self, name: str) -> int:
        # `name` is a key of the emulator's own table catalogue, never request text.
        row = self._con.cursor().execute(f"SELECT COUNT(*) FROM {name}").fetchone()  # noqa: S608
        return int(row[0]) if row else 0

    def stop(self) -> None:
        super().stop()
        self._con.close()

    def set_latency(self, seconds: float, *, matching: str | None = None) -> None:
        """Delay every query (or those whose SQL contains `matching`) by `seconds`."""
        if matching is None:
            self.latency_s = seconds
        else:
            self.latency_rules.append((matching, seconds))

    def clear_latency(self) -> None:
        self.latency_s = 0.0
        self.latency_rules.clear()

    # --- execution ----------------------------------------------------------------------------

    def _delay(self, sql: str) -> None:
        delay = max([self.latency_s, *(s for text, s in self.latency_rules if text in sql)])
        if delay > 0:
            self.stopping.wait(delay)

    def run_job(
        self,
        project: str,
        config: dict[str, Any],
        *,
        dry_run: bool,
        job_id: str | None,
        location: str,
    ) -> Job:
        job = Job(
            project,
            job_id or f"job_{uuid.uuid4().hex}",
            location,
            config,
            dry_run,
            int(time.time() * 1000),
            ready_at=time.monotonic() + (0.0 if dry_run else self.query_s),
        )
        sql = config.get("query", "")
        try:
            if config.get("useLegacySql") is True:
                raise invalid_query("Legacy SQL is not supported by the sandbox; use standard SQL.")
            params = decode_parameters(config.get("queryParameters", []))
            with self._lock:
                self.received.append(ReceivedQuery(sql, params))
            self._delay(sql)
            translated = translate(sql, project, self._tables)
            for name in translated.tables:
                if name in self.denied_tables:
                    raise BigQueryError(
                        403,
                        "accessDenied",
                        f"Access Denied: Table {project}:{name}: User does not have permission "
                        "to query table, or perhaps it does not exist.",
                    )
            missing = [name for name in translated.parameters if name not in params]
            if missing:
                raise invalid_query(f"Query parameter '{missing[0]}' not found")
            job.bytes_processed = sum(
                self._row_counts[name] * translated.columns_read * BYTES_PER_CELL
                for name in translated.tables
            )
            limit = int(config.get("maximumBytesBilled") or 0)
            if limit and job.bytes_processed > limit and not dry_run:
                raise BigQueryError(
                    400,
                    "bytesBilledLimitExceeded",
                    f"Query exceeded limit for bytes billed: {limit}. {job.bytes_processed} or higher required.",
                )
            cursor = self._con.cursor()
            try:
                result = cursor.execute(
                    translated.duckdb_sql, {n: params[n] for n in translated.parameters}
                )
                job.fields = [bigquery_field(d[0], str(d[1])) for d in result.description or []]
                job.rows = [encode_row(job.fields, row) for row in result.fetchall()]
            finally:
                cursor.close()
        except BigQueryError as exc:
            job.error = exc
        except duckdb.Error as exc:  # DuckDB's words for it, as BigQuery says them
            job.error = from_duckdb(sql, exc)
        return job

    def remember(self, job: Job) -> None:
        with self._lock:
            key = (job.project, job.job_id)
            if key in self._jobs:
                raise BigQueryError(
                    409,
                    "duplicate",
                    f"Already Exists: Job {job.project}:{job.location}.{job.job_id}",
                )
            self._jobs[key] = job

    def job(self, project: str, job_id: str) -> Job:
        with self._lock:
            found = self._jobs.get((project, job_id))
        if found is None:
            raise BigQueryError(404, "notFound", f"Not found: Job {project}:{job_id}")
        return found

    def _wait(self, job: Job, timeout_ms: Any) -> None:
        """Hold the answer until the job is done or `timeoutMs` (capped) has passed."""
        limit = min(float(timeout_ms) / 1000 if timeout_ms else WAIT_CAP_S, self.wait_cap_s)
        remaining = job.ready_at - time.monotonic()
        if remaining > 0:
            self.stopping.wait(min(remaining, limit))

    def route(self, method: str, path: str, query: Query, body: dict[str, Any]) -> dict[str, Any]:
        params = {k: v[-1] for k, v in query.items()}
        with self._lock:
            self.calls.append(f"{method} {path}")
        if method == "POST" and (m := _QUERIES.match(path)):
            config = {k: v for k, v in body.items() if k not in QUERY_REQUEST_ONLY}
            job = self.run_job(
                m[1],
                config,
                dry_run=bool(body.get("dryRun")),
                job_id=None,
                location=body.get("location", "US"),
            )
            if job.error is not None:
                raise job.error
            self.remember(job)
            self._wait(job, body.get("timeoutMs"))
            return job.results(0, body.get("maxResults"))
        if method == "POST" and (m := _JOBS.match(path)):
            reference = body.get("jobReference", {})
            configuration = body.get("configuration", {})
            job = self.run_job(
                m[1],
                configuration.get("query", {}),
                dry_run=bool(configuration.get("dryRun")),
                job_id=reference.get("jobId"),
                location=reference.get("location") or "US",
            )
            if job.dry_run and job.error is not None:
                raise job.error
            self.remember(job)
            return job.resource()
        if method == "GET" and (m := _QUERY_RESULTS.match(path)):
            job = self.job(m[1], m[2])
            start = int(params.get("pageToken") or params.get("startIndex") or 0)
            max_results = int(params["maxResults"]) if "maxResults" in params else None
            self._wait(job, params.get("timeoutMs"))
            return job.results(start, max_results)
        if method == "GET" and (m := _TABLE.match(path)) and m[2] == ANON_DATASET:
            job = self.job(m[1], m[3].removeprefix("anon"))
            if not job.complete or job.error is not None:
                raise BigQueryError(404, "notFound", f"Not found: Table {m[1]}:{m[2]}.{m[3]}")
            if not m[4]:
                return job.table()
            start = int(params.get("pageToken") or params.get("startIndex") or 0)
            max_results = int(params["maxResults"]) if "maxResults" in params else None
            return job.table_data(start, max_results)
        if (m := _JOB.match(path)) and (method == "GET" or m[3]):
            job = self.job(m[1], m[2])
            return (
                {"kind": "bigquery#jobCancelResponse", "job": job.resource()}
                if m[3]
                else job.resource()
            )
        raise BigQueryError(404, "notFound", f"Not found: {method} {path}")
