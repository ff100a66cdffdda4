"""Benchmark (not a test): duplicated, concurrent clicks against two replicas sharing PostgreSQL.

Two opsbot processes (replicas) share one PostgreSQL store and the sandbox's emulators. A rollout
is started; then 100 identical Promote clicks (as Slack delivers them, signed) arrive at once,
half at each replica; then 100 identical Roll back clicks. Prints the effects counted in the
audit log and in Cloud Run against the effects expected (must be equal: one promotion, one
rollback) and the p99 of the acks.

    python -m bench.duplicate_actions [--clicks 100] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.ack_latency import bot_process, platform_args, send, slack_args
from bot.actions import ActionId
from bot.views.deploy import rollout_view
from commands.deploy.analysis import analyse
from commands.deploy.checklist import prepare
from commands.deploy.lifecycle import begin, start_canary
from commands.deploy.tools import DeployTools
from commands.deploy.verdict import Verdict
from config import Profile
from opsbot.platform import deploy_tools, sandbox_drift_sources
from opsbot.profile import load_profile
from sandbox.platform import Sandbox
from sandbox.slack_emulator import SlackEmulator
from sandbox.slack_workspace import BOT_USER, Workspace
from store.database import Database
from store.rollouts import Store
from tests.pg import private_schema
from tests.slack.helpers import wait_until

ROOT = Path(__file__).resolve().parents[1]
SERVICE = "nba-phase4-precompute-processors"
DEPLOYER, APPROVER = "U0SAMDEPLY", "U0LEEAPPRV"


def storm(urls: list[str], secret: str, payload: dict[str, Any], clicks: int) -> list[float]:
    """`clicks` deliveries of one payload at once, spread over the replicas; ack seconds.

    Sent by bench.ack_load in its own process, each click on a connection opened beforehand.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(payload, file)
        file.flush()
        counts = ("--senders", str(clicks), "--per-sender", "1")
        return send(",".join(urls), secret, *counts, "--payload-file", file.name, timeout_s=120)


