"""The platform profile: pydantic models, loading, validation. A leaf: it imports nothing of ours."""

from config.checks import (
    BdbCoverageConfig,
    ChecksConfig,
    GradingCompletenessConfig,
    Phase3CompletionConfig,
    RecentPredictionsConfig,
    VegasLineCoverageConfig,
)
from config.loading import ConfigError, load_profile, resolve_profile_path
from config.postmortem import IncidentKind, PostmortemConfig, SeverityRule
from config.profile import (
    ChannelsConfig,
    DeployConfig,
    DriftConfig,
    DriftThresholds,
    FreezeWindow,
    GitConfig,
    HealthConfig,
    PlatformConfig,
    Profile,
    RegradeConfig,
    Role,
    ServiceConfig,
    SlackConfig,
    StoreConfig,
)
from config.schedule import JobConfig, ScheduleConfig

__all__ = [
    "BdbCoverageConfig",
    "ChannelsConfig",
    "ChecksConfig",
    "ConfigError",
    "DeployConfig",
    "DriftConfig",
    "DriftThresholds",
    "FreezeWindow",
    "GitConfig",
    "GradingCompletenessConfig",
    "HealthConfig",
    "IncidentKind",
    "JobConfig",
    "Phase3CompletionConfig",
    "PlatformConfig",
    "PostmortemConfig",
    "Profile",
    "RecentPredictionsConfig",
    "RegradeConfig",
    "Role",
    "ScheduleConfig",
    "ServiceConfig",
    "SeverityRule",
    "SlackConfig",
    "StoreConfig",
    "VegasLineCoverageConfig",
    "load_profile",
    "resolve_profile_path",
]
