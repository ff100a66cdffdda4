"""What reaches the bot: signatures, timestamps, channels, arguments, and its health endpoint."""

from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest

from adapters.git import RepoNotFound
from commands.deploy.tools import DeployTools
from infra.once import Once
from opsbot.profile import load_profile
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from opsbot.serve import health_probe
from sandbox.platform import Sandbox
from sandbox.slack_delivery import SlackSender
from sandbox.slack_workspace import ResponseUrl
from store.background import BackgroundStore, StoreNotReady
from tests.slack.helpers import HEALTH_CHANNEL, ONCALL, finished, wait_until

ROOT = Path(__file__).resolve().parents[2]
COMMAND = {
    "command": "/health",
    "text": "",
    "channel_id": "C0HEALTH01",
    "channel_name": "orchestration-health",
    "user_id": ONCALL,
    "team_id": "T0SANDBOX1",
    "response_url": "http://127.0.0.1:9/none",
    "trigger_id": "1.2.3",
}


def _sender(bot: SandboxBot) -> SlackSender:
    assert bot.slack.sender is not None
    return bot.slack.sender


def test_a_forged_signature_is_refused_and_nothing_is_posted(bot: SandboxBot) -> None:
    answer = _sender(bot).send(
        urlencode(COMMAND), "application/x-www-form-urlencoded", secret="not-the-secret"
    )
    assert answer.status == 401
    ws = bot.slack.workspace  # nothing but the start-up's auth.test reached Slack
    assert [c for c in ws.calls if c != "auth.test"] == [] and ws.messages == []


def test_a_replayed_request_older_than_five_minutes_is_refused(bot: SandboxBot) -> None:
    stale = int(time.time()) - 301
    answer = _sender(bot).send(
        urlencode(COMMAND), "application/x-www-form-urlencoded", timestamp=stale
    )
    assert answer.status == 401
    assert [c for c in bot.slack.workspace.calls if c != "auth.test"] == []


def test_a_correctly_signed_request_of_the_same_body_is_served(bot: SandboxBot) -> None:
    ws = bot.slack.workspace
    fields = COMMAND | {"response_url": ws.new_response_url(bot.slack.url, _target())}
    answer = _sender(bot).send(urlencode(fields), "application/x-www-form-urlencoded")
    assert answer.status == 200
    wait_until(ws, finished(ws, "Health 2026-02-05: CRITICAL"))


def _target() -> ResponseUrl:
    return ResponseUrl("C0HEALTH01", ONCALL, None, False)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("/health bogus", "bad date 'bogus': expected YYYY-MM-DD"),
        ("/health 2026-02-05 extra", "expected at most one date, got 2 words"),
        ("/health 2030-01-01", "date 2030-01-01 is in the future (today is 2026-02-05 ET)"),
        ("/health help", "Usage: `/health [YYYY-MM-DD]`"),
        ("/drift nope", "unknown service 'nope'; known: prediction-worker"),
        ("/drift contains", "`contains` needs a commit SHA"),
        ("/drift contains xyz!", "bad commit 'xyz!': expected 4 to 40 hex digits"),
        ("/drift help", "Usage: `/drift [service ...]`"),
    ],
)
def test_bad_arguments_get_ephemeral_usage_with_an_example_and_change_nothing(
    bot: SandboxBot, line: str, says: str
) -> None:
    ack = bot.slack.command(ONCALL, HEALTH_CHANNEL, line)
    answer = ack.json()
    assert answer["response_type"] == "ephemeral"
    assert says in answer["text"]
    assert "Example: `/" in json.dumps(answer["blocks"])
    assert bot.slack.workspace.bot_messages() != [] and all(
        m.ephemeral_to == ONCALL for m in bot.slack.workspace.bot_messages()
    )
    assert "chat.postMessage" not in bot.slack.workspace.calls


def test_a_command_from_a_channel_not_in_the_profile_is_refused_naming_where_to_go(
    bot: SandboxBot,
) -> None:
    ack = bot.slack.command(ONCALL, "#random", "/health")
    answer = ack.json()
    assert answer["response_type"] == "ephemeral"
    assert "opsbot answers in #orchestration-health, #nba-alerts" in answer["text"]
    assert "chat.postMessage" not in bot.slack.workspace.calls


def test_a_burst_right_after_a_start_asks_slack_who_the_bot_is_once(sandbox: Sandbox) -> None:
    profile_path = ROOT / "opsbot.toml"
    with sandbox_bot(load_profile(profile_path), sandbox) as fresh:
        ws = fresh.slack.workspace
        thread = fresh.server.start_in_thread()
        try:
            wait_until(ws, lambda: "auth.test" in ws.calls)  # asked once, at start-up
            with ThreadPoolExecutor(20) as pool:
                acks = list(
                    pool.map(
                        lambda _: fresh.slack.command(ONCALL, HEALTH_CHANNEL, "/health help"),
                        range(20),
                    )
                )
            assert [a.status for a in acks] == [200] * 20
            assert ws.calls.count("auth.test") == 1  # not once per request in flight
        finally:
            fresh.server.stop(thread)


def test_healthz_is_ok_once_the_store_is_open(bot: SandboxBot) -> None:
    bot.store.get(wait_s=30)  # opened in the background after the server started listening
    with urllib.request.urlopen(f"{bot.server.url}/healthz", timeout=5) as answer:
        body = json.loads(answer.read())
    assert answer.status == 200 and body["status"] == "ok" and body["store"] == "ready"


def test_healthz_says_when_the_deploy_clients_are_open(bot: SandboxBot) -> None:
    bot.store.get(wait_s=30)
    assert bot.runtime.deploy_tools is not None
    bot.runtime.deploy_tools()  # opened at start-up (resuming rollouts) or now: waits for it
    with urllib.request.urlopen(f"{bot.server.url}/healthz", timeout=5) as answer:
        assert json.loads(answer.read())["deploys"] == "ready"


def test_healthz_says_the_deploy_clients_are_unavailable_and_logs_why(
    bot: SandboxBot, caplog: pytest.LogCaptureFixture
) -> None:
    def no_repo() -> DeployTools:
        raise RepoNotFound("/srv/platform: no such directory (clone the platform repo there)")

    tools = Once(no_repo)
    probe = health_probe(bot.store, tools)
    bot.store.get(wait_s=30)
    assert probe()["deploys"] == "opening"
    with pytest.raises(RepoNotFound):
        tools()
    assert probe() == {"status": "ok", "store": "ready", "deploys": "unavailable"}
    assert "/srv/platform: no such directory" in caplog.text  # where and why: in the log only
    probe()
    assert caplog.text.count("/srv/platform") == 1  # once per new reason, not per probe


def test_healthz_fails_while_the_store_cannot_be_opened(
    bot: SandboxBot, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = BackgroundStore("postgresql://nobody@127.0.0.1:9/none?connect_timeout=1").start()
    probe = health_probe(unreachable)
    with pytest.raises(StoreNotReady, match="the store could not be opened: cannot open the store"):
        unreachable.get(wait_s=10)
    assert probe() == {"status": "unavailable", "store": "unavailable", "deploys": "off"}
    assert "127.0.0.1:9" in caplog.text and "127.0.0.1:9" not in json.dumps(probe())


def test_nothing_else_is_served(bot: SandboxBot) -> None:
    request = urllib.request.Request(f"{bot.server.url}/admin", method="GET")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 404
