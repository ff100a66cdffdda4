"""The embedded sandbox: seeded warehouse, emulators on loopback, and its own clock."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from config import ConfigError
from sandbox.attach import SandboxAddress
from sandbox.bigquery_emulator import BigQueryEmulator
from sandbox.cloudrun_emulator import CloudRunEmulator
from sandbox.cloudrun_state import CloudRunState
from sandbox.demo_repo import platform_repo
from sandbox.demo_season import SANDBOX_NOW
from sandbox.demo_services import seed_services
from sandbox.demo_tables import TABLES, open_in_memory
from sandbox.demo_traffic import bad_commit, behaviour_of, rates, registry
from sandbox.faults import FaultPlan, load_fault_plan
from sandbox.traffic import TrafficModel

if TYPE_CHECKING:
    import duckdb

    from sandbox.grading_simulator import GradingSimulator
    from sandbox.logging_emulator import LoggingEmulator
    from sandbox.monitoring_emulator import MonitoringEmulator
    from sandbox.pubsub_emulator import PubSubEmulator

PROJECT = "nba-props-platform"


def sandbox_now() -> datetime:
    """The sandbox clock: $OPSBOT_SANDBOX_NOW (ISO 8601 with offset) or the documented default."""
    configured = os.environ.get("OPSBOT_SANDBOX_NOW")
    if not configured:
        return SANDBOX_NOW
    example = "e.g. OPSBOT_SANDBOX_NOW=2026-02-05T18:00:00+00:00"
    try:
        parsed = datetime.fromisoformat(configured)
    except ValueError:
        raise ConfigError(
            f"OPSBOT_SANDBOX_NOW={configured!r} is not an ISO 8601 time ({example})"
        ) from None
    if parsed.tzinfo is None:
        raise ConfigError(f"OPSBOT_SANDBOX_NOW={configured!r} needs a UTC offset ({example})")
    return parsed


class RunningSandbox(Protocol):
    """A sandbox to use: one this process started (Sandbox) or another's (AttachedSandbox)."""

    now: datetime
    faults: FaultPlan
    attached: bool

    @property
    def bigquery_url(self) -> str: ...
    @property
    def cloud_run_url(self) -> str: ...
    @property
    def monitoring_endpoint(self) -> str: ...
    @property
    def logging_url(self) -> str: ...
    @property
    def pubsub_url(self) -> str: ...
    @property
    def repo_path(self) -> Path | None: ...
    @property
    def bad_commit(self) -> str: ...
    def clock(self) -> datetime: ...


@dataclass
class StartupTiming:
    seconds: float
    seeded_now: bool  # True: a cold start that generated the demo season


