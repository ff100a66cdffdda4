"""The schedule's pure rules: unix-cron read as Cloud Scheduler reads it, post or stay quiet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cli.schedule import cloud_scheduler_commands
from commands.schedule.cron import latest_slot, next_slot, slots
from commands.schedule.decide import Before, Post, decide, missed_text
from commands.schedule.registry import JOB_IDS
from config import ConfigError
from opsbot.profile import load_profile
from store.schedule_views import SILENCE_S

PT = "America/Los_Angeles"
WEDNESDAY = datetime(2026, 12, 2, 19, 30, tzinfo=UTC)  # 11:30 PT
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("day_field", "weekday"),
    [("1", "Monday"), ("0", "Sunday"), ("7", "Sunday"), ("mon", "Monday"), ("5-7", "Friday")],
)
def test_days_of_the_week_count_from_sunday_as_in_unix_cron(day_field: str, weekday: str) -> None:
    found = next_slot(f"0 9 * * {day_field}", PT, WEDNESDAY)
    assert found is not None
    assert found.astimezone(ZoneInfo(PT)).strftime("%A %H:%M") == f"{weekday} 09:00"


def test_slots_follow_the_time_zone_and_the_newest_one_is_found() -> None:
    assert latest_slot("0 8-20/2 * * *", PT, WEDNESDAY) == datetime(2026, 12, 2, 18, tzinfo=UTC)
    day = list(slots("0 8-20/2 * * *", PT, WEDNESDAY, WEDNESDAY + timedelta(days=1)))
    assert [s.astimezone(ZoneInfo(PT)).hour for s in day] == [12, 14, 16, 18, 20, 8, 10]


NOON = datetime(2026, 12, 2, 20, tzinfo=UTC)
SEEN = Before({"a": 1}, NOON - timedelta(hours=4), NOON - timedelta(hours=4))


@pytest.mark.parametrize(
    ("fingerprint", "before", "now", "options", "expected"),
    [
        ({"a": 1}, Before(None, None, None), NOON, {}, Post.FULL),  # a first digest
        ({"a": 2}, SEEN, NOON, {}, Post.FULL),  # a change
        ({"a": 1}, SEEN, NOON, {}, Post.QUIET),  # unchanged, a line already out today
        ({"a": 1}, SEEN, NOON + timedelta(days=1), {}, Post.HEARTBEAT),  # a new day
        ({"a": 1}, SEEN, NOON, {"missed": True}, Post.HEARTBEAT),  # say what was missed
        ({"a": 1}, SEEN, NOON, {"full": True}, Post.FULL),  # a person asked
        (None, SEEN, NOON, {}, Post.FULL),  # the weekly report: always
    ],
)
def test_a_run_posts_in_full_on_a_change_else_at_most_a_line_a_day(
    fingerprint: dict[str, int] | None,
    before: Before,
    now: datetime,
    options: dict[str, bool],
    expected: Post,
) -> None:
    assert decide(fingerprint, before, now, PT, **options) is expected


def test_missed_runs_are_named_in_local_time() -> None:
    ten, twelve = datetime(2026, 12, 2, 18, tzinfo=UTC), datetime(2026, 12, 2, 20, tzinfo=UTC)
    assert (
        missed_text([ten, twelve], twelve, PT)
        == "catching up: the 10:00 and 12:00 runs were missed"
    )
    assert missed_text([ten], twelve, PT) == "catching up: the 10:00 run was missed"


def test_the_cloud_scheduler_export_names_every_job_with_its_oidc_token() -> None:
    profile = load_profile(ROOT / "opsbot.toml")
    with pytest.raises(ConfigError, match="endpoint_audience"):
        cloud_scheduler_commands(profile)
    schedule = profile.schedule.model_copy(
        update={
            "endpoint_audience": "https://opsbot-abc-uw.a.run.app",
            "endpoint_service_accounts": ["sched@nba-props-platform.iam.gserviceaccount.com"],
        }
    )
    lines = cloud_scheduler_commands(profile.model_copy(update={"schedule": schedule}))
    commands = [line for line in lines if line.startswith("gcloud")]
    assert len(commands) == len(JOB_IDS)
    drift = commands[0]
    assert "gcloud scheduler jobs create http opsbot-drift-digest" in drift
    assert "'--schedule=0 8-20/2 * * *'" in drift and "--time-zone=America/Los_Angeles" in drift
    assert "--uri=https://opsbot-abc-uw.a.run.app/cron/drift-digest" in drift
    assert "--oidc-service-account-email=sched@nba-props-platform.iam.gserviceaccount.com" in drift
    # a token for one job's URL only: it runs no other job (the endpoint checks the audience)
    assert "--oidc-token-audience=https://opsbot-abc-uw.a.run.app/cron/drift-digest" in drift
    # a slot another replica runs is a 503: the retry must come after a dead holder's silence
    backoff = next(word for word in drift.split() if word.startswith("--min-backoff="))
    assert float(backoff.removeprefix("--min-backoff=").removesuffix("s")) > SILENCE_S
