"""Score, overall status and exit codes exactly as docs/platform.md says."""

from __future__ import annotations

from datetime import date

import pytest

from checks.result import CheckResult, HealthReport, Overall, Status

S = Status


def report(*statuses: Status) -> HealthReport:
    results = [CheckResult(name=f"c{i}", status=s, detail="") for i, s in enumerate(statuses)]
    return HealthReport(as_of=date(2026, 2, 5), results=results, duration_s=0.1)


@pytest.mark.parametrize(
    ("statuses", "score", "overall", "exit_code"),
    [
        ((S.OK, S.OK, S.OK, S.OK, S.OK), 100.0, Overall.OK, 0),
        ((S.OK, S.OK, S.OK, S.OK, S.WARN), 80.0, Overall.DEGRADED, 1),
        ((S.OK, S.OK, S.OK, S.OK, S.CRITICAL), 80.0, Overall.CRITICAL, 2),
        # NOT_APPLICABLE is left out of the score: 3 of 3 applicable passed.
        ((S.OK, S.OK, S.OK, S.NOT_APPLICABLE, S.NOT_APPLICABLE), 100.0, Overall.OK, 0),
        # An ERROR counts as not passed: 4/5 = 80 is not below 80, so still OK by the rules...
        ((S.OK, S.OK, S.OK, S.OK, S.ERROR), 80.0, Overall.OK, 0),
        # ...but two errors bring the score to 60: DEGRADED.
        ((S.OK, S.OK, S.OK, S.ERROR, S.ERROR), 60.0, Overall.DEGRADED, 1),
        # Score under 50 is CRITICAL even with no check critical.
        ((S.OK, S.ERROR, S.ERROR, S.WARN, S.NOT_APPLICABLE), 25.0, Overall.CRITICAL, 2),
        # Nothing applies (a day without games): nothing failed.
        ((S.NOT_APPLICABLE, S.NOT_APPLICABLE), 100.0, Overall.OK, 0),
    ],
)
def test_mixed_results_score_and_exit_code(
    statuses: tuple[Status, ...], score: float, overall: Overall, exit_code: int
) -> None:
    r = report(*statuses)
    assert r.score == score
    assert r.status is overall
    assert r.status.exit_code == exit_code


def test_json_shape_has_every_documented_key() -> None:
    data = report(S.OK, S.WARN).to_json()
    assert set(data) == {"as_of", "status", "score", "duration_s", "checks"}
    assert {
        "name",
        "status",
        "value",
        "threshold",
        "baseline",
        "window",
        "detail",
        "action",
    } <= set(data["checks"][0])
