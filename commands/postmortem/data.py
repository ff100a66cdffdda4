"""Drafts of data incidents: the checks run day by day around a game day, and causes from drift.

From the date asked, opsbot runs the checks that failed that day on each day before it (at most
`[postmortem] window_days`) until a day they were better, and on each day after it until they
were OK again: the incident's first and last day at that status, a partial recovery, and the day
it recovered. Days a check does not apply (no games) or cannot run do not end the search.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from checks.registry import enabled_checks
from checks.result import SEVERITY, CheckResult, HealthReport, Status
from commands.health import resolve_as_of, run_health
from commands.postmortem.causes import Window, drift_causes
from commands.postmortem.evidence import Evidence, backfills
from commands.postmortem.model import DRAFT_MARK, DayStatus, Draft, TimelineEvent
from commands.postmortem.severity import Facts, propose
from commands.postmortem.tools import PostmortemTools

NOT_A_DAY = ("deployment_drift",)  # it judges what runs now, not a past game day
BAD = (Status.WARN, Status.CRITICAL)
UNKNOWN = (Status.NOT_APPLICABLE, Status.ERROR)  # no verdict that day: the search goes on


class DaySearch:
    """The checks that failed on the day asked, run on the days around it."""

    def __init__(self, tools: PostmortemTools, asked: HealthReport, failing: dict[str, Status]):
        self.tools = tools
        self.failing = failing  # check → its status on the day asked: the incident's level
        self.asked_day = asked.as_of
        self.reports: dict[date, HealthReport] = {asked.as_of: asked}

    def run(self, day: date) -> HealthReport:
        report = _run(self.tools, day, list(self.failing))
        self.reports[day] = report
        return report

    def verdict(self, report: HealthReport) -> str:
        """ "bad" (a check at the incident's level), "ok" (all OK), "better" or "unknown"."""
        statuses = {r.name: r.status for r in report.results}
        if any(
            SEVERITY[statuses[n]] >= SEVERITY[level]
            for n, level in self.failing.items()
            if statuses[n] in BAD
        ):
            return "bad"
        if all(statuses[n] in UNKNOWN for n in self.failing):
            return "unknown"
        return "ok" if all(statuses[n] in (Status.OK, *UNKNOWN) for n in self.failing) else "better"


def _run(tools: PostmortemTools, day: date, checks: list[str]) -> HealthReport:
    return asyncio.run(
        run_health(tools.profile, tools.warehouse(), now=tools.clock(), as_of=day, checks=checks)
    )


def day_checks(tools: PostmortemTools) -> list[str]:
    return [name for name in enabled_checks(tools.profile) if name not in NOT_A_DAY]


def data_draft(tools: PostmortemTools, asked_day: date) -> Draft | None:
    """The draft of the data incident around `asked_day`; None when its checks were all fine."""
    profile = tools.profile
    asked = _run(tools, resolve_as_of(profile, tools.clock(), asked_day), day_checks(tools))
    failing = {r.name: r.status for r in asked.results if r.status in BAD}
    if not failing:
        return None
    search = DaySearch(tools, asked, failing)
    limit = profile.postmortem.window_days
    first = last = asked_day
    for back in range(1, limit + 1):
        seen = search.verdict(search.run(asked_day - timedelta(days=back)))
        if seen == "bad":
            first = asked_day - timedelta(days=back)
        elif seen != "unknown":
            break
    today = resolve_as_of(profile, tools.clock(), None)
    recovered_day: date | None = None
    for ahead in range(1, limit + 1):
        day = asked_day + timedelta(days=ahead)
        if day > today:
            break
        seen = search.verdict(search.run(day))
        if seen == "bad":
            last = day
        elif seen == "ok":
            recovered_day = day
            break
    return _draft(tools, search, first, last, recovered_day)


def _day_start(tools: PostmortemTools, day: date) -> datetime:
    """A game day's start (midnight in the game time zone), as a moment."""
    return datetime.combine(day, time(0), ZoneInfo(tools.profile.platform.game_timezone))


def _span(search: DaySearch, name: str) -> tuple[date, date]:
    """The check's own run around the day asked: days at its level or worse (no verdict bridges)."""
    level = SEVERITY[search.failing[name]]
    days = sorted(search.reports)
    statuses = {
        d: next(r.status for r in search.reports[d].results if r.name == name) for d in days
    }
    asked = days.index(search.asked_day)
    first = last = search.asked_day
    for order in (reversed(days[:asked]), days[asked + 1 :]):
        for day in order:
            if statuses[day] in UNKNOWN:
                continue
            if SEVERITY[statuses[day]] < level:
                break
            first, last = min(first, day), max(last, day)
    return first, last


def _days_text(first: date, last: date) -> str:
    return f"{first}" if first == last else f"{first} to {last}"


def _draft(
    tools: PostmortemTools, search: DaySearch, first: date, last: date, recovered_day: date | None
) -> Draft:
    profile = tools.profile
    checks = sorted(search.failing, key=lambda n: -SEVERITY[search.failing[n]])  # worst first
    spans = {name: _span(search, name) for name in checks}
    days = [
        DayStatus(day, {r.name: r.status.value for r in report.results if r.name in search.failing})
        for day, report in sorted(search.reports.items())
    ]
    worst = search.failing[checks[0]]
    found = Evidence(events=_day_events(tools, search))
    started = _day_start(tools, first)
    recovered = _day_start(tools, recovered_day) if recovered_day else None
    until = recovered or tools.clock()
    services = [s.name for s in profile.services if s.data_check in search.failing]
    causes: list[str] = []
    window = Window(first, started, until, recovered_day)
    for service in services:
        causes += drift_causes(tools, found, service, checks, window)
    if not services:
        causes.append(f"no service in the profile names {', '.join(checks)} as its data check")
    backfills(tools, found, started, until, checks)
    bad_days = max(
        (spans[n][1] - spans[n][0]).days + 1 for n in checks if search.failing[n] is worst
    )
    duration_h = (until - started).total_seconds() / 3600 if recovered else None
    severity, because = propose(
        profile.postmortem, Facts("data", duration_h, worst_status=worst.value, days=bad_days)
    )
    each = [
        f"{name} {search.failing[name].value} from {_days_text(*spans[name])}"
        if spans[name][0] != spans[name][1]
        else f"{name} {search.failing[name].value} on {spans[name][0]}"
        for name in checks
    ]
    impact = [
        f"{line}: {_figures(search, name, *spans[name])}"
        for line, name in zip(each, checks, strict=True)
    ]
    impact += [f"services whose data check it is: {', '.join(services)}"] if services else []
    recovery = (
        f"OK again from game day {recovered_day}"
        if recovered_day
        else "not recovered when this draft was made"
    )
    partial = [d for d in days if last < d.day < (recovered_day or date.max) and d.statuses]
    between = "; ".join(
        f"{d.day}: {', '.join(f'{k} {v}' for k, v in d.statuses.items())}" for d in partial
    )
    return Draft(
        kind="data",
        subject=f"date:{search.asked_day}",
        title="; ".join(each),
        started=started,
        recovered=recovered,
        severity=severity,
        severity_because=because,
        impact=impact + found.gaps,
        timeline=sorted(found.events, key=lambda e: e.at),
        sections={
            "summary": f"{DRAFT_MARK}\n{'; '.join(each)}"
            + (f" (then {between})" if between else "")
            + f"; {recovery}.",
            "root_cause": f"{DRAFT_MARK}\nCandidate causes, from what ran during the incident and "
            "what was on main:\n" + "\n".join(f"- {cause}" for cause in causes),
            "resolution": f"{DRAFT_MARK}\n{recovery[0].upper()}{recovery[1:]}. What changed then: "
            "see the timeline.",
            "prevention": f"{DRAFT_MARK}\nHow it would have been caught on its first day, and how a "
            "fix on main reaches production the same day (the drift digest flags it).",
        },
        services=services,
        checks=checks,
        days=days,
        causes=causes,
    )


def _figures(search: DaySearch, name: str, first: date, last: date) -> str:
    results = [
        r
        for day, report in search.reports.items()
        if first <= day <= last
        for r in report.results
        if r.name == name
    ]
    asked = next(
        r for r in search.reports[search.asked_day].results if r.name == name
    )  # its detail names what was missing (models, games) and the drop against the baseline
    said = f"; on {search.asked_day}: {asked.detail}"
    values = [r.value for r in results if r.value is not None]
    if not values:
        return "no figures" + said
    sample: CheckResult = results[0]
    low, high = sample.format_value(min(values)), sample.format_value(max(values))
    baseline = (
        f" against a baseline of {sample.format_value(sample.baseline)}" if sample.baseline else ""
    )
    return f"value {low}" + (f" to {high}" if low != high else "") + baseline + said


def _day_events(tools: PostmortemTools, search: DaySearch) -> list[TimelineEvent]:
    """A game day's statuses as an event whenever they changed from the day before."""
    events: list[TimelineEvent] = []
    before: dict[str, str] = {}
    for day, report in sorted(search.reports.items()):
        results = [r for r in report.results if r.name in search.failing]
        now = {r.name: r.status.value for r in results}
        if now != before:
            said = "; ".join(f"{r.name} {r.status.value}: {r.detail}" for r in results)
            events.append(
                TimelineEvent(_day_start(tools, day), "health", f"game day {day}: {said}")
            )
        before = now
    return events