class Sandbox:
    """Start with `with Sandbox() as sandbox:`; the emulators' endpoints and the repo on it."""

    def __init__(
        self,
        now: datetime | None = None,
        faults: FaultPlan | None = None,
        *,
        reads_only: bool = False,
        repo: Path | None = None,
    ) -> None:
        """`reads_only`: only what /health and /drift read (the warehouse, Cloud Run, the repo);
        Monitoring, Logging and Pub/Sub, which rollouts and backfills use, are not started.
        `repo`: a clone of the demo monorepo to use instead of the shared cached one (the chaos
        soak lands commits on its main)."""
        self.now = now or sandbox_now()
        self.reads_only = reads_only
        self.faults = faults or load_fault_plan()  # $OPSBOT_SANDBOX_FAULTS, else the defaults
        self.bigquery: BigQueryEmulator | None = None
        self.cloud_run: CloudRunEmulator | None = None
        self.monitoring: MonitoringEmulator | None = None
        self.logging: LoggingEmulator | None = None
        self.pubsub: PubSubEmulator | None = None
        self.grading: GradingSimulator | None = None
        self.traffic: TrafficModel | None = None
        self.bad_commit = ""
        self.repo_path: Path | None = repo
        self.startup: StartupTiming | None = None
        self.attached = False  # this process runs it (an AttachedSandbox is another's)
        self._started = time.monotonic()
        self._epoch_started = time.time()

    def clock(self) -> datetime:
        """The sandbox's time: its start time plus the seconds it has been running."""
        return self.now + timedelta(seconds=time.monotonic() - self._started)

    def start(self) -> Self:
        started = time.perf_counter()
        con, tables_built = open_in_memory()
        self.bigquery = BigQueryEmulator(con, TABLES)
        self.bigquery.start()
        repo_built = False
        if self.repo_path is None:
            self.repo_path, repo_built = platform_repo()
        state = CloudRunState(self.clock)
        seed_services(state, self.repo_path, self.now)
        self.cloud_run = CloudRunEmulator(state)
        self.cloud_run.start()
        built, faults = registry(self.repo_path), self.faults
        # new revisions: only built commits start, and none the fault plan makes fail
        state.image_exists = lambda image: built(image) and not faults.cloud_run.image_fails(image)
        state.operation_s = faults.cloud_run.operation_s
        self.bigquery.query_s = faults.bigquery.query_s
        self.bigquery.denied_tables.update(faults.bigquery.denied_tables)
        self.cloud_run.denied_permissions.update(faults.cloud_run.denied_permissions)
        self.bad_commit = bad_commit(self.repo_path)
        self.traffic = TrafficModel(state, rates(), behaviour_of(self.bad_commit))
        if not self.reads_only:
            self._start_writers(con)
        self._started = time.monotonic()
        self._epoch_started = time.time()
        self.startup = StartupTiming(time.perf_counter() - started, tables_built or repo_built)
        return self

    def _start_writers(self, con: duckdb.DuckDBPyConnection) -> None:
        """The emulators rollouts and backfills use (imported here: grpc and Monitoring's
        client cost a `--sandbox` health check a third of a second otherwise)."""
        from sandbox.grading_simulator import GradingSimulator
        from sandbox.logging_emulator import LoggingEmulator
        from sandbox.monitoring_emulator import MonitoringEmulator
        from sandbox.pubsub_emulator import PubSubEmulator

        assert self.traffic is not None
        faults = self.faults
        self.monitoring = MonitoringEmulator(
            self.traffic, PROJECT, slow_5xx_series=faults.monitoring.slow_5xx_series
        )
        self.monitoring.start()
        self.logging = LoggingEmulator(
            self.traffic, PROJECT, self.clock, page_size=faults.logging.page_size
        )
        self.logging.start()
        self.pubsub = PubSubEmulator(PROJECT)
        self.pubsub.create_topic("nba-grading-trigger")
        self.pubsub.create_subscription("opsbot-grading-complete", "nba-grading-complete")
        self.grading = GradingSimulator(self.pubsub, con, self.clock, faults.regrade)
        self.pubsub.start()

    def address(self, store_url: str) -> SandboxAddress:
        """What other processes need to attach to this sandbox (sandbox/attach.py)."""
        assert self.repo_path is not None, "sandbox not started"
        return SandboxAddress(
            pid=os.getpid(),
            bigquery_url=self.bigquery_url,
            cloud_run_url=self.cloud_run_url,
            monitoring_endpoint=self.monitoring_endpoint,
            logging_url=self.logging_url,
            pubsub_url=self.pubsub_url,
            repo_path=str(self.repo_path),
            store_url=store_url,
            now_at_start=self.now.isoformat(),
            epoch_at_start=self._epoch_started,
            bad_commit=self.bad_commit,
            faults=self.faults.model_dump(),
        )

    @property
    def bigquery_url(self) -> str:
        assert self.bigquery is not None, "sandbox not started"
        return self.bigquery.url

    @property
    def cloud_run_url(self) -> str:
        assert self.cloud_run is not None, "sandbox not started"
        return self.cloud_run.url

    @property
    def monitoring_endpoint(self) -> str:
        assert self.monitoring is not None, "sandbox not started"
        return self.monitoring.endpoint

    @property
    def logging_url(self) -> str:
        assert self.logging is not None, "sandbox not started"
        return self.logging.url

    @property
    def pubsub_url(self) -> str:
        assert self.pubsub is not None, "sandbox not started"
        return self.pubsub.url

    def stop(self) -> None:
        if self.grading is not None:
            self.grading.stopping.set()
        for emulator in (self.pubsub, self.bigquery, self.cloud_run, self.logging):
            if emulator is not None:
                emulator.stop()
        if self.monitoring is not None:
            self.monitoring.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
