"""The real google-cloud-bigquery client against the sandbox emulator: types, paging, errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery


@pytest.fixture(scope="module")
def client(sandbox: Any) -> bigquery.Client:
    return bigquery.Client(
        project="nba-props-platform",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=sandbox.bigquery_url),
    )


def test_values_arrive_typed_as_bigquery_returns_them(client: bigquery.Client) -> None:
    sql = """
        SELECT TIMESTAMP '2026-02-05 18:00:00.123456+00' AS ts, DATE '2026-02-05' AS d,
               CAST('12.5' AS NUMERIC) AS n, TRUE AS b, [1.5, 2.0] AS arr, 7 AS i, 'x' AS s,
               CAST(NULL AS STRING) AS nothing
    """
    row = next(iter(client.query_and_wait(sql)))
    assert row["ts"] == dt.datetime(2026, 2, 5, 18, 0, 0, 123456, tzinfo=dt.UTC)
    assert row["d"] == dt.date(2026, 2, 5)
    assert row["n"] == Decimal("12.5")
    assert row["b"] is True
    assert row["arr"] == [1.5, 2.0]
    assert (row["i"], row["s"], row["nothing"]) == (7, "x", None)


def test_table_rows_with_arrays_and_named_parameters(client: bigquery.Client) -> None:
    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter("day", "DATE", dt.date(2026, 2, 4)),
            bigquery.ScalarQueryParameter("i", "INT64", 25),
        ]
    )
    rows = list(
        client.query_and_wait(
            "SELECT features, features[SAFE_OFFSET(@i)] AS line, has_vegas_line, created_at "
            "FROM `nba-props-platform.nba_predictions.ml_feature_store_v2` "
            "WHERE game_date = @day ORDER BY player_lookup LIMIT 50",
            job_config=config,
        )
    )
    assert len(rows) == 50
    for row in rows:
        assert len(row["features"]) == 33
        assert row["line"] == row["features"][25]  # 0-based OFFSET, as in BigQuery
        assert (row["line"] > 0) == row["has_vegas_line"]
        assert row["created_at"].tzinfo is not None


def test_countif_over_no_rows_is_zero_as_in_bigquery(client: bigquery.Client) -> None:
    row = next(
        iter(
            client.query_and_wait(
                "SELECT COUNTIF(game_status = 3) AS finals, COUNT(*) AS games "
                "FROM nba_reference.nba_schedule WHERE game_date = DATE '2025-11-27'"
            )
        )
    )
    assert (row["finals"], row["games"]) == (0, 0)


def test_large_results_page_through_jobs_get_and_get_query_results(client: bigquery.Client) -> None:
    job = client.query(
        "SELECT game_id FROM nba_reference.nba_schedule WHERE game_date >= DATE '2025-10-01' ORDER BY game_id"
    )
    ids = [row["game_id"] for row in job.result(page_size=200)]
    assert len(ids) == 1230 and len(set(ids)) == 1230
    assert client.get_job(job.job_id).state == "DONE"


def test_dry_run_estimates_bytes_without_rows(client: bigquery.Client) -> None:
    job = client.query(
        "SELECT COUNT(*) FROM nba_predictions.player_prop_predictions WHERE game_date > DATE '2026-01-01'",
        job_config=bigquery.QueryJobConfig(dry_run=True),
    )
    assert job.dry_run
    assert job.total_bytes_processed and job.total_bytes_processed > 0


def test_a_missing_table_is_not_found(client: bigquery.Client) -> None:
    with pytest.raises(exceptions.NotFound, match=r"nba_raw\.nope"):
        client.query_and_wait("SELECT 1 FROM nba_raw.nope WHERE game_date = DATE '2026-01-01'")


def test_a_query_without_the_partition_filter_is_refused(client: bigquery.Client) -> None:
    with pytest.raises(exceptions.BadRequest, match="without a filter over column"):
        client.query_and_wait("SELECT COUNT(*) FROM nba_predictions.prediction_accuracy")


def test_bad_sql_is_a_bad_request(client: bigquery.Client) -> None:
    with pytest.raises(exceptions.BadRequest):
        client.query_and_wait("SELEC nonsense FROM")


SCHEDULE = "FROM nba_reference.nba_schedule WHERE game_date = DATE '2026-01-01'"


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        (f"SELECT nope {SCHEDULE}", "Unrecognized name: nope at [1:8]"),
        (
            f"SELECT game_id,\n  s.nope {SCHEDULE.replace('schedule', 'schedule s')}",
            "Name nope not found inside s at [2:5]",
        ),
        (f"SELECT nofunc(game_id) {SCHEDULE}", "Function not found: nofunc at [1:8]"),
        (
            f"SELECT game_id {SCHEDULE} GROUP BY game_status",
            "SELECT list expression references column game_id which is neither grouped nor "
            "aggregated at [1:8]",
        ),
        (
            f"SELECT game_id + 1 {SCHEDULE}",
            "No matching signature for operator + for argument types: STRING, INT64 at [1:8]",
        ),
        ("SELECT 1 FROM", "Syntax error: Unexpected end of script at [1:14]"),
        ("SELECT (1", 'Syntax error: Expected ")" but got end of script at [1:10]'),
        ("SELEC nonsense FROM", "Syntax error: Unexpected keyword FROM at [1:16]"),
        (
            "SELECT 1 FROM schedule",
            'Table name "schedule" missing dataset while no default dataset is set in the request.',
        ),
    ],
)
def test_a_refused_query_is_worded_as_bigquery_words_it(
    client: bigquery.Client, sql: str, said: str
) -> None:
    """opsbot shows warehouse errors to people: BigQuery's words (400 invalidQuery, the name and
    where it is, `at [line:column]`), never DuckDB's ("Binder Error: Referenced column ...")."""
    with pytest.raises(exceptions.BadRequest) as refused:
        client.query_and_wait(sql)  # jobs.query
    with pytest.raises(exceptions.BadRequest) as failed:
        client.query(sql).result()  # jobs.insert, the job's errorResult
    assert len(refused.value.errors) == len(failed.value.errors) == 1
    for error in (*refused.value.errors, *failed.value.errors):
        assert (error["reason"], error["message"]) == ("invalidQuery", said)


