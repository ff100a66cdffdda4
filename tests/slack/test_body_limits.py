"""Bodies nobody has vouched for are not read: sizes refused from their headers, tokens first.

Each test talks HTTP/1.1 over its own socket to the bot served as in production (bot/server.py
on uvicorn, on loopback, with the push and cron endpoints configured), sending a request's head
and only as much of its body as the test says. A server that waited for a body it should refuse
would never answer: every read is bounded (tests/raw_http.py), and no answer in time is status 0.
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest

from bot.cron_endpoint import CRON_MAX_BODY_BYTES
from bot.oidc import google_verifier
from bot.pubsub_push import PUSH_MAX_BODY_BYTES
from bot.request_gate import SLACK_MAX_BODY_BYTES
from bot.server import MAX_HEAD_BYTES
from opsbot.profile import load_profile
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.platform import Sandbox
from tests.google_oidc import FakeGoogle, google, id_token, leaks
from tests.raw_http import READ_S, chunked, exchange, request_head
from tests.slack.conftest import ROOT
from tests.slack.helpers import HEALTH_CHANNEL, ONCALL

__all__ = ["google"]  # the fixture, imported

PUSH = "/pubsub/grading-complete"
CRON = "/cron/drift-digest"
EVENTS = "/slack/events"
SERVICE = "https://opsbot.example"  # a cron token's audience is <service>/cron/<job>
PUSHER = "pubsub-push@nba-props-platform.iam.gserviceaccount.com"
SCHEDULER = "opsbot-scheduler@nba-props-platform.iam.gserviceaccount.com"
ATTACK_BYTES = 200 * 10**6  # the bodies of the attack that found this (issue 29)


@pytest.fixture(scope="module")
def served(sandbox: Sandbox, google: FakeGoogle) -> Iterator[SandboxBot]:
    """The bot, its push and cron endpoints configured, Google's certificates the test's."""
    google.reset()
    profile = load_profile(ROOT / "opsbot.toml")
    regrade = profile.regrade.model_copy(
        update={"push_audience": SERVICE + PUSH, "push_service_accounts": [PUSHER]}
    )
    schedule = profile.schedule.model_copy(
        update={"endpoint_audience": SERVICE, "endpoint_service_accounts": [SCHEDULER]}
    )
    configured = profile.model_copy(update={"regrade": regrade, "schedule": schedule})
    with sandbox_bot(configured, sandbox, push_verify=google_verifier(google.url)) as bot:
        thread = bot.server.start_in_thread()
        yield bot
        bot.server.stop(thread)


def _token(google: FakeGoogle, path: str, **claims: object) -> str:
    """A token Google would sign for `path` (the push or the cron job), unless `claims` differ."""
    account = PUSHER if path == PUSH else SCHEDULER
    return id_token(google.signer, **({"aud": SERVICE + path, "email": account} | claims))


def _no_token_logged(caplog: pytest.LogCaptureFixture, tokens: list[str]) -> None:
    assert leaks(tokens, [r.getMessage() for r in caplog.records]) == []


LIMITS = {EVENTS: SLACK_MAX_BODY_BYTES, PUSH: PUSH_MAX_BODY_BYTES, CRON: CRON_MAX_BODY_BYTES}


@pytest.mark.parametrize("path", LIMITS, ids=["slack-events", "pubsub-push", "cron"])
def test_a_body_declared_over_the_limit_is_413_at_once_and_never_read(
    served: SandboxBot, google: FakeGoogle, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    """A Content-Length over the endpoint's limit (by one byte, and the attack's 200 MB) is
    answered 413 as soon as the head arrives, with a valid token too, and the connection is
    closed: the server never waits for, reads or keeps any of that body. Before, /slack/events
    and the push read the whole body first (the attack's three 200 MB bodies took the process
    from 290 MB to 1.5 GB); /cron ran the job."""
    tokens = [] if path == EVENTS else [_token(google, path)]
    auth = {"Authorization": f"Bearer {tokens[0]}"} if tokens else {}
    for declared in (LIMITS[path] + 1, ATTACK_BYTES):
        headers = {"Content-Type": "application/json", "Content-Length": str(declared)} | auth
        answer = exchange(served.server.url, request_head(path, headers), b"{" * 16)
        assert (answer.status, answer.closed) == (413, True), (declared, answer)
    _no_token_logged(caplog, tokens)


def test_a_streamed_push_is_refused_once_it_passes_the_limit(
    served: SandboxBot, google: FakeGoogle, caplog: pytest.LogCaptureFixture
) -> None:
    """A push with Google's token but no Content-Length (chunked) is read as it comes and
    refused with 413 at the byte that passes the limit, without waiting for its end. Before,
    it was read to its end, however long."""
    token = _token(google, PUSH)
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    head = request_head(PUSH, headers | {"Authorization": f"Bearer {token}"})
    answer = exchange(served.server.url, head, *chunked(b"{" * (PUSH_MAX_BODY_BYTES + 1)))
    assert (answer.status, answer.closed) == (413, True)
    _no_token_logged(caplog, [token])


@pytest.mark.parametrize("path", [PUSH, CRON], ids=["pubsub-push", "cron"])
def test_a_call_without_a_valid_token_is_401_before_its_body_is_read(
    served: SandboxBot, google: FakeGoogle, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    """No token, junk, or Google's own signature but expired: 401 as soon as the head arrives,
    for a body as large as the endpoint allows, and the connection closed so none of the body
    is read. Before, the push read the whole body before looking at the token, and /cron kept
    the connection open to read (and drop) the rest of the body."""
    now = int(time.time())
    expired = _token(google, path, iat=now - 7200, exp=now - 3600)
    tokens = ["a.b.c", expired]
    for authorization in ("", "Bearer a.b.c", f"Bearer {expired}"):
        headers = {"Content-Type": "application/json", "Content-Length": str(LIMITS[path])}
        if authorization:
            headers["Authorization"] = authorization
        answer = exchange(served.server.url, request_head(path, headers), b"{" * 16)
        assert (answer.status, answer.closed) == (401, True), (authorization[:12], answer)
    _no_token_logged(caplog, tokens)


def _padded_command(bot: SandboxBot, size: int) -> str:
    """A /health help command as Slack sends it, with a field of padding making it `size` bytes."""
    fields = {
        "team_id": bot.slack.workspace.team_id,
        "channel_id": bot.slack.workspace.channel(HEALTH_CHANNEL).id,
        "channel_name": HEALTH_CHANNEL.lstrip("#"),
        "user_id": ONCALL,
        "user_name": "dana",
        "command": "/health",
        "text": "help",
        "response_url": "http://127.0.0.1:9/unused",
        "trigger_id": f"{time.time_ns()}.1.2",
        "padding": "",
    }
    body = urlencode(fields)
    return body + "p" * (size - len(body))


def test_signed_slack_requests_up_to_the_limit_are_served_and_one_byte_more_is_413(
    served: SandboxBot,
) -> None:
    """Slack's requests are acted on as before: a /health help typed in Slack, and a signed one
    of exactly the limit. The same signed request one byte longer, streamed without a
    Content-Length, is 413 at the byte that passes the limit. Before, it was served."""
    assert served.slack.command(ONCALL, HEALTH_CHANNEL, "/health help").status == 200
    sender = served.slack.sender
    assert sender is not None
    largest = _padded_command(served, SLACK_MAX_BODY_BYTES)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    signed = form | sender.signed_headers(largest)
    answer = exchange(
        served.server.url,
        request_head(EVENTS, signed | {"Content-Length": str(len(largest))}),
        largest.encode(),
    )
    assert answer.status == 200 and b"/health" in answer.body
    assert not answer.closed  # kept alive, as Slack keeps its connections

    longer = _padded_command(served, SLACK_MAX_BODY_BYTES + 1)
    signed = form | sender.signed_headers(longer) | {"Transfer-Encoding": "chunked"}
    answer = exchange(served.server.url, request_head(EVENTS, signed), *chunked(longer.encode()))
    assert (answer.status, answer.closed) == (413, True)


def test_a_request_head_over_the_limit_is_431_and_its_connection_closed(
    served: SandboxBot,
) -> None:
    """A request line and headers longer than MAX_HEAD_BYTES (one header sent without end) is
    answered 431 and closed. Before, httptools kept every byte of the unfinished header (100 MB
    of it grew the process by 200 MB) and never answered."""
    start = b"POST /slack/events HTTP/1.1\r\nHost: opsbot.example\r\nX-Padding: "
    answer = exchange(served.server.url, start + b"a" * (MAX_HEAD_BYTES + 1 - len(start)))
    assert (answer.status, answer.closed) == (431, True)
    assert served.slack.command(ONCALL, HEALTH_CHANNEL, "/health help").status == 200


def test_heads_under_the_limit_are_served_however_many_share_a_connection(
    served: SandboxBot,
) -> None:
    """The limit is per request: three requests on one kept-alive connection, each with 60 KB of
    headers (as Cloud Scheduler may send up to 80 KB), are all answered, on that connection."""
    where = urlsplit(served.server.url)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=READ_S)
    try:
        for _ in range(3):
            connection.request("GET", "/healthz", headers={"X-Padding": "a" * 60_000})
            answer = connection.getresponse()
            answer.read()
            assert answer.status in (200, 503) and not answer.will_close
    finally:
        connection.close()
