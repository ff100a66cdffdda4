"""`opsbot schedule`: the scheduled jobs listed, run now, and exported to Cloud Scheduler."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cli.options import ConfigOption, JsonOption, SandboxOption, announce
from cli.state import opened_store
from cli.terminal import emit_json, report_console
from commands.schedule.decide import local_stamp
from commands.schedule.status import job_statuses, parse_job
from config import JOB_IDS, ConfigError, Profile, resolve_profile_path
from opsbot.platform import open_platform
from opsbot.profile import load_profile

if TYPE_CHECKING:
    from commands.schedule.runner import JobTools

schedule_app = typer.Typer(
    help="Scheduled digests: list them, run one now, export them to Cloud Scheduler.",
    no_args_is_help=True,
)
EXIT_FAILED = 1
ATTEMPT_DEADLINE = "300s"  # a digest runs inside the request (Cloud Run's CPU is request-bound)


@contextmanager
def _tools(config: Path | None, sandbox: bool) -> Iterator[JobTools]:
    from opsbot.schedule import compressed_schedule, job_tools

    profile_path = resolve_profile_path(config)
    profile = load_profile(profile_path)
    if sandbox:
        profile = compressed_schedule(profile)  # the schedules the sandbox's bot runs
    with (
        open_platform(profile, profile_path, sandbox=sandbox, announce=announce) as platform,
        opened_store(profile, profile_path, sandbox, platform.clock, platform.store_url) as store,
    ):
        yield job_tools(profile, store.database, lambda: platform, platform.clock)


@schedule_app.command("list")
def list_jobs(
    as_json: JsonOption = False, sandbox: SandboxOption = False, config: ConfigOption = None
) -> None:
    """Each job: its cron and time zone, channel, next run, last run and how it ended."""
    with _tools(config, sandbox) as tools:
        statuses = job_statuses(tools.profile, tools.runs, tools.clock())
    if as_json:
        emit_json([s.to_json() for s in statuses])
        return
    table = Table(title="scheduled jobs", title_justify="left")
    for column in ("job", "cron", "time zone", "channel", "next run", "last run", "last result"):
        table.add_column(column, overflow="fold")
    for status in statuses:
        data = status.to_json()
        table.add_row(
            status.id,
            status.config.cron,
            status.config.timezone,
            status.config.channel + ("" if status.config.enabled else " (disabled)"),
            local_stamp(status.next_run, status.config.timezone),
            local_stamp(
                status.last_run.fire_time if status.last_run else None, status.config.timezone
            ),
            escape(data["last_result"] or "never run"),
        )
    report_console().print(table)


@schedule_app.command("run")
def run_job(
    job: Annotated[str, typer.Argument(help="drift-digest, health-digest or weekly-report.")],
    force: Annotated[
        bool, typer.Option("--force", help="Run again though this slot already ran; post in full.")
    ] = False,
    as_json: JsonOption = False,
    sandbox: SandboxOption = False,
    config: ConfigOption = None,
) -> None:
    """Run a job now for its current slot (once per slot unless --force), posting through the
    Slack of the environment: $SLACK_BOT_TOKEN, and $OPSBOT_SLACK_API_URL when set. Exit 0 when
    it ran or had already run, 1 when it failed."""
    from bot.digest_jobs import slack_publisher, sync_web_client
    from commands.schedule.runner import replica_name, run_now

    wanted = parse_job(job)
    token = os.environ.get("SLACK_BOT_TOKEN")
    if not token:
        raise ConfigError(
            "set SLACK_BOT_TOKEN (and OPSBOT_SLACK_API_URL for a Slack other than slack.com) "
            "to post; `opsbot schedule list` shows the jobs without posting"
        )
    client = sync_web_client(token, os.environ.get("OPSBOT_SLACK_API_URL"))
    with _tools(config, sandbox) as tools:
        done = run_now(
            tools,
            wanted,
            slack_publisher(client, tools.profile),
            by=f"cli:{replica_name()}",
            force=force,
            full=force,
        )
    if as_json:
        emit_json(
            {
                "job": done.job,
                "slot": done.slot.isoformat(),
                "outcome": done.outcome,
                "summary": done.summary,
                "posted": [{"channel": c, "ts": t} for c, t in done.posted],
            }
        )
    else:
        said = {
            "taken": "already ran for this slot (--force runs it again)",
            "quiet": "unchanged, and today's line is already out: nothing posted",
            "off": "disabled in the profile",
        }.get(done.outcome, done.outcome)
        where = ", ".join(c for c, _ in done.posted)
        report_console().print(
            f"{done.job} for {done.slot:%Y-%m-%d %H:%M} UTC: {said}"
            + (f" → {where}" if where else "")
            + (f" · {escape(done.summary)}" if done.summary else "")
        )
    if done.outcome == "failed":
        raise typer.Exit(EXIT_FAILED)


@schedule_app.command("export")
def export(
    cloud_scheduler: Annotated[
        bool,
        typer.Option("--cloud-scheduler", help="Print a `gcloud scheduler jobs create` per job."),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """The jobs as Cloud Scheduler jobs calling POST /cron/<job> with an OIDC token."""
    if not cloud_scheduler:
        raise typer.BadParameter("say what to export: --cloud-scheduler")
    profile = load_profile(resolve_profile_path(config))
    for line in cloud_scheduler_commands(profile):
        typer.echo(line)


def cloud_scheduler_commands(profile: Profile) -> list[str]:
    schedule = profile.schedule
    if not schedule.endpoint_audience or not schedule.endpoint_service_accounts:
        raise ConfigError(
            "set [schedule] endpoint_audience (the service URL, e.g. https://opsbot-xxxx.a.run.app) "
            "and endpoint_service_accounts (who Cloud Scheduler signs as) to export the jobs"
        )
    base = schedule.endpoint_audience.rstrip("/")
    account = schedule.endpoint_service_accounts[0]
    lines = [
        f"# {len(JOB_IDS)} Cloud Scheduler jobs for opsbot ({datetime.now(UTC):%Y-%m-%d}); "
        'set [schedule] mode = "cron-endpoint" on Cloud Run'
    ]
    for job in JOB_IDS:
        settings = schedule.jobs[job]
        if not settings.enabled:
            lines.append(f"# {job}: disabled in the profile")
            continue
        words = [
            "gcloud", "scheduler", "jobs", "create", "http", f"opsbot-{job}",
            f"--project={profile.platform.project}",
            f"--location={profile.platform.region}",
            f"--schedule={settings.cron}",
            f"--time-zone={settings.timezone}",
            f"--uri={base}/cron/{job}",
            "--http-method=POST",
            f"--oidc-service-account-email={account}",
            f"--oidc-token-audience={schedule.endpoint_audience}",
            f"--attempt-deadline={ATTEMPT_DEADLINE}",
            "--max-retry-attempts=3",
        ]  # fmt: skip
        lines.append(shlex.join(words))
    return lines
