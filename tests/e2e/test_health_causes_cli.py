"""`opsbot health` names each failing check's likely cause: in `--json` per check, and in the
terminal under the check with the command that acts on it, whole at 80 columns."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT
from tests.e2e.test_health_cli import opsbot

PHASE3 = "nba-phase3-analytics-processors"


def test_json_carries_each_failing_checks_causes_and_a_passing_check_none() -> None:
    done = opsbot("health", "--sandbox", "--json", "--date", "2026-01-14")
    assert done.returncode == 2, done.stderr
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    top = checks["phase3_completion"]["causes"][0]
    assert set(top) == {"kind", "service", "revision", "commit", "since", "evidence", "action"}
    assert (top["kind"], top["service"]) == ("deploy", PHASE3)
    assert top["revision"].startswith(f"{PHASE3}-00065-")
    assert len(top["commit"]) == 40 and top["since"] == "2026-01-13T15:00:00+00:00"
    assert "rolled back 2026-01-14 18:30 UTC" in top["evidence"]
    assert top["action"] == "/postmortem 2026-01-14"  # it no longer serves: nothing to roll back
    assert checks["vegas_line_coverage"]["causes"] == []  # OK that day: no cause claimed


def test_the_terminal_prints_the_top_cause_under_the_check_and_its_fix_below() -> None:
    done = opsbot("health", "--sandbox", "--date", "2026-01-28", env={"COLUMNS": "80"})
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, done.stdout
    start = lines.index("vegas_line_coverage  CRITICAL  13.9%")
    block = " ".join(line.strip() for line in lines[start + 1 : start + 12])
    assert "likely cause (drift): the fix 3f18b34b" in block
    assert "is on main since 2026-02-02 20:14 UTC but not deployed" in block
    fix = lines.index("[2] vegas_line_coverage, its likely cause:")
    assert lines[fix + 1] == "opsbot deploy nba-phase4-precompute-processors"  # whole, to copy


def test_a_failing_check_without_evidence_says_no_likely_cause_was_found(tmp_path: Path) -> None:
    """A profile that names no writers: nothing can be evidence, and the report says so rather
    than guessing (the shipped profile finds the planted deploy of 2025-12-10)."""
    bare = tmp_path / "opsbot.toml"
    bare.write_text((ROOT / "opsbot.toml").read_text() + "\n[causes]\nchecks = {}\n")
    done = opsbot("health", "--sandbox", "--date", "2025-12-11", "--config", str(bare))
    assert done.returncode == 2, done.stderr
    assert "no likely cause found" in done.stdout
    shipped = opsbot("health", "--sandbox", "--date", "2025-12-11", "--json")
    checks = {c["name"]: c for c in json.loads(shipped.stdout)["checks"]}
    assert checks["phase3_completion"]["causes"][0]["kind"] == "deploy"
