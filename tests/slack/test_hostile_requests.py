"""What an attacker or a broken client sends to /slack/events: refused, with no outbound call.

Slack signs every request with v0 HMAC-SHA256 of `v0:{timestamp}:{body}` under the app's signing
secret, and a request older than five minutes is a replay (Slack's "Verifying requests from
Slack"). Anything not so verified gets 401 before any field of it is read.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsbot.sandbox_serve import SandboxBot
from tests.slack.helpers import HEALTH_CHANNEL, ONCALL

FORM = "application/x-www-form-urlencoded"
# What an HTTP header value may hold (visible ASCII and space); the HTTP server itself answers
# 400 to anything else before the app sees it.
HEADER_TEXT = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


class Sink:
    """A URL on loopback that counts what is posted to it (a response_url of the attacker's)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                sink.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/anything"


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    found = Sink()
    yield found
    found.server.shutdown()


def post(bot: SandboxBot, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(f"{bot.server.url}/slack/events", body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def signed(bot: SandboxBot, body: bytes, content_type: str = FORM) -> dict[str, str]:
    """Slack's v0 signature over the raw bytes (any bytes: Slack signs what it sends)."""
    assert bot.slack.sender is not None
    stamp = str(int(time.time()))
    secret = bot.slack.sender.signing_secret.encode()
    digest = hmac.new(secret, b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }


def outbound(bot: SandboxBot, sink: Sink) -> list[str]:
    """Every call the bot made: to Slack's Web API (past start-up), or to the sink."""
    return [c for c in bot.slack.workspace.calls if c != "auth.test"] + sink.hits


def deploy_command(response_url: str) -> bytes:
    fields = {
        "command": "/deploy",
        "text": "nba-scrapers",
        "user_id": "U0SAMDEPLY",
        "channel_id": "C0DEPLOY01",
        "channel_name": "deployment-alerts",
        "team_id": "T0SANDBOX1",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }
    return urlencode(fields).encode()


@pytest.mark.parametrize("timestamp", ["abc", "9" * 5000, "", " 1", "-1", "1e9", "now.5", "now+0"])
@pytest.mark.parametrize("kind", ["command", "payload"])
def test_an_unverifiable_timestamp_is_401_and_nothing_is_called(
    bot: SandboxBot, sink: Sink, timestamp: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    now = str(int(time.time()))
    timestamp = {"now.5": f"{now}.5", "now+0": f"+{now}"}.get(timestamp, timestamp)
    body = (
        deploy_command(sink.url)
        if kind == "command"
        else urlencode({"payload": json.dumps({"response_url": sink.url})}).encode()
    )
    headers = {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    status, _ = post(bot, body, headers)
    assert status == 401
    assert outbound(bot, sink) == []
    assert not any(r.exc_info for r in caplog.records), "no traceback for a refused request"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    timestamp=st.one_of(
        st.none(),
        st.text(HEADER_TEXT, max_size=30),
        st.integers(min_value=-(10**12), max_value=10**12).map(str),
    ),
    signature=st.one_of(st.none(), st.text(HEADER_TEXT, max_size=80), st.just("v0=" + "a" * 64)),
    content_type=st.sampled_from([FORM, "application/json", "text/plain", ""]),
    body=st.one_of(
        st.binary(max_size=200),
        st.dictionaries(
            st.sampled_from(["command", "payload", "response_url", "trigger_id", "text"]),
            st.text(max_size=40),
        ).map(lambda d: urlencode(d).encode()),
    ),
)
def test_no_unverified_request_ever_yields_an_outbound_call(
    bot: SandboxBot,
    sink: Sink,
    timestamp: str | None,
    signature: str | None,
    content_type: str,
    body: bytes,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    for trap in (deploy_command(sink.url), body):
        status, _ = post(bot, trap, headers)
        assert status == 401
    assert outbound(bot, sink) == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"payload=", FORM),
        (b"payload=not-json", FORM),
        (urlencode({"payload": "[1, 2]"}).encode(), FORM),
        (urlencode({"payload": '"a string"'}).encode(), FORM),
        (b'{"type": "block_actions"}', "application/json"),
        (b"command=/health&text=\xff\xfe", FORM),
        (
            urlencode(
                {
                    "payload": json.dumps(
                        {"type": "block_actions", "user": {"id": ONCALL}, "actions": []}
                    )
                }
            ).encode(),
            FORM,
        ),
        (
            urlencode(
                {
                    "payload": json.dumps(
                        {"type": "block_actions", "actions": [{"action_id": "health.details"}]}
                    )
                }
            ).encode(),
            FORM,
        ),
        (b"text=hello", FORM),
    ],
)
def test_a_signed_but_malformed_body_is_400_with_one_log_line_and_no_traceback(
    bot: SandboxBot,
    sink: Sink,
    body: bytes,
    content_type: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    status, _ = post(bot, body, signed(bot, body, content_type))
    assert status == 400
    assert outbound(bot, sink) == []
    assert not any(r.exc_info for r in caplog.records)
    assert [r.getMessage() for r in caplog.records if r.name == "opsbot.server"] != []


@pytest.mark.parametrize("hostile", ["<!channel>", "<@U0LEEAPPRV>", "<http://evil.example|x>"])
def test_user_text_echoed_in_a_usage_reply_is_escaped(bot: SandboxBot, hostile: str) -> None:
    answer = bot.slack.command(ONCALL, HEALTH_CHANNEL, f"/drift {hostile}").json()
    assert hostile not in answer["text"]
    assert hostile not in json.dumps(answer["blocks"])
    assert "&lt;" in answer["text"]


def test_the_drift_help_shows_the_sha_placeholder_as_typed(bot: SandboxBot) -> None:
    answer = bot.slack.command(ONCALL, HEALTH_CHANNEL, "/drift help").json()
    assert "contains <sha>" not in answer["text"] + json.dumps(answer["blocks"])
    assert "contains &lt;sha&gt;" in json.dumps(answer["blocks"])


def test_healthz_says_ready_or_which_part_is_not_and_nothing_about_where(bot: SandboxBot) -> None:
    with urllib.request.urlopen(f"{bot.server.url}/healthz", timeout=10) as answer:
        said = json.loads(answer.read())
    assert said["status"] == "ok"
    assert set(said) <= {"status", "store", "deploys"}
    text = json.dumps(said)
    for leak in ("sqlite", "postgres", "127.0.0.1", "/tmp", "opsbot.toml", "opsbot.db"):
        assert leak not in text
