"""The severity opsbot proposes, by the profile's rules ([postmortem] rules: first match wins)."""

from __future__ import annotations

from dataclasses import dataclass

from config import IncidentKind, PostmortemConfig, SeverityRule


@dataclass(frozen=True)
class Facts:
    """What the rules look at."""

    kind: IncidentKind
    duration_h: float | None  # None: not recovered yet (treated as lasting until now)
    worst_status: str | None = None  # data: the worst check status seen
    days: int = 0  # data: game days at the incident's status
    top_traffic_percent: int = 0  # rollouts and rollbacks: the most the bad revision served


def _matches(rule: SeverityRule, facts: Facts) -> bool:
    if rule.kind is not None and rule.kind != facts.kind:
        return False
    if rule.check_status is not None and rule.check_status != facts.worst_status:
        return False
    if rule.min_days is not None and facts.days < rule.min_days:
        return False
    if rule.min_traffic_percent is not None and (
        facts.kind == "data" or facts.top_traffic_percent < rule.min_traffic_percent
    ):
        return False
    if rule.min_duration_h is not None and facts.duration_h is not None:
        return facts.duration_h >= rule.min_duration_h
    return True


def propose(config: PostmortemConfig, facts: Facts) -> tuple[str, str]:
    """(severity, why): the first rule whose every condition holds, else the default."""
    for rule in config.rules:
        if _matches(rule, facts):
            return rule.severity, rule.because
    return config.default_severity, "no severity rule matched: the profile's default"
