"""The platform profile's models (opsbot.toml): pydantic, frozen, unknown keys refused."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from config.causes import CausesConfig, platform_causes
from config.checks import ChecksConfig, Percent, action_template
from config.common import ChannelRef, Strict
from config.postmortem import PostmortemConfig
from config.schedule import ScheduleConfig

TABLE_NAME = re.compile(
    r"^(?:[a-z][a-z0-9-]{4,28}[a-z0-9]\.)?[A-Za-z0-9_]{1,1024}\.[A-Za-z0-9_-]{1,1024}$"
)
KNOWN_CHECKS = "known_checks"
"""Validation context key: the check names the registry has (config imports no check)."""


def _known_check_names(info: ValidationInfo) -> Collection[str] | None:
    """The registry's check names, when the loader passed them in the validation context."""
    context = info.context
    return context.get(KNOWN_CHECKS) if isinstance(context, dict) else None


def _check_name_error(unknown: list[str], known: Collection[str]) -> ValueError:
    return ValueError(f"unknown check(s) {unknown}; known: {', '.join(known)}")


def _table_name(value: str) -> str:
    if not TABLE_NAME.match(value):
        raise ValueError("expected dataset.table or project.dataset.table (letters, digits, _ -)")
    return value


TableName = Annotated[str, AfterValidator(_table_name)]


class PlatformConfig(Strict):
    project: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    region: str
    game_timezone: str = "America/New_York"
    human_timezone: str = "America/Los_Angeles"


class BigQueryConfig(Strict):
    location: str = "US"
    maximum_bytes_billed: int = Field(default=50_000_000_000, gt=0)
    query_timeout_s: float = Field(default=25.0, gt=0)


class TablesConfig(Strict):
    feature_store: TableName = "nba_predictions.ml_feature_store_v2"
    predictions: TableName = "nba_predictions.player_prop_predictions"
    prediction_accuracy: TableName = "nba_predictions.prediction_accuracy"
    player_game_summary: TableName = "nba_analytics.player_game_summary"
    schedule: TableName = "nba_reference.nba_schedule"
    bdb_play_by_play: TableName = "nba_raw.bigdataball_play_by_play"
    bettingpros_props: TableName = "nba_raw.bettingpros_player_points_props"
    phase_completions: TableName = "nba_orchestration.phase_completions"