def wait_for_deploys(healthz: str, timeout_s: float = 60) -> None:
    """Until the replica's /healthz says its deploy clients are open (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(healthz, timeout=5) as answer:
                if json.loads(answer.read()).get("deploys") == "ready":
                    return
        except urllib.error.HTTPError:  # 503 while the store opens
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{healthz}: deploy clients not open after {timeout_s:g} s")


def already_done(ws: Workspace, user: str) -> int:
    return sum(
        1 for m in ws.messages if m.ephemeral_to == user and m.text.startswith("Already done")
    )


def passed_analysis(profile: Profile, tools: DeployTools, rollout_id: int) -> None:
    """Analyse the canary (a second of traffic at a time) until an analysis passes (bounded)."""
    quick = profile.model_copy(
        update={"deploy": profile.deploy.model_copy(update={"interval_s": 1.0, "min_requests": 1})}
    )
    for _ in range(60):
        time.sleep(1.0)  # a benchmark waiting for traffic, not a test
        outcome = analyse(quick, tools, rollout_id)
        if outcome is not None and outcome.analysis.verdict is Verdict.PASS:
            return
    raise RuntimeError(f"rollout #{rollout_id}: no passing analysis within 60 s")


def ended_state(store: Store, rollout_id: int, timeout_s: float = 60) -> str:
    """The rollout's state once it is no longer rolling back (bounded): the clicks are answered
    at once, the traffic change they started completes a Cloud Run operation later."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = store.get(rollout_id)
        if found is not None and found.state.terminal:
            return found.state.value
        time.sleep(0.1)  # a benchmark polling its store, not a test
    raise RuntimeError(f"rollout #{rollout_id} still not ended after {timeout_s:g} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clicks", type=int, default=100)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("OPSBOT_TEST_DATABASE_URL", "postgresql://root@127.0.0.1:5432/test"),
    )
    options = parser.parse_args()
    profile = load_profile(ROOT / "opsbot.toml")
    secret = secrets.token_hex(16)
    slack = SlackEmulator()
    slack.start()
    with private_schema(options.database_url, "opsbot_bench") as url, Sandbox() as platform:
        assert platform.traffic is not None
        platform.traffic.rates[SERVICE] = 500.0  # enough requests for a canary analysis
        database = Database.open(url)  # migrated once, before the replicas start
        store = Store(database, platform.clock)
        sources = sandbox_drift_sources(profile, platform)
        tools = deploy_tools(
            profile,
            sources.cloud_run,
            sources.repo,
            store,
            platform.clock,
            monitoring_endpoint=platform.monitoring_endpoint,
            logging_endpoint=platform.logging_url,
        )
        wiring = [
            *slack_args(slack, secret),
            *platform_args(platform, deploys=True),
            "--database-url",
            url,
        ]
        with bot_process("opsbot", wiring) as one, bot_process("opsbot", wiring) as two:
            checklist = prepare(profile, tools, SERVICE, None)
            rollout = begin(profile, tools, checklist, DEPLOYER)
            started = start_canary(profile, tools, rollout.id, DEPLOYER)
            assert started is not None
            text_, blocks = rollout_view(started, profile.deploy)
            message = slack.workspace.post(
                "#canary-alerts", text_, [b.to_dict() for b in blocks], BOT_USER.id
            )
            store.attach_message(started.id, message.channel, message.ts)

            for replica in (one, two):  # warm: the first click on a cold one waits for its clients
                wait_for_deploys(replica.removesuffix("/slack/events") + "/healthz")
            passed_analysis(profile, tools, started.id)  # a step is promoted once one has
            promote = slack.click_payload(APPROVER, message, ActionId.ROLLOUT_PROMOTE)
            promote_acks = storm([one, two], secret, promote, options.clicks)
            wait_until(
                slack.workspace,
                lambda: already_done(slack.workspace, APPROVER) >= options.clicks - 1,
                60,
            )
            shown = store.get(started.id)
            assert shown is not None
            message = slack.workspace.find(message.channel, message.ts)
            roll_back = slack.click_payload(DEPLOYER, message, ActionId.ROLLOUT_ROLL_BACK)
            rollback_acks = storm([one, two], secret, roll_back, options.clicks)
            wait_until(
                slack.workspace,
                lambda: already_done(slack.workspace, DEPLOYER) >= options.clicks - 1,
                60,
            )
            ended = ended_state(store, started.id)  # the rollback's traffic change takes a while

            audit = store.audit_log(started.id)
            promotions = sum(1 for e in audit if e.action == "deploy.promote")
            rollbacks = sum(1 for e in audit if e.action == "deploy.rollback")
            serving = [
                (t.revision, t.percent) for t in tools.cloud_run.get_service(SERVICE).serving
            ]
        database.close()
    slack.stop()
    print(
        f"{options.clicks} identical Promote clicks and {options.clicks} identical Roll back clicks, two replicas, PostgreSQL"
    )
    print(f"  promotions:  counted {promotions}, expected 1")
    print(f"  rollbacks:   counted {rollbacks}, expected 1 (the rollout ended {ended})")
    print(f"  traffic after: {serving} (expected 100% on {started.stable_revision})")
    print(
        f"  'already done' answers: {already_done(slack.workspace, APPROVER)} + {already_done(slack.workspace, DEPLOYER)}, expected {2 * (options.clicks - 1)}"
    )
    for name, acks in (("Promote", promote_acks), ("Roll back", rollback_acks)):
        cuts = statistics.quantiles(acks, n=100, method="inclusive")
        print(
            f"  {name} acks: p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms, "
            f"max {max(acks) * 1000:.1f} ms ({options.clicks} at once on warm replicas, from a process of their own)"
        )
    ok = (
        promotions == 1
        and rollbacks == 1
        and ended == "rolled_back"
        and serving == [(started.stable_revision, 100)]
    )
    print("  effects equal to expected: " + ("yes" if ok else "NO"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
