"""Odd and hostile `[causes]` tables in the profile: each is refused at start naming its key
(docs/design.md, principle 2), or does what a person who wrote it would expect; never a report
that silently finds nothing, nor one that names a check as its own cause."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from checks.result import CauseKind, CheckResult, HealthReport, Status, Window
from commands.health_causes.finder import CauseFinder
from config import ConfigError
from opsbot.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = (ROOT / "opsbot.toml").read_text(encoding="utf-8")
NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)


def _with(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "opsbot.toml"
    path.write_text(SHIPPED + "\n" + extra, encoding="utf-8")
    return path


def test_a_writer_the_profile_does_not_have_is_refused_naming_the_key(tmp_path: Path) -> None:
    """A typo in a writer's name (analytic for analytics) made every phase-3 alarm say "no
    likely cause found", since a service the profile lacks is skipped without a word."""
    path = _with(
        tmp_path,
        '[causes.checks.phase3_completion]\nwriters = ["nba-phase3-analytic-processors"]\n',
    )
    with pytest.raises(ConfigError) as refused:
        load_profile(path)
    said = str(refused.value)
    assert "causes.checks.phase3_completion.writers" in said
    assert "nba-phase3-analytic-processors" in said


@pytest.mark.parametrize(
    ("extra", "check"),
    [
        (  # itself: phase 3 "failed first" before phase 3
            '[causes.checks.phase3_completion]\nwriters = ["nba-phase3-analytics-processors"]\n'
            'upstream = ["phase3_completion"]\n',
            "phase3_completion",
        ),
        (  # through another: each failed "first" before the other
            '[causes.checks.phase3_completion]\nupstream = ["bdb_coverage"]\n'
            '[causes.checks.bdb_coverage]\nupstream = ["phase3_completion"]\n',
            "bdb_coverage",  # the first of the cycle in the map's order (the platform's)
        ),
    ],
    ids=["itself", "a-cycle"],
)
def test_a_check_upstream_of_itself_is_refused(tmp_path: Path, extra: str, check: str) -> None:
    """Was accepted, and a failing phase 3 then named "phase3_completion failed first" as a
    likely cause of phase3_completion."""
    with pytest.raises(ConfigError) as refused:
        load_profile(_with(tmp_path, extra))
    assert f"causes.checks.{check}.upstream" in str(refused.value)


def _grading_ungraded() -> CheckResult:
    """2026-02-05's grading check: the ensembles not graded at all on their dates."""
    return CheckResult(
        name="grading_completeness",
        status=Status.CRITICAL,
        detail="ensemble_v1 0% graded",
        window=Window(date(2026, 1, 29), date(2026, 2, 4)),
        breakdown=[
            {
                "model": "ensemble_v1",
                "status": "CRITICAL",
                "worst_date_pct": 0.0,
                "dates_behind": ["2026-01-29", "2026-01-30"],
            }
        ],
    )


def test_mapping_one_checks_writers_keeps_the_other_checks_causes(tmp_path: Path) -> None:
    """A person names phase 3's writers in their profile; the grading check's dates that were
    never graded (a job cause, which needs no writer at all) must still be found."""
    profile = load_profile(
        _with(
            tmp_path,
            '[causes.checks.phase3_completion]\nwriters = ["nba-phase3-analytics-processors"]\n'
            'upstream = ["bdb_coverage"]\n',
        )
    )
    grading = _grading_ungraded()

    async def found() -> HealthReport:
        finder = CauseFinder(profile, date(2026, 2, 5), NOW, drift_sources=None)
        return await finder.finish(HealthReport(date(2026, 2, 5), [grading], 0.1))

    [result] = asyncio.run(found()).results
    assert [c.kind for c in result.causes] == [CauseKind.JOB]
