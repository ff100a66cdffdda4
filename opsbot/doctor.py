"""`opsbot doctor` wired: the real project's clients (or the sandbox's), then the Slack app's token."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from slack_sdk import WebClient

from adapters.bigquery import BigQueryWarehouse
from adapters.cloud_logging import CloudLogging
from adapters.cloudrun import CloudRun
from adapters.monitoring import Monitoring
from adapters.pubsub import PubSub
from bot.doctor_slack import slack_findings
from bot.settings import SlackApi, SlackSettingsMissing, load_slack_settings
from bot.slack_clients import slack_api, sync_web_client
from commands.doctor import Finding, google_findings
from config import Profile
from infra.clock import utc_now
from opsbot.platform import _credentials_guard, started_sandbox


def diagnose(
    profile: Profile, profile_path: Path, *, sandbox: bool, announce: Callable[[str], None]
) -> list[Finding]:
    """Every finding, Google's first; with `sandbox`, against the emulators and a Slack emulator."""
    project, timeout = profile.platform.project, profile.drift.cloud_run_timeout_s
    if not sandbox:
        warehouse = _credentials_guard(lambda: BigQueryWarehouse.from_profile(profile))
        cloud_run = _credentials_guard(
            lambda: CloudRun.connect(
                project=project, region=profile.platform.region, timeout_s=timeout
            )
        )
        monitoring = _credentials_guard(
            lambda: Monitoring.connect(project=project, timeout_s=timeout)
        )
        logs = _credentials_guard(lambda: CloudLogging.connect(project=project))
        google = google_findings(profile, warehouse, cloud_run, monitoring, logs, utc_now())
        return google + slack_findings(profile, _environments_slack())
    from sandbox.slack_emulator import SlackEmulator

    with started_sandbox(announce) as running:
        google = google_findings(
            profile,
            BigQueryWarehouse.from_profile(profile, endpoint=running.bigquery_url),
            CloudRun.connect(
                project=project,
                region=profile.platform.region,
                timeout_s=timeout,
                endpoint=running.cloud_run_url,
            ),
            Monitoring.connect(
                project=project, timeout_s=timeout, endpoint=running.monitoring_endpoint
            ),
            CloudLogging.connect(project=project, endpoint=running.logging_url),
            running.clock(),
            PubSub.connect(project=project, timeout_s=timeout, endpoint=running.pubsub_url),
        )
        slack = SlackEmulator()
        slack.workspace.leave(running.faults.slack.not_in_channel)
        slack.workspace.scopes = [
            s for s in slack.workspace.scopes if s not in running.faults.slack.missing_scopes
        ]
        slack.start()
        try:
            client = sync_web_client(slack_api(slack.workspace.bot_token, slack.api_url))
            return google + slack_findings(profile, client)
        finally:
            slack.stop()


def _environments_slack() -> WebClient | None:
    """The Slack the environment names, read and opened as `opsbot serve` does; None without
    a token (a finding, not an error). An invalid $OPSBOT_SLACK_API_URL is a ConfigError."""
    try:
        return sync_web_client(load_slack_settings(SlackApi))
    except SlackSettingsMissing:
        return None
