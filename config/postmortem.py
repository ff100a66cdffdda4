"""The profile's [postmortem]: when drafts are due, where they go, and how severity is proposed."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from config.common import ChannelRef, Strict

IncidentKind = Literal["rollout", "rollback", "data"]


class SeverityRule(Strict):
    """A severity proposed when every condition it names holds; the first rule that matches wins."""

    severity: str
    because: str  # said in the draft beside the severity, e.g. "a CRITICAL check for 3+ days"
    kind: IncidentKind | None = None
    check_status: Literal["WARN", "CRITICAL"] | None = None  # data: the worst status seen
    min_days: int | None = Field(default=None, ge=1)  # data: game days the incident lasted
    min_traffic_percent: int | None = Field(default=None, ge=1, le=100)  # the bad revision's top
    min_duration_h: float | None = Field(default=None, ge=0)  # first bad signal → recovery


def _default_rules() -> list[SeverityRule]:
    return [
        SeverityRule(
            severity="SEV1",
            because="a data check was CRITICAL for 3 game days or more",
            kind="data",
            check_status="CRITICAL",
            min_days=3,
        ),
        SeverityRule(
            severity="SEV2",
            because="a data check was CRITICAL",
            kind="data",
            check_status="CRITICAL",
        ),
        SeverityRule(
            severity="SEV2",
            because="a bad revision served half the traffic or more",
            min_traffic_percent=50,
        ),
        SeverityRule(severity="SEV3", because="a data check was WARN", kind="data"),
        SeverityRule(
            severity="SEV3",
            because="a bad revision served users for an hour or more",
            min_duration_h=1.0,
        ),
    ]


class PostmortemConfig(Strict):
    """Postmortems: written within `due_h` of the incident; severity by the first matching rule."""

    due_h: float = Field(default=48.0, gt=0)  # the team's rule: a postmortem within 48 h
    remind_before_h: float = Field(default=24.0, gt=0)  # a draft is nudged this long before due
    channel: ChannelRef = "#deployment-alerts"  # where /postmortem for a date posts its draft
    window_days: int = Field(default=14, ge=1, le=31)  # a data incident is searched this far
    severities: list[str] = Field(default_factory=lambda: ["SEV1", "SEV2", "SEV3", "SEV4"])
    default_severity: str = "SEV4"  # when no rule matches (a canary caught at its first step)
    rules: list[SeverityRule] = Field(default_factory=_default_rules)

    @model_validator(mode="after")
    def _known_severities(self) -> Self:
        named = [self.default_severity, *(rule.severity for rule in self.rules)]
        unknown = sorted({s for s in named if s not in self.severities})
        if unknown:
            raise ValueError(
                f"severity {', '.join(unknown)} is not in postmortem.severities {self.severities}"
            )
        if self.remind_before_h >= self.due_h:
            raise ValueError("postmortem.remind_before_h must be less than postmortem.due_h")
        return self
