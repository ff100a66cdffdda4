"""The sandbox's fault plan: production behaviours the emulators produce on request.

`OPSBOT_SANDBOX_FAULTS=path.toml` names a plan (docs/sandbox.md lists every key); without one,
the defaults below hold, and Cloud Run's writes take a few seconds so that the demo shows the
wait a real deploy has.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config import ConfigError

FAULTS_ENV = "OPSBOT_SANDBOX_FAULTS"
DEMO_OPERATION_S = 3.0
MIN_SHA = 7  # the shortest commit prefix git accepts as naming one


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CloudRunFaults(_Section):
    operation_s: float = Field(default=DEMO_OPERATION_S, ge=0)  # every write's operation
    fail_images: list[str] = Field(default_factory=list)  # image tags (commits) that never start
    denied_permissions: list[str] = Field(default_factory=list)  # left out of testIamPermissions

    def image_fails(self, image: str) -> bool:
        """Whether `image`'s tag and a listed commit name one commit, whichever is the longer."""
        tag = image.rsplit(":", 1)[-1]  # the short SHA; a plan may list a longer one, or the full
        return any(
            tag.startswith(prefix) or (len(tag) >= MIN_SHA and prefix.startswith(tag))
            for prefix in self.fail_images
        )


class MonitoringFaults(_Section):
    slow_5xx_series: bool = False  # a few slow 5xx beside the 2xx latency series


class SlackFaults(_Section):
    not_in_channel: list[str] = Field(default_factory=list)  # channels the bot is not in
    missing_scopes: list[str] = Field(default_factory=list)  # not granted to the bot token


class BigQueryFaults(_Section):
    query_s: float = Field(default=0.0, ge=0)  # each query job runs this long
    denied_tables: list[str] = Field(default_factory=list)  # dataset.table the caller cannot read


class LoggingFaults(_Section):
    page_size: int | None = Field(default=None, ge=1)  # at most this many entries a page


class RegradeFaults(_Section):
    fail_dates: list[str] = Field(default_factory=list)  # YYYY-MM-DD whose grading fails
    slow_dates: list[str] = Field(default_factory=list)  # graded only after slow_s
    slow_s: float = Field(default=30.0, ge=0)
    duplicate_completions: bool = False  # every completion published twice


class FaultPlan(_Section):
    cloud_run: CloudRunFaults = CloudRunFaults()
    monitoring: MonitoringFaults = MonitoringFaults()
    slack: SlackFaults = SlackFaults()
    bigquery: BigQueryFaults = BigQueryFaults()
    logging: LoggingFaults = LoggingFaults()
    regrade: RegradeFaults = RegradeFaults()


class FaultPlanError(ConfigError):
    """The plan named by $OPSBOT_SANDBOX_FAULTS cannot be read; the message says how to fix it."""


def load_fault_plan(path: str | None = None) -> FaultPlan:
    """The plan at `path`, else at $OPSBOT_SANDBOX_FAULTS, else the defaults."""
    named = path if path is not None else os.environ.get(FAULTS_ENV)
    if not named:
        return FaultPlan()
    try:
        raw = tomllib.loads(Path(named).expanduser().read_text())
        return FaultPlan.model_validate(raw)
    except OSError as exc:
        raise FaultPlanError(f"{FAULTS_ENV}={named}: cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise FaultPlanError(f"{FAULTS_ENV}={named}: not TOML ({exc})") from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise FaultPlanError(
            f"{FAULTS_ENV}={named}: {problems} (docs/sandbox.md lists the keys)"
        ) from None
