"""The health report in a terminal of any width: names and statuses never break mid-word."""

from __future__ import annotations

import io
from datetime import date

import pytest
from rich.console import Console

from checks.result import CheckResult, HealthReport, Status, Window
from cli.health_output import print_report

NAMES = ("vegas_line_coverage", "grading_completeness", "phase3_completion")


def _report() -> HealthReport:
    results = [
        CheckResult(
            name=name,
            status=Status.CRITICAL,
            value=14.2,
            unit="%",
            threshold="OK ≥ 35%, WARN ≥ 20%; vs baseline: −25% WARN, −50% CRITICAL",
            window=Window(date(2026, 1, 1), date(2026, 1, 28)),
            detail="14.2% of rows on 2026-01-28 have a Vegas line; baseline 41.0% " * 2,
        )
        for name in NAMES
    ]
    return HealthReport(as_of=date(2026, 1, 28), results=results, duration_s=1.0)


@pytest.mark.parametrize("width", [60, 80, 100, 160, 220])
def test_no_check_name_or_status_is_broken_at_any_width(width: int) -> None:
    out = io.StringIO()
    print_report(_report(), as_json=False, console=Console(file=out, width=width))
    text = out.getvalue()
    for name in NAMES:
        assert name in text, f"{name} broken at {width} columns"
    assert text.count("CRITICAL") >= len(NAMES)
    assert all(len(line) <= width for line in text.splitlines())
