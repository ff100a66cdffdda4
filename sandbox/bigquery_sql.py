"""BigQuery SQL on DuckDB: transpile with sqlglot, enforce BigQuery's rules, type the results."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import sqlglot
from sqlglot import exp

from sandbox.bigquery_errors import BigQueryError, invalid_query, syntax_error
from sandbox.demo_tables import TableSpec

__all__ = ["BigQueryError", "Translated", "invalid_query", "translate"]


@dataclass(frozen=True)
class Translated:
    duckdb_sql: str
    tables: tuple[str, ...]
    parameters: tuple[str, ...]
    columns_read: int


_TRANSLATING = threading.Lock()
_TRANSLATED: dict[tuple[str, str, tuple[tuple[str, str], ...]], Translated] = {}
_TRANSLATED_KEPT = 512  # statements kept, oldest dropped first


def translate(sql: str, project: str, tables: Mapping[str, TableSpec]) -> Translated:
    """BigQuery SQL → DuckDB SQL, refusing what BigQuery refuses (unknown tables, no partition filter).

    One translation at a time (see `_translate`). A text translated before is not parsed again:
    the checks send the same few statements with new parameters, and parsing was half of each
    query's time in the emulator (7–12 ms), a cost the real BigQuery's latency does not include.
    """
    partitions = tuple(sorted((name, spec.partition_column) for name, spec in tables.items()))
    key = (sql, project, partitions)
    with _TRANSLATING:
        found = _TRANSLATED.get(key)
        if found is None:
            found = _translate(sql, project, tables)  # a refusal is raised, never kept
            if len(_TRANSLATED) >= _TRANSLATED_KEPT:
                _TRANSLATED.pop(next(iter(_TRANSLATED)))
            _TRANSLATED[key] = found
        return found


def _translate(sql: str, project: str, tables: Mapping[str, TableSpec]) -> Translated:
    """sqlglot does not promise thread safety: queries parsed in parallel (the checks of a report
    run at once) failed about once in 12 reports under load, with parse errors for SQL that parses
    alone. Translating takes about a millisecond; DuckDB still runs the queries in parallel."""
    try:
        tree = cast(exp.Expression, sqlglot.parse_one(sql, read="bigquery"))
    except sqlglot.errors.ParseError as exc:
        raise syntax_error(sql, exc) from None
    except sqlglot.errors.TokenError:
        raise invalid_query("Syntax error: Unclosed string literal") from None
    cte_names = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    used: list[str] = []
    for table in tree.find_all(exp.Table):
        if not table.args.get("db") and table.name in cte_names:
            continue
        if not table.args.get("db"):
            raise invalid_query(  # BigQuery's words when the request names no default dataset
                f'Table name "{table.name}" missing dataset while no default dataset is set in '
                "the request."
            )
        name = f"{table.db}.{table.name}"
        catalog = table.catalog or project
        if name not in tables:  # BigQuery's 404 names the dataset when that is what is missing
            known = any(n.split(".")[0] == table.db for n in tables)
            missing = f"Table {catalog}:{name}" if known else f"Dataset {catalog}:{table.db}"
            raise BigQueryError(
                404, "notFound", f"Not found: {missing} was not found in location US"
            )
        _require_partition_filter(table, name, tables[name].partition_column)
        table.set("catalog", None)
        used.append(name)
    _fix_dynamic_offsets(tree)
    tree = _count_if_as_count(tree)
    parameters = tuple(sorted({p.name for p in tree.find_all(exp.Parameter)}))
    columns = {column.name for column in tree.find_all(exp.Column)}
    return Translated(
        tree.sql(dialect="duckdb"), tuple(dict.fromkeys(used)), parameters, max(1, len(columns))
    )


def _require_partition_filter(table: exp.Table, name: str, column: str) -> None:
    """BigQuery's require_partition_filter: the SELECT reading the table filters on its date."""
    select = table.find_ancestor(exp.Select)
    where = select.args.get("where") if select else None
    reference = table.alias_or_name
    if where is not None:
        for col in where.find_all(exp.Column):
            if col.name == column and col.table in ("", reference):
                return
    raise invalid_query(
        f"Cannot query over table '{name}' without a filter over column(s) '{column}' "
        "that can be used for partition elimination"
    )


