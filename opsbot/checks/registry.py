"""The checks a profile enables, built from their configuration."""

from __future__ import annotations

from collections.abc import Callable

from opsbot.checks.base import Check
from opsbot.checks.bdb_coverage import BdbCoverage
from opsbot.checks.deployment_drift import DeploymentDrift
from opsbot.checks.grading_completeness import GradingCompleteness
from opsbot.checks.phase3_completion import Phase3Completion
from opsbot.checks.recent_predictions import RecentPredictions
from opsbot.checks.vegas_line_coverage import VegasLineCoverage
from opsbot.config import Profile

FACTORIES: dict[str, Callable[[Profile], Check]] = {
    VegasLineCoverage.name: lambda p: VegasLineCoverage(p.checks.vegas_line_coverage),
    GradingCompleteness.name: lambda p: GradingCompleteness(p.checks.grading_completeness),
    Phase3Completion.name: lambda p: Phase3Completion(p.checks.phase3_completion),
    RecentPredictions.name: lambda p: RecentPredictions(p.checks.recent_predictions),
    BdbCoverage.name: lambda p: BdbCoverage(p.checks.bdb_coverage),
    DeploymentDrift.name: lambda p: DeploymentDrift(p.drift),
}


def build_checks(profile: Profile, names: list[str] | None = None) -> list[Check]:
    """The profile's enabled checks (or `names`), in the profile's order."""
    return [FACTORIES[name](profile) for name in (names or profile.health.checks)]
