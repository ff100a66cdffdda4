"""The terminal at 80 columns, through the real CLI (a subprocess, COLUMNS=80): no name, id, time
or command a person would copy is cut, and what is said is said in words (issue 31: 12, 15, 16)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from store.database import Database
from store.location import sqlite_url
from store.rollouts import Store
from store.states import RolloutState, Seen
from tests.e2e.test_health_cli import opsbot

NARROW = {"COLUMNS": "80"}
FULL_SHA = re.compile(r"\b[0-9a-f]{40}\b")
REASON = (
    "2 failing analyses in a row: 5xx 12.0% of 600 requests is over 5%; 5xx 12.0% is over 2× "
    "the stable revision's 0.2%; p95 900 ms is over 1.5× the stable revision's 160 ms; "
    "rolled back by <@U0SAMDEPLY> after the canary's ERROR lines showed KeyError: 'bookmaker_id' "
    "in scrapers/odds_api/normalise.py:88"
)


def _lines(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    assert lines and max(len(line) for line in lines) <= 80, stdout
    return lines


def test_drift_keeps_every_service_and_revision_whole_and_the_fix_on_a_line_of_its_own() -> None:
    report = json.loads(opsbot("drift", "--sandbox", "--json").stdout)
    names = [s["service"] for s in report["services"]] + [
        r["revision"] for s in report["services"] for r in s["revisions"]
    ]
    done = opsbot("drift", "--sandbox", env=NARROW)
    lines = _lines(done.stdout)
    for name in names:  # "nba-scrape/rs" was cut across two lines of a table cell
        assert any(name in line for line in lines), name
    assert "    opsbot deploy nba-phase4-precompute-processors" in lines  # copy-ready, whole


def test_the_rollback_list_keeps_revisions_whole_and_shows_the_services_own_last_change() -> None:
    """Issue 31 (12): nba-scrapers-00054-c92 runs a commit of the grading service's
    ("perf(grading): timezone-safe game dates"); the row shows nba-scrapers' own newest change."""
    done = opsbot("rollback", "nba-scrapers", "--sandbox", env=NARROW)
    assert done.returncode == 0, done.stderr
    lines = _lines(done.stdout)
    older = next(line for line in lines if line.startswith("nba-scrapers-00054-c92"))
    assert "perf(grading)" not in done.stdout
    assert re.search(r"\b37bf5153\b .* [0-9a-f]{8} \w+\((scrapers|shared)\): ", older), older
    assert "opsbot rollback nba-scrapers --to REVISION --as YOUR_SLACK_ID" in lines


def test_the_health_fix_command_is_copy_ready_on_lines_of_its_own() -> None:
    """The Vegas-line action (214 characters) ran off the screen on one line."""
    report = json.loads(opsbot("health", "--sandbox", "--date", "2026-01-28", "--json").stdout)
    action = next(c["action"] for c in report["checks"] if c["name"] == "vegas_line_coverage")
    done = opsbot("health", "--sandbox", "--date", "2026-01-28", env=NARROW)
    lines = _lines(done.stdout)
    start = lines.index("[1] vegas_line_coverage:") + 1
    command, comment = action.split("   # ")
    assert lines[start] == f"# {comment}"
    shell = []
    for line in lines[start + 1 :]:
        shell.append(line.removesuffix(" \\").strip())
        if not line.endswith(" \\"):
            break
    assert " ".join(shell) == command  # what a shell runs, with its quotes, once joined


def test_doctor_lines_wrap_at_spaces_under_their_text() -> None:
    done = opsbot("doctor", "--sandbox", env=NARROW)
    lines = _lines(done.stdout)  # one ran to 184 characters
    start = next(i for i, line in enumerate(lines) if "runtime service account" in line)
    said = " ".join(line.strip() for line in lines[start : start + 3])
    assert "grant roles/iam.serviceAccountUser on that account" in said
    assert lines[start + 1].startswith(" " * 12)  # under the text, not under the label


def test_rollouts_keep_ids_and_times_whole_say_states_in_words_and_give_reasons_room(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path / "opsbot.db")
    database = Database.open(url)
    try:
        store = Store(database, lambda: datetime(2026, 2, 5, 18, 28, tzinfo=UTC))
        begun = store.begin(
            service="nba-scrapers",
            commit_sha="48fa9219" + "0" * 32,
            stable_revision="nba-scrapers-00055-368",
            requested_by="U0SAMDEPLY",
        )
        moved = store.transition(Seen.of(begun), to=RolloutState.CANARY, actor="x", action="a")
        assert moved is not None
        rolling = store.transition(
            Seen.of(moved), to=RolloutState.ROLLING_BACK, actor="x", action="a"
        )
        assert rolling is not None
        ended = store.transition(
            Seen.of(rolling), to=RolloutState.ROLLED_BACK, actor="x", action="a", reason=REASON
        )
        assert ended is not None
    finally:
        database.close()
    done = opsbot("rollouts", env={**NARROW, "DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    lines = _lines(done.stdout)
    for whole in ("nba-scrapers", "U0SAMDEPLY", "2026-02-05 18:28", "48fa9219"):
        assert any(whole in line for line in lines), whole  # "U0SAMDEP/LY", "2026-02-0/5T18:28"
    assert "rolled back" in done.stdout and "rolled_back" not in done.stdout
    assert not FULL_SHA.search(done.stdout)
    reason = [
        i for i, line in enumerate(lines) if "failing analyses" in line or "bookmaker" in line
    ]
    assert reason[-1] - reason[0] + 1 <= len(REASON) // 70 + 1  # not 24 lines of a narrow column


def test_counts_take_their_nouns_number_and_commits_are_shown_short() -> None:
    contains = opsbot("drift", "--sandbox", "--contains", "7e04998b", env=NARROW)
    words = " ".join(contains.stdout.split())
    assert "live on 1 service, missing on 0 services, not in 6 services whose sources" in words
    assert "live (1 serving revision):" in words and "1 serving revisions" not in words
    checklist = opsbot("deploy", "prediction-coordinator", "--sandbox", env=NARROW)
    assert "(runs 80414dbe)" in checklist.stdout  # its label is a full SHA: shown short
    assert not FULL_SHA.search(checklist.stdout + contains.stdout)