class HealthConfig(Strict):
    check_timeout_s: float = Field(default=30.0, gt=0)
    # A serving bot builds /health reports in a worker process, so that the checks' work never
    # slows its acknowledgements (false: in the bot's own process). Terminal commands run in-process.
    worker_process: bool = True
    checks: list[str] | None = None  # None: every check in the registry, in its order

    @field_validator("checks")
    @classmethod
    def _known_checks(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        known = _known_check_names(info)
        unknown = [name for name in value or [] if known is not None and name not in known]
        if unknown and known is not None:
            raise _check_name_error(unknown, known)
        return value


class DriftThresholds(Strict):
    """When undeployed commits become a warning or critical (per service, or the default)."""

    warn_age_hours: float = Field(default=2.0, ge=0)
    critical_commits: int = Field(default=20, ge=1)
    critical_age_hours: float = Field(default=24.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.warn_age_hours > self.critical_age_hours:
            raise ValueError("warn_age_hours must not exceed critical_age_hours")
        return self


class DriftConfig(DriftThresholds):
    """Drift policy: default thresholds, the digest's rule across services, what to show."""

    digest_critical_services: int = Field(default=3, ge=1)
    digest_warn_services: int = Field(default=2, ge=1)
    commits_shown: int = Field(default=5, ge=0, le=50)
    cloud_run_timeout_s: float = Field(default=20.0, gt=0)
    action: Annotated[str | None, action_template(("service",))] = None


def _source_path(value: str) -> str:
    cleaned = value.strip().strip("/")
    if not cleaned or cleaned.startswith("-") or ".." in cleaned.split("/") or "\\" in cleaned:
        raise ValueError(
            f"{value!r} is not a repository-relative directory (e.g. predictions/worker)"
        )
    return cleaned


SourcePath = Annotated[str, AfterValidator(_source_path)]


class ServiceConfig(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$")
    source_paths: list[SourcePath] = Field(min_length=1)
    drift: DriftThresholds | None = None  # overrides [drift]'s thresholds for this service
    # The check that shows this service's data is healthy after a deploy (docs/platform.md): shown in
    # the deploy checklist, and a canary fails when it gets worse than it was at the start.
    data_check: str | None = None
    # What the canary must be seen writing, per request, against the stable revision: "predictions"
    # (rows of the predictions table stamped with its deployment_revision). None: not judged.
    canary_output: Literal["predictions"] | None = None

    @field_validator("data_check")
    @classmethod
    def _known_data_check(cls, value: str | None, info: ValidationInfo) -> str | None:
        known = _known_check_names(info)
        if value is not None and known is not None and value not in known:
            raise _check_name_error([value], known)
        return value


class GitConfig(Strict):
    """The platform monorepo's checkout; a relative path is relative to the profile's file."""

    path: str = "../nba-props-platform"
    branch: str = Field(default="main", pattern=r"^[A-Za-z0-9._/-]+$")
    remote: str | None = Field(default="origin", pattern=r"^[A-Za-z0-9._-]+$")
    fetch: bool = True
    fetch_timeout_s: float = Field(default=60.0, gt=0)
    # A serving bot fetches main in the background at most this often (a report never waits on
    # it and says how fresh main is); a terminal command fetches before it reads.
    fetch_interval_s: float = Field(default=60.0, gt=0)


class ChannelsConfig(Strict):
    alerts: str = "#nba-alerts"
    errors: str = "#app-error-alerts"
    deployments: str = "#deployment-alerts"
    canary: str = "#canary-alerts"
    health: str = "#orchestration-health"


Role = Literal["deployer", "approver", "regrader"]
UserRef = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")]
PersonName = Annotated[str, Field(pattern=r"^[^\x00-\x1f<>@]{1,80}$")]  # read as `@name`


class SlackConfig(Strict):
    """Who may run what where: read-only commands by channel, mutating ones by role."""

    # Read-only commands (/health, /drift) answer in these channels (#name or channel ID);
    # elsewhere they answer with an ephemeral note naming them.
    command_channels: list[ChannelRef] = Field(
        default_factory=lambda: [
            "#orchestration-health",
            "#nba-alerts",
            "#app-error-alerts",
            "#deployment-alerts",
            "#canary-alerts",
        ],
        min_length=1,
    )
    # Reports (/health, /drift) built at once; more wait their turn, saying so. Keeps acks fast.
    max_concurrent_reports: int = Field(default=4, ge=1, le=64)
    # Slack user IDs per role, for the mutating commands (deploy, promote, rollback).
    roles: dict[Role, list[UserRef]] = Field(default_factory=dict)
    # Slack user ID → the name Markdown and the terminal show for them (Slack shows a mention).
    people: dict[UserRef, PersonName] = Field(default_factory=dict)

    def holders(self, role: Role) -> list[str]:
        """The users who hold `role`."""
        return list(self.roles.get(role, []))

    def holds(self, user: str, role: Role) -> bool:
        """Whether `user` holds `role`."""
        return user in self.roles.get(role, [])


class FreezeWindow(Strict):
    """A recurring time when deploys wait (e.g. during games); only an approver may override."""

    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # local time, HH:MM
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # exclusive; may wrap past midnight
    timezone: str = "America/New_York"
    reason: str = "deploy freeze"


class DeployConfig(Strict):
    """The canary policy: steps, analysis thresholds, approvals, freezes."""

    image: Annotated[str, action_template(("service", "commit"))] = (
        "us-west2-docker.pkg.dev/nba-props-platform/nba-props/$service:$commit"  # short SHA
    )
    steps: list[int] = Field(default_factory=lambda: [10, 50, 100], min_length=1)
    interval_s: float = Field(default=300.0, gt=0)  # each step is held, and analysed, this long
    min_requests: int = Field(default=50, ge=1)  # fewer canary requests: insufficient data
    max_5xx_percent: Percent = 5.0
    max_5xx_vs_stable: float = Field(default=2.0, ge=1)  # canary 5xx ratio ≤ stable's × this...
    min_5xx_excess_points: float = Field(default=1.0, ge=0)  # ...unless within this many points
    latency_factor: float = Field(default=1.5, ge=1)  # canary p95 ≤ stable p95 × this
    min_output_share: float = Field(default=0.5, gt=0, le=1)  # canary writes ≥ stable's rate × this
    failures_to_roll_back: int = Field(default=2, ge=1)  # consecutive failing analyses
    two_person_rule: bool = True  # promotion by someone other than the requester
    approval_expiry_h: float = Field(default=4.0, gt=0)
    watch_minutes: float = Field(default=30.0, ge=0)  # after 100%, still watched this long
    # Cloud Run's operations: a new revision must be ready within this (image pull, start-up,
    # health checks), polled this often; a traffic change is waited for as long.
    revision_ready_timeout_s: float = Field(default=600.0, gt=0)
    operation_poll_s: float = Field(default=5.0, gt=0)
    schema_paths: list[str] = Field(default_factory=lambda: ["schemas", "migrations"])
    freeze: list[FreezeWindow] = Field(default_factory=list)

    @model_validator(mode="after")
    def _steps_climb_to_100(self) -> Self:
        if self.steps != sorted(set(self.steps)) or self.steps[-1] != 100 or self.steps[0] <= 0:
            raise ValueError(
                f"steps must rise strictly and end at 100, e.g. [10, 50, 100]; got {self.steps}"
            )
        return self


class RegradeConfig(Strict):
    """Grading backfills: what they publish where, and how many at once."""

    trigger_topic: str = "nba-grading-trigger"
    complete_topic: str = "nba-grading-complete"
    complete_subscription: str = "opsbot-grading-complete"  # a pull subscription on the above
    max_dates: int = Field(default=62, ge=1)
    max_in_flight: int = Field(default=4, ge=1)  # published, not yet complete
    date_timeout_min: float = Field(default=15.0, gt=0)
    run_aggregation: bool = True
    poll_s: float = Field(default=5.0, gt=0)  # how often the bot pulls completions and publishes
    # A backfill whose driver has not pumped it for this long (and for at least 12 rounds of
    # poll_s) is taken for dead and driven by another replica. 60 s: 12 rounds of 5 s, longer
    # than a live round held up by Slack's rate limits (3 retries) or by a Pub/Sub publish
    # timing out ([drift] cloud_run_timeout_s, 20 s), so a live driver is not taken over.
    driver_lease_s: float = Field(default=60.0, gt=0)
    # A date's publish claimed and not confirmed this long after: its process died in between,
    # and whoever drives the backfill next publishes it again. 30 s: longer than a publish's own
    # timeout (20 s), so a live publisher records Pub/Sub's answer (or its failure) first.
    republish_after_s: float = Field(default=30.0, gt=0)
    # The push subscription to POST /pubsub/grading-complete (Cloud Run): its OIDC token's
    # audience, and the service accounts allowed to sign it. Unset: the endpoint refuses all.
    push_audience: str | None = None
    push_service_accounts: list[str] = Field(default_factory=list)


class StoreConfig(Strict):
    """Where state lives: this SQLite file, unless $DATABASE_URL names a database (PostgreSQL)."""

    sqlite_path: str = "~/.local/state/opsbot/opsbot.db"  # relative: to the profile's directory


class Profile(Strict):
    """The whole profile: one platform, its tables, checks, services and channels."""

    platform: PlatformConfig
    bigquery: BigQueryConfig = BigQueryConfig()
    tables: TablesConfig = TablesConfig()
    health: HealthConfig = HealthConfig()
    checks: ChecksConfig = ChecksConfig()
    services: list[ServiceConfig] = Field(default_factory=list)
    git: GitConfig = GitConfig()
    drift: DriftConfig = DriftConfig()
    channels: ChannelsConfig = ChannelsConfig()
    slack: SlackConfig = SlackConfig()
    store: StoreConfig = StoreConfig()
    deploy: DeployConfig = DeployConfig()
    regrade: RegradeConfig = RegradeConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    postmortem: PostmortemConfig = PostmortemConfig()
    causes: CausesConfig = CausesConfig()  # where /health looks for a failing check's cause

    def service(self, name: str) -> ServiceConfig | None:
        return next((s for s in self.services if s.name == name), None)

    def drift_thresholds(self, service: ServiceConfig) -> DriftThresholds:
        return service.drift or self.drift

    @model_validator(mode="after")
    def _query_timeout_inside_check_timeout(self) -> Self:
        if self.bigquery.query_timeout_s > self.health.check_timeout_s:
            raise ValueError(
                f"bigquery.query_timeout_s ({self.bigquery.query_timeout_s:g}) must not exceed "
                f"health.check_timeout_s ({self.health.check_timeout_s:g}): a query would outlive its check"
            )
        return self

    @model_validator(mode="after")
    def _causes_name_its_services(self) -> Self:
        """Writers a profile's own [causes.checks] names are its services: one it lacks would be
        skipped without a word, and its check's alarms never given a cause. (The defaults name
        docs/platform.md's services, of which a profile may run fewer.)"""
        if "checks" not in self.causes.model_fields_set:
            return self
        known = {service.name for service in self.services}
        defaults = platform_causes()
        for check, causes in self.causes.checks.items():
            if defaults.get(check) == causes:  # kept from the platform's map, not written here
                continue
            unknown = sorted(set(causes.writers) - known)
            if unknown:
                raise ValueError(
                    f"causes.checks.{check}.writers: unknown service(s) {unknown}; "
                    f"known: {', '.join(sorted(known)) or 'none'}"
                )
        return self

    @model_validator(mode="after")
    def _unique_services(self) -> Self:
        names = [service.name for service in self.services]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate service name(s): {', '.join(duplicates)}")
        return self
