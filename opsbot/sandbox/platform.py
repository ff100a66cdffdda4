"""The embedded sandbox: seeded warehouse, emulators on loopback, and its own clock."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Self

from opsbot.sandbox.bigquery_emulator import BigQueryEmulator
from opsbot.sandbox.demo_season import SANDBOX_NOW
from opsbot.sandbox.demo_tables import TABLES, open_in_memory


def sandbox_now() -> datetime:
    """The sandbox clock: $OPSBOT_SANDBOX_NOW (ISO 8601 with offset) or the documented default."""
    configured = os.environ.get("OPSBOT_SANDBOX_NOW")
    if not configured:
        return SANDBOX_NOW
    parsed = datetime.fromisoformat(configured)
    if parsed.tzinfo is None:
        raise ValueError("OPSBOT_SANDBOX_NOW needs a UTC offset, e.g. 2026-02-05T18:00:00+00:00")
    return parsed


@dataclass
class StartupTiming:
    seconds: float
    seeded_now: bool  # True: a cold start that generated the demo season


class Sandbox:
    """Start with `with Sandbox() as sandbox:`; `sandbox.bigquery_url` is the emulator's endpoint."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or sandbox_now()
        self.bigquery: BigQueryEmulator | None = None
        self.startup: StartupTiming | None = None

    def start(self) -> Self:
        started = time.perf_counter()
        con, built = open_in_memory()
        self.bigquery = BigQueryEmulator(con, TABLES)
        self.bigquery.start()
        self.startup = StartupTiming(time.perf_counter() - started, built)
        return self

    @property
    def bigquery_url(self) -> str:
        assert self.bigquery is not None, "sandbox not started"
        return self.bigquery.url

    def stop(self) -> None:
        if self.bigquery is not None:
            self.bigquery.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
