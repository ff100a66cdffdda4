"""One analysis of a rollout's current step: metrics, errors, data and output against stable."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from adapters.monitoring import RevisionMetrics
from checks.result import SEVERITY, Status
from commands.deploy.abort import restore_stable
from commands.deploy.tools import DeployTools
from commands.deploy.verdict import Analysis, DataCheck, Verdict, judge, judge_output
from commands.requests import select_services
from config import Profile
from infra.wording import plural
from store.states import RolloutState, Seen

if TYPE_CHECKING:
    from store.views import RolloutView


@dataclass(frozen=True)
class StepOutcome:
    rollout: RolloutView
    analysis: Analysis
    rolled_back: bool = False


def analyse(
    profile: Profile, tools: DeployTools, rollout_id: int, actor: str = "opsbot"
) -> StepOutcome | None:
    """One analysis of the current step; N failures in a row roll back to the stable revision."""
    rollout = tools.rollout(rollout_id)
    state = rollout.state
    if state not in (RolloutState.CANARY, RolloutState.WATCH) or rollout.canary_revision is None:
        return None
    end = tools.clock()
    start = max(rollout.updated_at, end - timedelta(seconds=profile.deploy.interval_s))
    canary = tools.monitoring.revision_metrics(rollout.service, rollout.canary_revision, start, end)
    stable_since = end - timedelta(seconds=profile.deploy.interval_s)
    stable = tools.monitoring.revision_metrics(
        rollout.service, rollout.stable_revision, stable_since, end
    )
    errors = tools.logs.errors(rollout.service, rollout.canary_revision, since=start, limit=5)
    output = _output(profile, tools, rollout, (canary, start), (stable, stable_since), end)
    judged = judge(canary, stable, profile.deploy, _data(tools, rollout), errors, output)
    analysis = replace(judged, step=rollout.step)  # shown with its step once the rollout moves
    if analysis.verdict is Verdict.INSUFFICIENT:
        # Recorded like any analysis, so the next is due an interval from now (never at once,
        # which would poll Monitoring in a loop while a quiet canary gathers requests).
        waited = tools.store.transition(
            Seen.of(rollout),
            to=state,
            actor=actor,
            action="deploy.analysis.insufficient",
            details=figures(analysis),
        )
        return StepOutcome(waited or rollout, analysis)
    failures = rollout.failures + 1 if analysis.verdict is Verdict.FAIL else 0
    if failures >= profile.deploy.failures_to_roll_back:
        reason = f"{plural(failures, 'failing analysis')} in a row: " + "; ".join(analysis.reasons)
        ended = restore_stable(
            tools.cloud_run,
            tools.store,
            rollout,
            RolloutState.ROLLED_BACK,
            actor,
            "deploy.auto_rollback",
            reason,
            figures(analysis),
        )
        return StepOutcome(ended or rollout, analysis, rolled_back=ended is not None)
    moved = tools.store.transition(
        Seen.of(rollout),
        to=state,
        actor=actor,
        action="deploy.analysis",
        failures=failures,
        passed_step=rollout.step if analysis.verdict is Verdict.PASS else None,
        details=figures(analysis),
    )
    return StepOutcome(moved or rollout, analysis)


def figures(analysis: Analysis) -> dict[str, Any]:
    """An analysis's numbers as the audit log keeps them (a postmortem's timeline reads them)."""
    canary, stable = analysis.canary, analysis.stable
    return {
        "verdict": analysis.verdict.value,
        "requests": canary.requests,
        "server_errors": canary.server_errors,
        "p95_ms": canary.p95_ms,
        "stable_requests": stable.requests,
        "stable_server_errors": stable.server_errors,
        "stable_p95_ms": stable.p95_ms,
        "reasons": list(analysis.reasons),
    }


def _output(
    profile: Profile,
    tools: DeployTools,
    rollout: RolloutView,
    canary: tuple[RevisionMetrics, datetime],
    stable: tuple[RevisionMetrics, datetime],
    end: datetime,
) -> DataCheck | None:
    """What the canary wrote per request against the stable revision, each over its window."""
    config = select_services(profile, [rollout.service])[0]
    if config.canary_output is None or tools.revision_output is None:
        return None
    assert rollout.canary_revision is not None
    (canary_metrics, canary_since), (stable_metrics, stable_since) = canary, stable
    canary_written = tools.revision_output([rollout.canary_revision], canary_since, end)
    stable_written = tools.revision_output([rollout.stable_revision], stable_since, end)
    return judge_output(
        canary_written[rollout.canary_revision],
        canary_metrics.requests,
        stable_written[rollout.stable_revision],
        stable_metrics.requests,
        profile.deploy.min_output_share,
    )


def _data(tools: DeployTools, rollout: RolloutView) -> DataCheck | None:
    """The service's data check against its status when the rollout began: worse fails."""
    if rollout.data_baseline is None:
        return None
    now = tools.data_check(rollout.service)
    if now is None:
        return None
    before = Status(rollout.data_baseline)
    worse = SEVERITY[now.status] > SEVERITY[before]
    return DataCheck(
        not worse, f"{now.name} was {before.value}, now {now.status.value}: {now.detail}"
    )