def test_a_missing_dataset_is_named_as_bigquery_names_it(client: bigquery.Client) -> None:
    with pytest.raises(exceptions.NotFound) as refused:
        client.query_and_wait("SELECT 1 FROM nba_nope.t WHERE game_date = DATE '2026-01-01'")
    [error] = refused.value.errors
    assert error["message"] == (
        "Not found: Dataset nba-props-platform:nba_nope was not found in location US"
    )


def test_the_byte_cap_is_enforced(client: bigquery.Client) -> None:
    config = bigquery.QueryJobConfig(maximum_bytes_billed=1000)
    with pytest.raises(exceptions.BadRequest, match="bytes billed"):
        client.query_and_wait(
            "SELECT COUNT(*) FROM nba_predictions.player_prop_predictions WHERE game_date > DATE '2026-01-01'",
            job_config=config,
        )


def test_a_query_outlasting_the_wait_is_polled_then_read_from_its_destination_table(
    sandbox: Any, client: bigquery.Client
) -> None:
    """jobs.query answers jobComplete: false; the client polls getQueryResults, then reads rows."""
    emulator = sandbox.bigquery
    emulator.query_s, emulator.wait_cap_s = 0.6, 0.1
    before = len(emulator.calls)
    try:
        rows = list(client.query_and_wait("SELECT x FROM UNNEST([3, 1, 2]) AS x ORDER BY x"))
        job = client.query("SELECT x FROM UNNEST([5, 4]) AS x ORDER BY x")
        assert job.state == "RUNNING"
        job.result()
        table = list(client.list_rows(job.destination))  # tabledata.list
    finally:
        emulator.query_s, emulator.wait_cap_s = 0.0, 10.0
    assert [r["x"] for r in rows] == [1, 2, 3]
    assert [r["x"] for r in table] == [4, 5]
    calls = emulator.calls[before:]
    polls = [c for c in calls if c.startswith("GET") and "/queries/" in c]
    assert len(polls) >= 2  # waited on more than once: the client's polling path ran
    assert any(c.endswith("/data") for c in calls)
