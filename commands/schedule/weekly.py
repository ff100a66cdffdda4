"""The weekly report's figures: delivery (DORA's four) and health, this week against the last.

Everything is read from what opsbot recorded: the audit log of every rollout transition, the
backfills, and the health digest's scheduled runs; lead time also asks git when a commit was made.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from store.backfill_views import BackfillView
from store.postmortem_views import ActionItemView
from store.schedule_views import RunView
from store.views import AuditView

WEEK = timedelta(days=7)
STARTED_FROM = "checklist"  # a rollout starts when it leaves its checklist for a canary
HEALTHY = ("OK", "NOT_APPLICABLE")


@dataclass(frozen=True)
class WeekFigures:
    start: datetime
    end: datetime
    deploys: dict[str, int] = field(default_factory=dict)  # service → rollouts that reached 100%
    lead_times_h: list[float] = field(default_factory=list)  # commit → 100% of traffic
    started: int = 0
    rolled_back: int = 0
    hand_rollbacks: int = 0  # /rollback outside a rollout
    restore_minutes: list[float] = field(default_factory=list)  # rollback started → done
    check_restore_hours: list[float] = field(default_factory=list)  # CRITICAL → next OK
    health_runs: int = 0
    health_ok_runs: int = 0
    worst_check: str | None = None
    worst_check_failing_runs: int = 0
    backfills: int = 0
    backfill_dates: int = 0

    @property
    def deploy_count(self) -> int:
        return sum(self.deploys.values())

    @property
    def lead_time_h(self) -> float | None:
        return statistics.median(self.lead_times_h) if self.lead_times_h else None

    @property
    def change_failure_rate(self) -> float | None:
        return self.rolled_back / self.started if self.started else None

    @property
    def restore_min(self) -> float | None:
        return statistics.median(self.restore_minutes) if self.restore_minutes else None

    @property
    def check_restore_h(self) -> float | None:
        return statistics.median(self.check_restore_hours) if self.check_restore_hours else None

    @property
    def health_ok_share(self) -> float | None:
        return self.health_ok_runs / self.health_runs if self.health_runs else None


@dataclass(frozen=True)
class WeeklyReport:
    this: WeekFigures
    before: WeekFigures
    open_items: list[ActionItemView] = field(default_factory=list)  # postmortems' follow-ups
    today: date | None = None  # in the team's time zone: what is overdue


def _within(moment: datetime, start: datetime, end: datetime) -> bool:
    return start <= moment < end


def week_figures(
    start: datetime,
    end: datetime,
    audit: Sequence[AuditView],
    commits: dict[int, str],
    commit_time: Callable[[str], datetime | None],
    health_runs: Sequence[RunView],
    backfills: Sequence[BackfillView],
) -> WeekFigures:
    """One week's figures. `commits`: rollout id → the commit it shipped; `health_runs`: the
    health digest's runs, oldest first (a check CRITICAL before the week may recover in it)."""
    deploys: Counter[str] = Counter()
    lead: list[float] = []
    started = rolled_back = hand = 0
    rolling_since: dict[int, datetime] = {}
    restore: list[float] = []
    for entry in audit:
        moved_to = entry.arguments.get("to")
        moved_from = entry.arguments.get("from")
        rollout = entry.rollout_id
        if entry.action == "rollback" and _within(entry.at, start, end):
            hand += 1
        if rollout is None or moved_to is None:
            continue
        if moved_to == "rolling_back":
            rolling_since.setdefault(rollout, entry.at)
        if not _within(entry.at, start, end):
            continue
        if moved_from == STARTED_FROM and moved_to == "canary":
            started += 1
        elif moved_to == "watch" and moved_from != "watch":
            deploys[entry.service or "?"] += 1
            made = commit_time(commits[rollout]) if rollout in commits else None
            if made is not None:
                lead.append((entry.at - made).total_seconds() / 3600)
        elif moved_to == "rolled_back":
            rolled_back += 1
            if rollout in rolling_since:
                restore.append((entry.at - rolling_since[rollout]).total_seconds() / 60)
    health = _health(start, end, health_runs)
    in_week = [b for b in backfills if _within(b.created_at, start, end)]
    return WeekFigures(
        start=start,
        end=end,
        deploys=dict(sorted(deploys.items())),
        lead_times_h=lead,
        started=started,
        rolled_back=rolled_back,
        hand_rollbacks=hand,
        restore_minutes=restore,
        backfills=len(in_week),
        backfill_dates=sum(len(b.dates) for b in in_week),
        check_restore_hours=health.check_restore_hours,
        health_runs=health.health_runs,
        health_ok_runs=health.health_ok_runs,
        worst_check=health.worst_check,
        worst_check_failing_runs=health.worst_check_failing_runs,
    )


@dataclass(frozen=True)
class _HealthFigures:
    check_restore_hours: list[float]
    health_runs: int
    health_ok_runs: int
    worst_check: str | None
    worst_check_failing_runs: int


def _health(start: datetime, end: datetime, runs: Sequence[RunView]) -> _HealthFigures:
    """OK share of the scheduled health runs, the worst check, and CRITICAL → OK times."""
    scheduled = [r for r in runs if not r.manual and r.done and r.fingerprint]
    critical_since: dict[str, datetime] = {}
    recovered: list[float] = []
    weight: Counter[str] = Counter()
    failing: Counter[str] = Counter()
    total = ok = 0
    for run in scheduled:
        statuses: dict[str, str] = run.fingerprint or {}
        for check, status in statuses.items():
            if status == "CRITICAL":
                critical_since.setdefault(check, run.fire_time)
            elif status in HEALTHY and check in critical_since:
                began = critical_since.pop(check)
                if _within(run.fire_time, start, end):
                    recovered.append((run.fire_time - began).total_seconds() / 3600)
        if not _within(run.fire_time, start, end):
            continue
        total += 1
        ok += run.detail.get("status") == "OK"
        for check, status in statuses.items():
            if status not in HEALTHY:
                weight[check] += 2 if status == "CRITICAL" else 1
                failing[check] += 1
    worst = weight.most_common(1)
    return _HealthFigures(
        recovered,
        total,
        ok,
        worst[0][0] if worst else None,
        failing[worst[0][0]] if worst else 0,
    )
