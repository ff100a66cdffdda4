"""BigQuery through the official client (query_and_wait, named parameters, byte caps, timeouts)."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from adapters.warehouse import ParamValue, Query, Row, WarehouseError, bind_tables
from config import Profile

if TYPE_CHECKING:
    from google.cloud import bigquery


def _scalar_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, datetime):
        return "TIMESTAMP"
    if isinstance(value, date):
        return "DATE"
    if isinstance(value, str):
        return "STRING"
    raise TypeError(f"unsupported query parameter type: {type(value).__name__}")


def to_query_parameter(name: str, value: ParamValue) -> Any:
    """A typed BigQuery parameter for a Python value (lists become ARRAY parameters)."""
    from google.cloud import bigquery

    if isinstance(value, Sequence) and not isinstance(value, str):
        items = list(value)
        element_type = _scalar_type(items[0]) if items else "STRING"
        return bigquery.ArrayQueryParameter(name, element_type, items)
    return bigquery.ScalarQueryParameter(name, _scalar_type(value), value)


class BigQueryWarehouse:
    """Runs health queries; every error becomes a WarehouseError naming the tables."""

    def __init__(
        self,
        client: bigquery.Client,
        *,
        maximum_bytes_billed: int,
        timeout_s: float,
    ) -> None:
        self._client = client
        self._maximum_bytes_billed = maximum_bytes_billed
        self._timeout_s = timeout_s

    @classmethod
    def connect(
        cls,
        *,
        project: str,
        location: str,
        maximum_bytes_billed: int,
        timeout_s: float,
        endpoint: str | None = None,
    ) -> BigQueryWarehouse:
        """Production: Application Default Credentials. With `endpoint`: an emulator, anonymously."""
        from google.cloud import bigquery

        if endpoint is None:
            client = bigquery.Client(project=project, location=location)
        else:
            from google.api_core.client_options import ClientOptions
            from google.auth.credentials import AnonymousCredentials

            client = bigquery.Client(
                project=project,
                location=location,
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options=ClientOptions(api_endpoint=endpoint),
            )
        return cls(client, maximum_bytes_billed=maximum_bytes_billed, timeout_s=timeout_s)

    @classmethod
    def from_profile(cls, profile: Profile, *, endpoint: str | None = None) -> BigQueryWarehouse:
        """The profile's project, location, byte cap and query timeout; `endpoint` for an emulator."""
        return cls.connect(
            project=profile.platform.project,
            location=profile.bigquery.location,
            maximum_bytes_billed=profile.bigquery.maximum_bytes_billed,
            timeout_s=profile.bigquery.query_timeout_s,
            endpoint=endpoint,
        )

    def estimate(self, query: Query) -> int:
        """Bytes the query would read: a dry run, nothing billed (an estimate, as BigQuery's)."""
        from google.api_core import exceptions as gexc
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(
            query_parameters=[to_query_parameter(k, v) for k, v in query.params.items()],
            dry_run=True,
            use_legacy_sql=False,
        )
        try:
            job = self._client.query(query.sql, job_config=config, timeout=self._timeout_s)
        except gexc.GoogleAPICallError as exc:
            where = ", ".join(query.tables) or "the warehouse"
            raise WarehouseError(
                f"BigQuery refused a dry run on {where}: {_first_error(exc)}"
            ) from exc
        return int(job.total_bytes_processed or 0)

    def can_read(self, table: str) -> str | None:
        """None when a query may read `table` (a dry run: nothing billed); else why not.

        The platform's tables require a partition filter on game_date, so the dry run has one;
        a table without that column is tried without it.
        """
        from google.api_core import exceptions as gexc
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(dry_run=True, use_legacy_sql=False)
        filtered = "SELECT 1 AS readable FROM $table WHERE game_date = CURRENT_DATE() LIMIT 0"
        for template in (filtered, "SELECT 1 AS readable FROM $table LIMIT 0"):
            sql = bind_tables(template, {"table": table})
            try:
                self._client.query(sql, job_config=config, timeout=self._timeout_s)
                return None
            except gexc.Forbidden as exc:
                return f"permission denied: {_first_error(exc)}"
            except gexc.NotFound as exc:
                return f"not found: {_first_error(exc)}"
            except gexc.BadRequest as exc:
                if "game_date" in _first_error(exc) and template is filtered:
                    continue  # no game_date column: try it unfiltered
                return f"BigQuery refused a dry run: {_first_error(exc)}"
            except gexc.GoogleAPICallError as exc:
                return f"BigQuery refused a dry run: {_first_error(exc)}"
        return None

    def run(self, query: Query) -> list[Row]:
        from google.api_core import exceptions as gexc
        from google.cloud import bigquery
        from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY
        from requests import exceptions as rexc

        config = bigquery.QueryJobConfig(
            query_parameters=[to_query_parameter(k, v) for k, v in query.params.items()],
            maximum_bytes_billed=self._maximum_bytes_billed,
            use_legacy_sql=False,
        )
        where = ", ".join(query.tables) or "the warehouse"
        try:
            rows = self._client.query_and_wait(
                query.sql,
                job_config=config,
                api_timeout=self._timeout_s,
                wait_timeout=self._timeout_s,
                # Both retry layers share the deadline: the client's own job retry defaults to 40 min.
                retry=bigquery.DEFAULT_RETRY.with_deadline(self._timeout_s),
                job_retry=DEFAULT_JOB_RETRY.with_deadline(self._timeout_s),
            )
            return [dict(row.items()) for row in rows]
        except gexc.NotFound as exc:
            raise WarehouseError(f"not found while reading {where}: {exc.message}") from exc
        except gexc.Forbidden as exc:
            raise WarehouseError(f"permission denied reading {where}: {exc.message}") from exc
        except gexc.BadRequest as exc:
            reasons = {e.get("reason") for e in exc.errors or []}
            if "bytesBilledLimitExceeded" in reasons:
                raise WarehouseError(
                    f"query on {where} would bill more than [bigquery] maximum_bytes_billed"
                    f" ({self._maximum_bytes_billed:,} bytes): {exc.message}"
                ) from exc
            raise WarehouseError(f"BigQuery rejected the query on {where}: {exc.message}") from exc
        except (concurrent.futures.TimeoutError, gexc.DeadlineExceeded, rexc.Timeout) as exc:
            raise WarehouseError(f"timed out after {self._timeout_s:g}s reading {where}") from exc
        except gexc.GoogleAPICallError as exc:
            raise WarehouseError(f"BigQuery error reading {where}: {exc.message}") from exc
        except gexc.RetryError as exc:  # the retry deadline passed: a timeout, whatever failed last
            raise WarehouseError(
                f"timed out after {self._timeout_s:g}s reading {where} (last error: {exc.cause})"
            ) from exc
        except rexc.ConnectionError as exc:
            raise WarehouseError(f"cannot reach BigQuery reading {where}: {exc}") from exc


def _first_error(error: Any) -> str:
    """BigQuery's own words for an error, without the request URL and job id around them."""
    for detail in getattr(error, "errors", None) or []:
        if isinstance(detail, dict) and detail.get("message"):
            return str(detail["message"])
    return str(getattr(error, "message", error)).split("\n")[0]
