"""The checks a profile enables, built from their configuration."""

from __future__ import annotations

from collections.abc import Callable

from checks.base import Check
from checks.bdb_coverage import BdbCoverage
from checks.deployment_drift import DeploymentDrift
from checks.grading_completeness import GradingCompleteness
from checks.phase3_completion import Phase3Completion
from checks.recent_predictions import RecentPredictions
from checks.vegas_line_coverage import VegasLineCoverage
from config import Profile

FACTORIES: dict[str, Callable[[Profile], Check]] = {
    VegasLineCoverage.name: lambda p: VegasLineCoverage(p.checks.vegas_line_coverage),
    GradingCompleteness.name: lambda p: GradingCompleteness(p.checks.grading_completeness),
    Phase3Completion.name: lambda p: Phase3Completion(p.checks.phase3_completion),
    RecentPredictions.name: lambda p: RecentPredictions(p.checks.recent_predictions),
    BdbCoverage.name: lambda p: BdbCoverage(p.checks.bdb_coverage),
    DeploymentDrift.name: lambda p: DeploymentDrift(p.drift),
}


CHECK_NAMES = tuple(FACTORIES)
"""Every check opsbot has; the profile's [health] checks name some of these (default: all)."""


def enabled_checks(profile: Profile) -> list[str]:
    """The names of the checks the profile runs, in its order (every check when it names none)."""
    return list(profile.health.checks) if profile.health.checks is not None else list(CHECK_NAMES)


def build_checks(profile: Profile, names: list[str] | None = None) -> list[Check]:
    """The profile's enabled checks (or `names`), in the profile's order."""
    return [FACTORIES[name](profile) for name in (names or enabled_checks(profile))]