def _fix_dynamic_offsets(tree: exp.Expression) -> None:
    """arr[SAFE_OFFSET(@i)] is 0-based; DuckDB lists are 1-based and sqlglot only shifts literals."""
    for bracket in tree.find_all(exp.Bracket):
        index = bracket.expressions[0] if bracket.expressions else None
        if bracket.args.get("offset") == 0 and index is not None and not index.is_int:
            bracket.set(
                "expressions",
                [exp.Paren(this=exp.Add(this=index.copy(), expression=exp.Literal.number(1)))],
            )
            bracket.set("offset", 1)


def _count_if_as_count(tree: exp.Expression) -> exp.Expression:
    """COUNTIF over no rows is 0 in BigQuery but NULL in DuckDB's COUNT_IF: count a CASE instead."""

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.CountIf):
            condition = node.this.copy()
            return exp.Count(
                this=exp.Case(ifs=[exp.If(this=condition, true=exp.Literal.number(1))])
            )
        return node

    return tree.transform(rewrite)


# --- query parameters -------------------------------------------------------------------------


def _scalar(kind: str, value: str | None) -> Any:
    if value is None:
        return None
    if kind in ("INT64", "INTEGER"):
        return int(value)
    if kind in ("FLOAT64", "FLOAT"):
        return float(value)
    if kind in ("NUMERIC", "BIGNUMERIC"):
        return decimal.Decimal(value)
    if kind in ("BOOL", "BOOLEAN"):
        return value.lower() == "true"
    if kind == "DATE":
        return dt.date.fromisoformat(value)
    if kind == "TIMESTAMP":
        parsed = dt.datetime.fromisoformat(value.replace(" UTC", "+00:00").replace("Z", "+00:00"))
        return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    if kind == "STRING":
        return value
    raise invalid_query(f"Unsupported query parameter type {kind}")


def decode_parameters(raw: list[dict[str, Any]]) -> dict[str, Any]:
    """The request's queryParameters as Python values, by name."""
    values: dict[str, Any] = {}
    for param in raw:
        name = param.get("name")
        if not name:
            raise invalid_query(
                "Positional query parameters are not supported here; name them (@name)."
            )
        kind = param["parameterType"]["type"]
        value = param.get("parameterValue", {})
        if kind == "ARRAY":
            element = param["parameterType"]["arrayType"]["type"]
            values[name] = [
                _scalar(element, item.get("value")) for item in value.get("arrayValues", [])
            ]
        else:
            values[name] = _scalar(kind, value.get("value"))
    return values


# --- result typing ----------------------------------------------------------------------------

_INT = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$"
)


def bigquery_field(name: str, duck_type: str) -> dict[str, str]:
    """A schema field as BigQuery describes it, from a DuckDB result type."""
    mode = "NULLABLE"
    if duck_type.endswith("[]"):
        mode, duck_type = "REPEATED", duck_type[:-2]
    if duck_type == "BOOLEAN":
        kind = "BOOLEAN"
    elif _INT.match(duck_type):
        kind = "INTEGER"
    elif duck_type in ("DOUBLE", "FLOAT", "REAL"):
        kind = "FLOAT"
    elif duck_type.startswith("DECIMAL"):
        kind = "NUMERIC"
    elif duck_type == "DATE":
        kind = "DATE"
    elif duck_type.startswith("TIMESTAMP"):
        kind = "TIMESTAMP"
    else:
        kind = "STRING"
    return {"name": name, "type": kind, "mode": mode}


def _cell(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "BOOLEAN":
        return "true" if value else "false"
    if kind == "TIMESTAMP":
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        delta = aware - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return str((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)
    if kind == "DATE":
        return value.isoformat()
    if kind == "FLOAT":
        return repr(float(value))
    return str(value)


def encode_row(fields: list[dict[str, str]], row: tuple[Any, ...]) -> dict[str, Any]:
    """One row in BigQuery's REST shape: {"f": [{"v": ...}]}, repeated values as [{"v": ...}]."""
    cells = []
    for spec, value in zip(fields, row, strict=True):
        if spec["mode"] == "REPEATED":
            cells.append({"v": [{"v": _cell(spec["type"], item)} for item in value or []]})
        else:
            cells.append({"v": _cell(spec["type"], value)})
    return {"f": cells}
