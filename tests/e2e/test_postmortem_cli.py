"""`opsbot postmortem` from a terminal: a data incident searched day by day, a rollback's draft,
Markdown under the team's headings, and exit 3 when there is nothing to write about."""

from __future__ import annotations

import json
import re
from pathlib import Path

from commands.postmortem.model import HEADINGS
from tests.e2e.test_health_cli import opsbot


def test_a_game_day_finds_the_vegas_incident_its_days_and_the_undeployed_fix() -> None:
    done = opsbot("postmortem", "--date", "2026-01-28", "--sandbox", "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    days = {d["day"]: d["statuses"]["vegas_line_coverage"] for d in found["days"]}
    assert days == {
        "2026-01-25": "OK",
        **{f"2026-01-{d}": "CRITICAL" for d in range(26, 32)},
        "2026-02-01": "CRITICAL",
        "2026-02-02": "WARN",  # the partial recovery
        "2026-02-03": "OK",
    }
    assert found["title"] == "vegas_line_coverage CRITICAL from 2026-01-26 to 2026-02-01"
    assert found["severity"] == "SEV1" and found["status"] == "draft"
    assert found["started"] == "2026-01-26T00:00:00-05:00"  # the game day's start, in ET
    assert found["recovered"] == "2026-02-03T00:00:00-05:00"
    causes = " ".join(found["causes"])
    assert "3f18b34b" in causes and "on main from 2026-02-02 but is not deployed" in causes
    assert (
        "nba-phase4-precompute-processors ran commit 67d1551e (revision "
        "nba-phase4-precompute-processors-00076-355) during the incident, serving from "
        "2026-01-26 19:00 UTC — the incident's first day." in causes
    )
    times = [e["at"] for e in found["timeline"]]
    assert times == sorted(times)
    assert all(
        e["at"].endswith("+00:00") and e["at_local"][-6:] == "-08:00" for e in found["timeline"]
    )


def test_markdown_has_the_team_headings_in_order() -> None:
    done = opsbot("postmortem", "--date", "2026-01-22", "--sandbox", "--markdown")
    assert done.returncode == 0, done.stderr
    assert re.findall(r"^## (.+)$", done.stdout, flags=re.MULTILINE) == list(HEADINGS)
    assert done.stdout.startswith("# Postmortem: bdb_coverage CRITICAL on 2026-01-22; grading_")
    assert "[draft: opsbot prefilled this" in done.stdout
    plain = opsbot("postmortem", "--date", "2026-01-22", "--sandbox")  # rendered for a terminal
    assert plain.returncode == 0, plain.stderr
    assert "Postmortem: bdb_coverage CRITICAL on 2026-01-22" in plain.stdout
    assert "## " not in plain.stdout and "Root Cause" in plain.stdout


def test_nothing_to_write_about_exits_3_and_bad_requests_say_what_to_do(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/opsbot.db"}
    healthy = opsbot("postmortem", "--date", "2026-01-05", "--sandbox")
    unknown = opsbot("postmortem", "--rollout", "7", "--sandbox", env=env)
    none_yet = opsbot("postmortem", "--last", "--sandbox", env=env)
    assert (healthy.returncode, unknown.returncode, none_yet.returncode) == (3, 3, 3)
    assert "every check was fine on 2026-01-05" in healthy.stdout
    assert "rollout #7 is unknown or never started" in unknown.stdout
    assert "no incident found" in none_yet.stderr
    neither = opsbot("postmortem", "--sandbox")
    both = opsbot("postmortem", "--date", "2026-01-28", "--last", "--sandbox")
    bad_date = opsbot("postmortem", "--date", "2026-02-30", "--sandbox")
    for answer in (neither, both):
        assert answer.returncode == 3 and "name one incident: --rollout N" in answer.stderr
    assert bad_date.returncode == 3 and "expected YYYY-MM-DD" in bad_date.stderr


def test_last_after_a_hand_rollback_from_an_old_normal_revision_finds_no_incident(
    tmp_path: Path,
) -> None:
    """Issue 31, item 5: rolled back to the old revision and then away from it (0.2% 5xx, as
    every normal revision): no "SEV2 … bad revision" 21 days long, but "no incident found"."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/opsbot.db"}
    service = "nba-phase2-raw-processors"
    for target in (f"{service}-00061-20c", f"{service}-00062-9cc"):
        rolled = opsbot(
            "rollback", service, "--to", target, "--sandbox", "--yes", "--as", "U0SAMDEPLY", env=env
        )
        assert rolled.returncode == 0, rolled.stderr
    done = opsbot("postmortem", "--last", "--sandbox", "--markdown", env=env)
    assert done.returncode == 3, done.stdout
    assert "no incident found: no rollout rolled back or failed" in done.stderr
    assert "SEV2" not in done.stdout and "first bad signal" not in done.stdout
