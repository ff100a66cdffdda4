"""The scheduled jobs' registry: one module and one line per job, read by every face."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

import commands.schedule.jobs
from bot.listeners.digest import parse_digest_args
from bot.views.schedule import COMMAND_HELP
from cli.schedule import cloud_scheduler_commands
from commands.errors import RequestError
from commands.schedule.cron import next_slot
from commands.schedule.job import Job
from commands.schedule.registry import BY_ID, JOB_IDS, JOBS, job_named, listing
from config import ConfigError
from opsbot.profile import load_profile
from opsbot.schedule import compressed_schedule
from store.schedule_views import OUTCOMES_DONE, Outcome

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)


def test_every_job_module_is_in_the_registry_once_by_id_and_short_name() -> None:
    modules = [
        importlib.import_module(f"commands.schedule.jobs.{m.name}")
        for m in pkgutil.iter_modules(commands.schedule.jobs.__path__)
    ]
    declared = [m.JOB for m in modules]
    assert all(isinstance(job, Job) for job in declared)
    assert sorted(j.id for j in declared) == sorted(JOB_IDS)
    assert len({j.short for j in JOBS}) == len(JOBS) == len(BY_ID)
    for job in JOBS:
        assert job_named(job.id) is job_named(job.short.upper()) is job
        assert next_slot(job.default.cron, job.default.timezone, NOW) is not None
        assert next_slot(job.sandbox_cron, job.default.timezone, NOW) is not None


def test_an_unknown_job_names_every_job() -> None:
    with pytest.raises(RequestError) as unknown:
        job_named("everything")
    assert all(job.id in str(unknown.value) for job in JOBS)
    assert listing(short=True) == "drift, health, weekly or reminders"


def test_the_profile_overrides_a_job_keeps_the_defaults_of_the_others_and_refuses_unknown(
    tmp_path: Path,
) -> None:
    shipped = (ROOT / "opsbot.toml").read_text()
    start = shipped.index("[schedule.jobs.")
    end = shipped.index("[slack]")
    path = tmp_path / "opsbot.toml"
    path.write_text(
        shipped[:start]
        + '[schedule.jobs.health]\ncron = "0 * * * *"\nchannel = "#x"\n\n'
        + shipped[end:]
    )
    with pytest.raises(ConfigError, match=r"schedule\.jobs: unknown job\(s\) \['health'\]"):
        load_profile(path)

    path.write_text(
        shipped[:start]
        + '[schedule.jobs.health-digest]\ncron = "0 * * * *"\nchannel = "#x"\n\n'
        + shipped[end:]
    )
    schedule = load_profile(path).schedule
    health, drift = job_named("health"), job_named("drift")
    assert health.config(schedule).channel == "#x"
    assert drift.config(schedule) == drift.default  # left out: its default


def test_the_sandbox_compresses_every_job_of_the_registry() -> None:
    schedule = compressed_schedule(load_profile(ROOT / "opsbot.toml")).schedule
    assert {job: config.cron for job, config in schedule.jobs.items()} == {
        job.id: job.sandbox_cron for job in JOBS
    }


def test_slack_and_the_terminal_name_the_registrys_jobs() -> None:
    assert [j.id for j in parse_digest_args("")] == list(JOB_IDS)
    assert parse_digest_args("reminders") == [BY_ID["postmortem-reminders"]]
    with pytest.raises(RequestError, match="drift, health, weekly or reminders"):
        parse_digest_args("drift health")
    assert all(job.short in COMMAND_HELP["/digest"] for job in JOBS)

    profile = load_profile(ROOT / "opsbot.toml")
    schedule = profile.schedule.model_copy(
        update={"endpoint_audience": "https://o.example", "endpoint_service_accounts": ["s@x"]}
    )
    lines = cloud_scheduler_commands(profile.model_copy(update={"schedule": schedule}))
    assert [line.split()[5] for line in lines if line.startswith("gcloud")] == [
        f"opsbot-{job}" for job in JOB_IDS
    ]


def test_outcomes_are_the_values_the_store_has_always_kept() -> None:
    assert {o.value for o in Outcome} >= {"running", "full", "heartbeat", "quiet", "failed"}
    assert OUTCOMES_DONE == (Outcome.FULL, Outcome.HEARTBEAT, Outcome.QUIET)
    assert f"{Outcome.TAKEN}" == "taken"  # as `schedule run --json` and /cron/<job> print it
