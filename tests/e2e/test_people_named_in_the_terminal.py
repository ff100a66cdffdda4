"""The terminal and Markdown name people from the profile's `[slack.people]`: `@lee`, never
Slack's `<@U0LEEAPPRV>` (issue 31: 6), and say an incident in words, never `rollout:4` (7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from commands.postmortem.model import Draft, TimelineEvent
from config import ConfigError
from opsbot.profile import load_profile
from store.database import Database
from store.location import sqlite_url
from store.postmortems import Postmortems
from store.rollouts import Store
from store.states import RolloutState, Seen
from tests.e2e.test_health_cli import opsbot

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 2, 5, 18, 14, 5, tzinfo=UTC)
APPROVER = "U0LEEAPPRV"  # "lee" in the shipped profile, as in the sandbox's workspace


def _draft() -> Draft:
    """Rollout #4's draft as opsbot stores it: people as Slack mentions."""
    return Draft(
        kind="rollout",
        subject="rollout:4",
        title="Rollout #4 of nba-scrapers (48fa9219) rolled back",
        started=T0,
        recovered=T0 + timedelta(minutes=4),
        severity="SEV4",
        severity_because="no severity rule matched: the profile's default",
        impact=["the canary took up to 10% of traffic"],
        timeline=[TimelineEvent(T0, "opsbot", f"rolled back by <@{APPROVER}>", APPROVER)],
        sections={
            "summary": f"Rollout #4 of nba-scrapers; <@{APPROVER}> rolled it back by hand.",
            "root_cause": "",
            "resolution": "",
            "prevention": "",
        },
        services=["nba-scrapers"],
    )


def _stored(tmp_path: Path) -> dict[str, str]:
    """A store holding rollout #4's postmortem; the environment that points opsbot at it."""
    url = sqlite_url(tmp_path / "opsbot.db")
    database = Database.open(url)
    try:
        draft = _draft()
        Postmortems(database, lambda: T0).open_or_create(
            subject=draft.subject,
            kind=draft.kind,
            title=draft.title,
            severity=draft.severity,
            document=draft.to_json(),
            incident_start=draft.started,
            incident_end=draft.recovered,
            created_by=APPROVER,
        )
    finally:
        database.close()
    return {"DATABASE_URL": url}


def test_a_postmortem_in_the_terminal_and_in_markdown_names_people_and_its_incident(
    tmp_path: Path,
) -> None:
    """Both showed `@U0LEEAPPRV` (no names anywhere) and announced `postmortem: rollout:4`."""
    env = _stored(tmp_path)
    for form in ((), ("--markdown",)):
        done = opsbot("postmortem", "--rollout", "4", "--sandbox", *form, env=env)
        assert done.returncode == 0, done.stderr
        assert "@lee rolled it back by hand" in done.stdout
        assert "by @lee" in done.stdout  # the timeline's actor
        assert APPROVER not in done.stdout and "<@" not in done.stdout
        assert "postmortem of rollout #4" in done.stderr and "rollout:4" not in done.stderr


def test_a_rollouts_reason_names_who_rolled_it_back(tmp_path: Path) -> None:
    """The reason column printed `rolled back by <@U0LEEAPPRV>`, Slack's markup."""
    url = sqlite_url(tmp_path / "opsbot.db")
    database = Database.open(url)
    try:
        store = Store(database, lambda: T0)
        begun = store.begin(
            service="nba-scrapers",
            commit_sha="48fa9219" + "0" * 32,
            stable_revision="nba-scrapers-00055-368",
            requested_by="U0SAMDEPLY",
        )
        seen = Seen.of(begun)
        for state in (RolloutState.CANARY, RolloutState.ROLLING_BACK, RolloutState.ROLLED_BACK):
            moved = store.transition(
                seen, to=state, actor=APPROVER, action="a", reason=f"rolled back by <@{APPROVER}>"
            )
            assert moved is not None
            seen = Seen.of(moved)
    finally:
        database.close()
    done = opsbot("rollouts", env={"DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    assert "#1 rolled back: rolled back by @lee" in done.stdout
    assert "<@" not in done.stdout


def test_the_profile_names_the_sandboxs_people_and_refuses_a_name_that_is_markup(
    tmp_path: Path,
) -> None:
    shipped = load_profile(ROOT / "opsbot.toml")
    assert shipped.slack.people == {"U0DANAONCL": "dana", "U0SAMDEPLY": "sam", "U0LEEAPPRV": "lee"}
    profile = tmp_path / "opsbot.toml"
    text = (ROOT / "opsbot.toml").read_text()
    profile.write_text(text.replace('U0LEEAPPRV = "lee"', 'U0LEEAPPRV = "<!channel>"'))
    with pytest.raises(ConfigError, match=r"slack\.people\.U0LEEAPPRV"):
        load_profile(profile)
