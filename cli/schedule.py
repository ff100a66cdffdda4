"""`opsbot schedule`: the scheduled jobs listed, run now, and exported to Cloud Scheduler."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from cli.layout import Column, print_table
from cli.options import ConfigOption, JsonOption, SandboxOption, announce
from cli.state import opened_store
from cli.terminal import emit_json, report_console
from commands.schedule.decide import local_stamp
from commands.schedule.registry import JOBS, job_named
from commands.schedule.status import job_statuses
from config import ConfigError, Profile, resolve_profile_path
from infra.clock import utc_now
from opsbot.platform import open_platform
from opsbot.profile import load_profile
from store.schedule_views import SILENCE_S, Outcome

if TYPE_CHECKING:
    from commands.schedule.runner import JobTools

schedule_app = typer.Typer(
    help="Scheduled jobs: list them, run one now, export them to Cloud Scheduler.",
    no_args_is_help=True,
)
EXIT_FAILED = 1
JOBS_HELP = "\n\n".join(f"{job.id} ({job.short}): {job.about}." for job in JOBS)
SAID = {
    Outcome.TAKEN: "already ran for this slot (--force runs it again)",
    Outcome.QUIET: "unchanged, and today's line is already out: nothing posted",
    Outcome.OFF: "disabled in the profile",
}
ATTEMPT_DEADLINE = "300s"  # a digest runs inside the request (Cloud Run's CPU is request-bound)
# A slot another replica is running is answered 503 (bot/cron_endpoint.py): Cloud Scheduler's
# first retry comes after this backoff (then doubling), past the claim's silence window, so that
# it takes the slot over if that replica died.
FIRST_RETRY_BACKOFF_S = int(SILENCE_S) + 10


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
    rows = []
    for status in statuses:
        data = status.to_json()
        rows.append(
            [
                status.id,
                escape(status.config.cron),
                status.config.timezone,
                status.config.channel + ("" if status.config.enabled else " (disabled)"),
                local_stamp(status.next_run, status.config.timezone),
                local_stamp(
                    status.last_run.fire_time if status.last_run else None, status.config.timezone
                ),
                escape(data["last_result"] or "never run"),
            ]
        )
    print_table(report_console(), "scheduled jobs", JOB_COLUMNS, rows)


JOB_COLUMNS = (
    Column("job", whole=True),
    Column("cron", whole=True),
    Column("time zone", whole=True),
    Column("channel"),
    Column("next run", whole=True),
    Column("last run", whole=True),
    Column("last result"),
)


@schedule_app.command(
    "run",
    help=(
        "Run a job now for its current slot (once per slot unless --force), posting through the "
        "Slack of the environment: $SLACK_BOT_TOKEN, and $OPSBOT_SLACK_API_URL when set. Exit 0 "
        "when it ran or had already run, 1 when it failed.\n\n"
        f"JOB: one of these, by its id or its short name.\n\n{JOBS_HELP}"
    ),
)
def run_job(
    job: Annotated[str, typer.Argument(metavar="JOB", show_default=False)],
    force: Annotated[
        bool, typer.Option("--force", help="Run again though this slot already ran; post in full.")
    ] = False,
    as_json: JsonOption = False,
    sandbox: SandboxOption = False,
    config: ConfigOption = None,
) -> None:
    from bot.digest_jobs import slack_publisher
    from bot.settings import SlackApi, SlackSettingsMissing, load_slack_settings
    from bot.slack_clients import sync_web_client
    from commands.schedule.runner import replica_name, run_now

    wanted = job_named(job)
    try:
        settings = load_slack_settings(SlackApi)  # as `opsbot serve` reads them
    except SlackSettingsMissing as exc:
        raise ConfigError(f"{exc}; `opsbot schedule list` shows the jobs without posting") from None
    client = sync_web_client(settings)
    with _tools(config, sandbox) as tools:
        done = run_now(
            tools,
            wanted.id,
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
        said = SAID.get(done.outcome, done.outcome)
        where = ", ".join(c for c, _ in done.posted)
        report_console().print(
            f"{done.job} for {done.slot:%Y-%m-%d %H:%M} UTC: {said}"
            + (f" → {where}" if where else "")
            + (f" · {escape(done.summary)}" if done.summary else "")
        )
    if done.outcome is Outcome.FAILED:
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
    account = schedule.endpoint_service_accounts[0]
    lines = [
        f"# {len(JOBS)} Cloud Scheduler jobs for opsbot ({utc_now():%Y-%m-%d}); "
        'set [schedule] mode = "cron-endpoint" on Cloud Run'
    ]
    for job in JOBS:
        settings = job.config(schedule)
        if not settings.enabled:
            lines.append(f"# {job.id}: disabled in the profile")
            continue
        words = [
            "gcloud", "scheduler", "jobs", "create", "http", f"opsbot-{job.id}",
            f"--project={profile.platform.project}",
            f"--location={profile.platform.region}",
            f"--schedule={settings.cron}",
            f"--time-zone={settings.timezone}",
            f"--uri={schedule.job_audience(job.id)}",
            "--http-method=POST",
            f"--oidc-service-account-email={account}",
            f"--oidc-token-audience={schedule.job_audience(job.id)}",  # runs this job alone
            f"--attempt-deadline={ATTEMPT_DEADLINE}",
            "--max-retry-attempts=3",
            f"--min-backoff={FIRST_RETRY_BACKOFF_S}s",
        ]  # fmt: skip
        lines.append(shlex.join(words))
    return lines
