"""Finds the likely causes of a report's failing checks while the report runs.

Each check's own causes (its writers' deploys, fixes and splits, its job) are looked for as soon
as it fails, on the process's threads, while the other checks still run; the causes that come
from other checks (an upstream check failed first) are added when all are in. A check that
passes gets none; a failing one without evidence gets none too ("no likely cause found"), unless
something could not be read or run while they were looked for: that is said instead
(`causes_incomplete`), never that there is no cause. The causes never fail a report: a cause
finder that breaks leaves the check without causes, and says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from checks.drift_model import DriftSources
from checks.result import CheckResult, HealthReport, Status
from commands.health_causes.behind import behind_causes
from commands.health_causes.deploys import deploy_causes
from commands.health_causes.drift import fix_causes, split_causes
from commands.health_causes.jobs import job_causes
from commands.health_causes.rank import Candidate, ranked
from commands.health_causes.reads import Reads
from commands.health_causes.records import Records
from commands.health_causes.span import span_of
from commands.health_causes.upstream import upstream_causes
from config import Profile, ServiceConfig
from infra.blocking import shared

log = logging.getLogger("opsbot.health_causes")
FAILING = (Status.WARN, Status.CRITICAL)
RunChecks = Callable[[list[str]], Awaitable[HealthReport]]


@dataclass
class Found:
    """A check's own likely causes, and what could not be read while they were looked for."""

    candidates: list[Candidate] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)


def _broke(what: str, exc: Exception) -> str:
    """The gap a cause finder's own failure leaves."""
    return f"{what} could not be looked for ({type(exc).__name__}: {exc})"


class CauseFinder:
    """`start(result)` as each check ends, then `finish(report)` for the report with causes."""

    def __init__(
        self,
        profile: Profile,
        as_of: date,
        now: datetime,
        drift_sources: Callable[[], DriftSources] | None,
        records: Records | None = None,
    ) -> None:
        self.profile = profile
        self.as_of = as_of
        self.now = now
        self.reads = Reads(drift_sources)
        self.records = records or Records()
        self._own: dict[str, asyncio.Future[Found]] = {}

    def sought(self, result: CheckResult) -> bool:
        """Whether causes are looked for: a failing check the profile maps ([causes.checks])."""
        return result.status in FAILING and result.name in self.profile.causes.checks

    def start(self, result: CheckResult) -> None:
        """Begin looking for the check's own causes (on a thread) if it failed."""
        if self.sought(result) and result.name not in self._own:
            future = shared().submit(self._own_causes, result)
            self._own[result.name] = asyncio.wrap_future(future)

    def _own_causes(self, result: CheckResult) -> Found:
        reads = self.reads.for_check()  # read once per report; the gaps its own
        found = job_causes(result, self.profile, self.records)
        found += behind_causes(result, self.profile, reads, self.records)
        span = span_of(result, self.as_of, self.profile, self.now)
        if span is None:
            return Found(found, reads.gaps)
        writers = [
            service
            for name in self.profile.causes.checks[result.name].writers
            if (service := self.profile.service(name)) is not None  # else nothing to read
        ]

        def of_writer(service: ServiceConfig) -> list[Candidate]:
            both: list[Callable[[str], object]] = [reads.revisions, reads.service]
            shared().in_parallel(lambda read: read(service.name), both, width=2)  # both at once
            causes = fix_causes(self.profile, service, span, reads, check=result.name)
            causes += deploy_causes(
                service, span, reads, self.records, check=result.name, as_of=self.as_of
            )
            if span.opened:  # a split that began inside the window (span.py)
                causes += split_causes(service, span, reads)
            return causes

        for causes in shared().in_parallel(of_writer, writers, width=len(writers) or 1):
            found += causes
        return Found(found, reads.gaps)

    async def _found(self, name: str) -> Found:
        try:
            return await self._own[name]
        except Exception as exc:  # a cause finder's bug never fails the report
            log.exception("health causes: finding the causes of %s failed", name)
            return Found(gaps=[_broke("its causes", exc)])

    async def finish(self, report: HealthReport, run_more: RunChecks | None = None) -> HealthReport:
        """The report with each failing check's causes; upstream checks the report did not run
        (a Details click runs one check) are run with `run_more` when a failing check needs them."""
        for result in report.results:
            self.start(result)  # any not handed over while the report ran
        results = {r.name: r for r in report.results}
        wanted = sorted(
            {
                upstream
                for result in report.results
                if self.sought(result)
                for upstream in self.profile.causes.checks[result.name].upstream
                if upstream not in results
            }
        )
        if wanted and run_more is not None:
            for extra in (await run_more(wanted)).results:
                results[extra.name] = extra
                self.start(extra)
        own = {name: await self._found(name) for name in list(self._own)}
        done: dict[str, CheckResult] = {}
        for name in results:
            self._with_causes(name, results, own, done, set())
        return replace(report, results=[done.get(r.name, r) for r in report.results])

    def _with_causes(
        self,
        name: str,
        results: Mapping[str, CheckResult],
        own: Mapping[str, Found],
        done: dict[str, CheckResult],
        seen: set[str],
    ) -> CheckResult:
        """The check's result with its causes, its upstream checks' found first."""
        if name in done:
            return done[name]
        result = results[name]
        if not self.sought(result) or name in seen:
            return result
        seen.add(name)
        upstream = self.profile.causes.checks[name].upstream
        ready = {
            u: self._with_causes(u, results, own, done, seen) for u in upstream if u in results
        }
        mine = own.get(name, Found())
        gaps = mine.gaps + [
            f"{u}, a check upstream of it, could not run ({ready[u].detail})"
            for u in upstream
            if u in ready and ready[u].status is Status.ERROR
        ]
        try:
            above = upstream_causes(result, ready, self.profile, self.as_of)
        except Exception as exc:  # a cause finder's bug never fails the report
            log.exception("health causes: the upstream causes of %s failed", name)
            above, gaps = [], [*gaps, _broke("its upstream checks", exc)]
        causes = ranked(mine.candidates + above, self.profile.causes.shown)
        done[name] = replace(result, causes=causes, causes_incomplete=gaps)
        return done[name]
