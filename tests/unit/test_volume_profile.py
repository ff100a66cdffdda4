"""Odd volume settings in the profile: a baseline that needs more game days than it reads could
never be taken, so the check would silently stop judging volume against it (a phase-3 processor
without a `rows_per_game`, judged "by its baseline alone", would never be judged). Refused at
start, naming the key, as every other inconsistent pair of thresholds is."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError
from opsbot.profile import load_profile

MINIMAL = '[platform]\nproject = "nba-props-platform"\nregion = "us-west2"\n'


@pytest.mark.parametrize("check", ["grading_completeness", "phase3_completion", "bdb_coverage"])
def test_a_baseline_that_could_never_be_taken_is_refused(tmp_path: Path, check: str) -> None:
    """Reactive on-call shortens the baseline to 5 game days; the minimum stays 7 (the shipped
    default): every day would have "no baseline yet"."""
    path = tmp_path / "opsbot.toml"
    path.write_text(f"{MINIMAL}\n[checks.{check}]\nbaseline_game_days = 5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_profile(path)
    said = str(refused.value)
    assert f"checks.{check}" in said and "baseline_min_game_days" in said, said
