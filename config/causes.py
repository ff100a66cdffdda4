"""The profile's [causes]: which services write what each check reads, and what feeds it.

/health looks for a failing check's likely cause among these (commands/health_causes): a
writer deployed inside the check's window, a fix to a writer on main but not deployed, a
traffic split left on a writer, an upstream check that failed first. The defaults are the
platform's (docs/platform.md: the services, the tables they write, the phases' order).
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from config.common import Strict

KNOWN_CHECKS = "known_checks"  # the validation context's key (config/loading.py passes it)


class CheckCauses(Strict):
    """One check: the services that write the table(s) it reads, and the checks upstream of it."""

    writers: list[str] = Field(default_factory=list)  # service names of the profile
    upstream: list[str] = Field(default_factory=list)  # check names, nearest first


def platform_causes() -> dict[str, CheckCauses]:
    """docs/platform.md: scrapers and phase 2 load play-by-play; phase 3 builds the analytics
    (actuals) from it; phase 4 the feature store (with its Vegas lines) from phase 3; the
    prediction services predict from the features; the grading service grades predictions
    against phase 3's actuals."""
    return {
        "bdb_coverage": CheckCauses(writers=["nba-phase2-raw-processors", "nba-scrapers"]),
        "phase3_completion": CheckCauses(
            writers=["nba-phase3-analytics-processors"], upstream=["bdb_coverage"]
        ),
        "vegas_line_coverage": CheckCauses(
            writers=["nba-phase4-precompute-processors"], upstream=["phase3_completion"]
        ),
        "recent_predictions": CheckCauses(
            writers=["prediction-worker", "prediction-coordinator"],
            upstream=["vegas_line_coverage", "phase3_completion"],
        ),
        "grading_completeness": CheckCauses(
            writers=["nba-grading-service"], upstream=["phase3_completion"]
        ),
        "deployment_drift": CheckCauses(),  # its own findings name the services behind main
    }


class CausesConfig(Strict):
    """Where /health looks for the likely cause of a failing check, and how far back."""

    # A deploy this long before the first failing game day began still counts as inside the
    # check's window: the day before a game day is when its data's code was last changed
    # (phase 3 of day D runs overnight into D+1; features and predictions run on D).
    lead_hours: float = Field(default=24.0, ge=0, le=24 * 14)
    # The window ends when the day judged is due: its morning processing and its 12:00 ET
    # prediction run are done by then (a deploy after it did not make the data judged).
    due_hour: int = Field(default=12, ge=0, le=23)
    shown: int = Field(default=3, ge=1, le=10)  # causes kept per check, most likely first
    checks: dict[str, CheckCauses] = Field(default_factory=platform_causes)

    @field_validator("checks", mode="before")
    @classmethod
    def _over_the_platforms(cls, value: object) -> object:
        """A table naming some checks replaces those and keeps the platform's map for the others;
        an empty one (`checks = {}`) turns the map off: no check is looked at for causes."""
        if isinstance(value, dict) and value:
            return {**platform_causes(), **value}
        return value

    @field_validator("checks")
    @classmethod
    def _known_checks(
        cls, value: dict[str, CheckCauses], info: ValidationInfo
    ) -> dict[str, CheckCauses]:
        known = info.context.get(KNOWN_CHECKS) if isinstance(info.context, dict) else None
        if known is None:
            return value
        named = set(value) | {name for causes in value.values() for name in causes.upstream}
        unknown = sorted(named - set(known))
        if unknown:
            raise ValueError(f"unknown check(s) {unknown}; known: {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _no_check_upstream_of_itself(self) -> Self:
        """A check cannot have failed before itself, directly or through the checks it names:
        such a map would name a failing check as its own upstream cause."""
        for name in self.checks:
            seen: set[str] = set()
            todo = list(self.checks[name].upstream)
            while todo:
                upstream = todo.pop()
                if upstream == name:
                    raise ValueError(
                        f"causes.checks.{name}.upstream: {name} would be upstream of itself"
                    )
                if upstream not in seen:
                    seen.add(upstream)
                    todo += self.checks[upstream].upstream if upstream in self.checks else []
        return self
