"""A likely cause's button says what it will do: "Regrade N dates" counts the dates the cause
found not graded, not every day between the first and the last of them; the backfill modal it
opens still spans them (it leaves out the dates already fully graded)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from bot.views.health_causes import fix_button
from checks.result import CheckResult, Status, Window
from commands.health_causes.jobs import job_causes
from commands.health_causes.records import Records
from opsbot.profile import load_profile

PROFILE = load_profile(Path(__file__).resolve().parents[2] / "opsbot.toml")


def test_regrade_counts_the_dates_behind_not_the_days_between_them() -> None:
    """Grading did not run on two nights a week apart (01-29 and 02-03); the days between were
    graded in full. The evidence says "2 dates behind"; the button said "Regrade 6 dates"."""
    grading = CheckResult(
        name="grading_completeness",
        status=Status.CRITICAL,
        detail="",
        window=Window(date(2026, 1, 29), date(2026, 2, 4)),
        breakdown=[
            {
                "model": "ensemble_v1",
                "status": "CRITICAL",
                "worst_date_pct": 0.0,
                "dates_behind": ["2026-01-29", "2026-02-03"],
            }
        ],
    )
    [job] = job_causes(grading, PROFILE, Records())
    assert "2 dates behind" in job.cause.evidence
    button = fix_button(job.cause)
    assert button is not None and button.text is not None and button.value is not None
    assert button.text.text == "Regrade 2 dates"
    opens = json.loads(button.value)
    assert (opens["start"], opens["end"]) == ("2026-01-29", "2026-02-03")
