"""Cloud Run refuses reads while /health looks for likely causes: the report says what it could
not read, and never that nothing explains the failure.

On 2026-01-28 the planted cause of the Vegas-line drop is the fix 3f18b34b waiting undeployed on
main (docs/sandbox.md). Finding it needs nba-phase4-precompute-processors' serving revision
(services.get). When Cloud Run refuses that read (403), the terminal, `--json` and Slack's
Details say that Cloud Run could not be read ("likely causes not fully looked for: ..."), not
"no likely cause found ... no fix naming it waits on main", which was false: the fix does wait
on main, unread.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from adapters.bigquery import BigQueryWarehouse
from bot.views.health import check_details
from checks.result import CheckResult
from cli.health_output import print_report
from commands.health import run_health
from opsbot.platform import sandbox_drift_sources
from opsbot.profile import load_profile
from sandbox.platform import Sandbox

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 1, 28)


@pytest.fixture(scope="module")
def refusing(seed_cache: Path) -> Iterator[Sandbox]:
    """A sandbox of its own whose Cloud Run refuses every services.get (permission denied)."""
    with Sandbox() as running:
        assert running.cloud_run is not None
        running.cloud_run.refuse_reads = 10_000
        yield running


def test_a_cause_not_read_is_not_said_not_to_exist(refusing: Sandbox) -> None:
    profile = load_profile(ROOT / "opsbot.toml")
    warehouse = BigQueryWarehouse.from_profile(profile, endpoint=refusing.bigquery_url)
    report = asyncio.run(
        run_health(
            profile,
            warehouse,
            now=refusing.now,
            as_of=DAY,
            drift_sources=lambda: sandbox_drift_sources(profile, refusing),
        )
    )
    vegas = next(r for r in report.results if r.name == "vegas_line_coverage")
    assert vegas.status.value == "CRITICAL"  # the planted incident, judged as ever

    out = io.StringIO()
    print_report(report, as_json=False, console=Console(file=out, width=80))
    terminal = out.getvalue()
    details = details_text(vegas, DAY)
    for said in (terminal, details):
        assert "no likely cause found" not in said.lower(), said
        assert "likely causes not fully looked for" in said.lower(), said
        assert "Cloud Run" in said, said  # what could not be read, so on-call knows to look
    unread = vegas.to_json()["causes_incomplete"]  # `opsbot health --json` too
    assert unread and all("Cloud Run" in gap for gap in unread), unread
    # what to do about it, not a URL: Cloud Run's REST 403 is google.api_core's Forbidden
    assert all("permission denied (reads need roles/run.viewer" in gap for gap in unread), unread


def _texts(value: Any) -> Iterator[str]:
    """Every text a person reads in Block Kit (a block's dict, recursively)."""
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            yield value["text"]
        for inner in value.values():
            yield from _texts(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _texts(inner)


def details_text(result: CheckResult, as_of: date) -> str:
    """What Slack's Details shows of `result`."""
    return "\n".join(_texts([block.to_dict() for block in check_details(result, as_of)[1]]))
