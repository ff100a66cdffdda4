"""The warehouse seen by the checks: a parameterised query in, plain rows out."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from string import Template
from typing import Any, Protocol

from adapters.errors import AdapterError

ParamValue = (
    str | int | float | bool | date | datetime | Sequence[str] | Sequence[int] | Sequence[date]
)
Row = dict[str, Any]

_IDENTIFIER = re.compile(r"^[A-Za-z0-9_.-]+$")


class WarehouseError(AdapterError):
    """A query could not run; the message names the tables and says why."""


@dataclass(frozen=True)
class Query:
    """BigQuery SQL with named @parameters; `tables` names what it reads, for error messages."""

    sql: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    tables: tuple[str, ...] = ()


class Warehouse(Protocol):
    def run(self, query: Query) -> list[Row]: ...


def bind_tables(template: str, tables: Mapping[str, str]) -> str:
    """Put validated, backquoted table names into SQL; values never go this way, only @params."""
    quoted: dict[str, str] = {}
    for key, name in tables.items():
        if not _IDENTIFIER.match(name):
            raise ValueError(f"not a table name: {name!r}")
        quoted[key] = f"`{name}`"
    return Template(template).substitute(quoted)
