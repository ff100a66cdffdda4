"""Judging a canary against its stable revision: pass, fail (which numbers), or too little data."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from adapters.cloud_logging import LogLine
from adapters.monitoring import RevisionMetrics
from config import DeployConfig


class Verdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INSUFFICIENT = "insufficient data"  # never a pass: the step is held, not promoted


@dataclass(frozen=True)
class DataCheck:
    """The service's own post-deploy data check, as seen for the canary (None: none applies)."""

    ok: bool
    detail: str


@dataclass(frozen=True)
class Analysis:
    verdict: Verdict
    reasons: list[str]
    canary: RevisionMetrics
    stable: RevisionMetrics
    data: DataCheck | None = None
    errors: list[LogLine] = field(default_factory=list)  # a sample of the canary's ERROR lines
    output: DataCheck | None = None  # what the canary wrote against the stable revision
    step: int | None = None  # the rollout's step (index into the canary steps) it judged


def step_percent(policy: DeployConfig, step: int) -> int:
    """The share of traffic a step (an index into the canary steps) sends to the canary."""
    return policy.steps[min(step, len(policy.steps) - 1)]


def analysis_due(policy: DeployConfig, last_change: datetime) -> datetime:
    """When a rollout's next analysis is due: one interval after its last recorded change."""
    return last_change + timedelta(seconds=policy.interval_s)


def analysis_step(policy: DeployConfig, analysis: Analysis) -> str:
    """The step an analysis judged, as people say it ("10%"), or "an unknown step"."""
    if analysis.step is None:
        return "an unknown step"
    return f"{step_percent(policy, analysis.step)}%"


def pct(ratio: float | None) -> str:
    return "—" if ratio is None else f"{100 * ratio:.1f}%"


def judge(
    canary: RevisionMetrics,
    stable: RevisionMetrics,
    policy: DeployConfig,
    data: DataCheck | None = None,
    errors: list[LogLine] | None = None,
    output: DataCheck | None = None,
) -> Analysis:
    """Every failing rule is named, with its numbers; too few requests is never a pass."""
    reasons: list[str] = []
    if canary.requests < policy.min_requests:
        reasons.append(
            f"only {canary.requests} canary requests; at least {policy.min_requests} are needed to judge"
        )
        return Analysis(Verdict.INSUFFICIENT, reasons, canary, stable, data, errors or [], output)
    ratio = canary.error_ratio or 0.0
    if ratio * 100 > policy.max_5xx_percent:
        reasons.append(
            f"5xx {pct(ratio)} of {canary.requests} requests is over {policy.max_5xx_percent:g}%"
        )
    stable_ratio = stable.error_ratio
    worse_than_stable = stable_ratio is not None and (
        ratio > stable_ratio * policy.max_5xx_vs_stable
        and (ratio - stable_ratio) * 100 > policy.min_5xx_excess_points
    )
    if worse_than_stable:
        reasons.append(
            f"5xx {pct(ratio)} is over {policy.max_5xx_vs_stable:g}× the stable revision's {pct(stable_ratio)}"
        )
    slower = (
        canary.p95_ms is not None
        and stable.p95_ms is not None
        and (canary.p95_ms > stable.p95_ms * policy.latency_factor)
    )
    if slower:
        reasons.append(
            f"p95 {canary.p95_ms:.0f} ms is over {policy.latency_factor:g}× the stable revision's {stable.p95_ms:.0f} ms"
        )
    if data is not None and not data.ok:
        reasons.append(f"data check: {data.detail}")
    if output is not None and not output.ok:
        reasons.append(f"output: {output.detail}")
    verdict = Verdict.FAIL if reasons else Verdict.PASS
    return Analysis(verdict, reasons, canary, stable, data, errors or [], output)


def judge_output(
    canary_written: int,
    canary_requests: int,
    stable_written: int,
    stable_requests: int,
    min_share: float,
) -> DataCheck | None:
    """The canary's writes per request against the stable revision's, over the same window.

    None when the stable revision wrote nothing to compare with (no slate being predicted).
    """
    if stable_written == 0 or stable_requests == 0:
        return None
    stable_rate = stable_written / stable_requests
    canary_rate = canary_written / canary_requests if canary_requests else 0.0
    ok = canary_rate >= stable_rate * min_share
    detail = (
        f"the canary wrote {canary_written} predictions for {canary_requests} requests "
        f"({canary_rate:.2f} a request), the stable revision {stable_written} for "
        f"{stable_requests} ({stable_rate:.2f})"
    )
    if not ok:
        detail += f", under {min_share:.0%} of its rate"
    return DataCheck(ok, detail)
