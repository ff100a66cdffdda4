"""The Check protocol: a name, the data it needs (fetch) and a pure evaluate step."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from string import Template
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from zoneinfo import ZoneInfo

from adapters.warehouse import Query, Row, Warehouse, bind_tables
from checks.result import CheckResult, Status
from config import Profile

if TYPE_CHECKING:
    from checks.drift_model import DriftSources


@dataclass(frozen=True)
class CheckContext:
    """What every check may look at: the game day judged, the time now, the profile, the data."""

    as_of: date
    now: datetime
    profile: Profile
    warehouse: Warehouse
    drift_sources: Callable[[], DriftSources] | None = None  # opened on demand, off the loop

    @property
    def game_now(self) -> datetime:
        return self.now.astimezone(ZoneInfo(self.profile.platform.game_timezone))

    @property
    def yesterday(self) -> date:
        return self.as_of - timedelta(days=1)

    @property
    def as_of_is_today(self) -> bool:
        return self.as_of == self.game_now.date()

    def sql(self, template: str) -> str:
        """The template with the profile's table names ($feature_store, $schedule, ...)."""
        return bind_tables(template, self.profile.tables.model_dump())


class Check(Protocol):
    @property
    def name(self) -> str: ...

    def fetch(self, ctx: CheckContext) -> Any:
        """Blocking I/O: read what the check needs."""

    def evaluate(self, data: Any, ctx: CheckContext) -> CheckResult:
        """Pure: judge the data."""


class WarehouseCheck(ABC):
    """A check answered by one BigQuery query."""

    name: ClassVar[str]

    @abstractmethod
    def query(self, ctx: CheckContext) -> Query: ...

    @abstractmethod
    def evaluate(self, data: list[Row], ctx: CheckContext) -> CheckResult: ...

    def fetch(self, ctx: CheckContext) -> list[Row]:
        return ctx.warehouse.run(self.query(ctx))


def floor_status(value: float, ok_min: float, warn_min: float) -> Status:
    """OK at or above ok_min, WARN at or above warn_min, else CRITICAL."""
    if value >= ok_min:
        return Status.OK
    return Status.WARN if value >= warn_min else Status.CRITICAL


def render_action(template: str | None, **fields: str) -> str | None:
    """The profile's suggested command with its $placeholders filled, if the check has one."""
    return None if template is None else Template(template).substitute(fields)


def pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0
