"""One replica of the backfill soak (bench/chaos_backfills.py): the sandbox's bot, in a process.

    python -m bench.chaos_backfill_replica --address JSON --slack-api URL --token T --secret S
        --database-url URL

It is what `opsbot sandbox` serves (opsbot/sandbox_serve.py's runtime: backfills on the
sandbox's Pub/Sub, scheduled digests by the in-process scheduler, postmortems, deploys), attached
to a sandbox another process runs (its address, so its clock is that sandbox's), sharing a
PostgreSQL store with the other replica, on a profile whose timings fit a soak of minutes
(REGRADE and the windows above it). Prints `READY <url>` once it listens, then serves until killed.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.access import Access
from bot.runtime import Runtime
from bot.settings import SlackSettings
from config import Profile
from infra.once import Once
from opsbot.logs import configure_logging
from opsbot.platform import sandbox_deploy_tools, sandbox_platforms
from opsbot.postmortem import postmortem_tools
from opsbot.process import tune_for_serving
from opsbot.profile import load_profile
from opsbot.sandbox_serve import sandbox_regrade_tools
from opsbot.schedule import job_tools
from opsbot.serve import http_server
from sandbox.attach import AttachedSandbox, SandboxAddress
from sandbox.faults import FaultPlan
from store.background import STORE_WAIT_S, BackgroundStore

ROOT = Path(__file__).resolve().parents[1]
# A soak of minutes: dates time out after 15 s, two in flight, the driver polls twice a second;
# drift digests every minute and health digests every other one (the sandbox's own schedule is
# every 3 and 5 minutes).
#
# The windows the bot waits out before it takes a dead process's work for lost are shorter than
# shipped (each shipped value, and why, beside its setting), so that a seed waits out its kills
# in seconds; each stays longer than what a live process may take in the soak, so a live one is
# never taken for dead. bench/chaos_backfill_soak.py and chaos_backfill_side.py derive their
# invariants' bounds from these.
# - A backfill's driver silent for 10 s is taken over ([regrade] driver_lease_s, shipped 60 s):
#   the soak's slowest live round is a message Slack rate-limits past the client's 3 retries (1 s
#   each, bench/chaos_backfill_faults.py) in the channel and then in the DM, about 6 s.
# - A date's publish unconfirmed 15 s after its claim is sent again ([regrade]
#   republish_after_s, shipped 30 s): the sandbox's Pub/Sub publish times out after 10 s, and
#   the claim's time is read as its round begins (a round that times dates out first asks
#   BigQuery for each), so 5 s more.
# - A digest's claim unrenewed for 20 s is a dead holder's: the silence window is
#   store/schedule_views.silence_s of [schedule] claim_lease_s (shipped: 30 s, of a 600 s lease),
#   20 s here, which is also the longest a run may hold its claim (the soak's digests take a few
#   seconds).
DRIVER_LEASE_S, REPUBLISH_AFTER_S, CLAIM_LEASE_S = 10.0, 15.0, 20.0
REGRADE = {
    "poll_s": 0.5,
    "date_timeout_min": 0.25,
    "max_in_flight": 2,
    "driver_lease_s": DRIVER_LEASE_S,
    "republish_after_s": REPUBLISH_AFTER_S,
}
DRIFT_CRON, HEALTH_CRON = "* * * * *", "*/2 * * * *"
DEPLOY = {"interval_s": 1.0, "min_requests": 1, "watch_minutes": 0.02, "operation_poll_s": 0.2}
JOB_CHANNELS = {  # job → (cron, channel); the others are off (weekly report, reminders)
    "drift-digest": (DRIFT_CRON, "#deployment-alerts"),
    "health-digest": (HEALTH_CRON, "#orchestration-health"),
}


def soak_profile(shipped: Profile) -> Profile:
    """The shipped profile with the soak's timings (REGRADE, the jobs' crons, the lease)."""
    from commands.schedule.registry import JOBS

    schedule = shipped.schedule
    jobs = {}
    for job in JOBS:
        config = job.config(schedule)
        if job.id in JOB_CHANNELS:
            cron, channel = JOB_CHANNELS[job.id]
            config = config.model_copy(update={"cron": cron, "channel": channel})
        else:
            config = config.model_copy(update={"enabled": False})
        jobs[job.id] = config
    return shipped.model_copy(
        update={
            "regrade": shipped.regrade.model_copy(update=REGRADE),
            "deploy": shipped.deploy.model_copy(update=DEPLOY),
            "health": shipped.health.model_copy(update={"worker_process": False}),
            "schedule": schedule.model_copy(
                update={"mode": "in-process", "claim_lease_s": CLAIM_LEASE_S, "jobs": jobs}
            ),
        }
    )


def attached(address: dict[str, Any], store_url: str) -> AttachedSandbox:
    found = SandboxAddress(**(address | {"store_url": store_url}))
    return AttachedSandbox(found, datetime.fromisoformat(found.now_at_start), FaultPlan())


def soak_runtime(profile: Profile, platform: AttachedSandbox, store: BackgroundStore) -> Runtime:
    """opsbot/sandbox_serve.py's sandbox_runtime, on this profile (no compressed schedule: the
    soak's own crons) and with the stores a serving bot resumes from."""
    from store.backfills import Backfills

    platforms = sandbox_platforms(profile, platform)
    deploys = Once(lambda: sandbox_deploy_tools(profile, platform, store.rollouts(platform.clock)))
    running: Any = platform  # a RunningSandbox: the regrade tools read its URLs and clock only
    return Runtime(
        profile,
        Access(profile.slack),
        platforms,
        deploy_tools=deploys,
        regrade_tools=Once(lambda: sandbox_regrade_tools(profile, running, store)),
        schedule_tools=Once(
            lambda: job_tools(profile, store.get(wait_s=STORE_WAIT_S), platforms, platform.clock)
        ),
        postmortem_tools=Once(lambda: postmortem_tools(deploys(), platforms)),
        rollout_store=lambda: store.rollouts(platform.clock),
        backfill_store=lambda: Backfills(store.get(wait_s=STORE_WAIT_S), platform.clock),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True, help="the sandbox's address, as JSON")
    parser.add_argument("--slack-api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--database-url", required=True)
    options = parser.parse_args()
    configure_logging("text", serving=True)  # to stderr: the replica's log
    profile = soak_profile(load_profile(ROOT / "opsbot.toml"))
    platform = attached(json.loads(options.address), options.database_url)
    store = BackgroundStore(options.database_url).start()
    settings = SlackSettings(
        slack_bot_token=SecretStr(options.token),
        slack_signing_secret=SecretStr(options.secret),
        opsbot_slack_api_url=options.slack_api,
    )
    server = http_server(soak_runtime(profile, platform, store), settings, store, "127.0.0.1", 0)
    print(f"READY {server.url}", flush=True)
    sys.stdout.flush()
    tune_for_serving()
    server.serve_forever()


if __name__ == "__main__":
    main()
