"""POST /pubsub/grading-complete: only a Google-signed token for our audience and account counts.

Google's signing is stood in for by a key and certificate made here, served on loopback as
Google serves its certificates (a JSON map of key id to PEM certificate), and verified by
google-auth exactly as in production, with that certificates URL.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt

from bot.oidc import google_verifier
from commands.regrade.engine import RegradeTools, submit
from commands.regrade.plan import plan_regrade
from opsbot.profile import load_profile
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.platform import Sandbox
from store.backfill_views import BackfillView
from tests.google_oidc import FakeGoogle, google, id_token, leaks
from tests.slack.conftest import ROOT

__all__ = ["google"]  # the fixture, imported

AUDIENCE = "https://opsbot.example/pubsub/grading-complete"
PUSHER = "pubsub-push@nba-props-platform.iam.gserviceaccount.com"
SERVICE = "https://opsbot.example"  # the cron endpoint's audience: <service>/cron/<job>
SCHEDULER = "opsbot-scheduler@nba-props-platform.iam.gserviceaccount.com"


@pytest.fixture
def pushed_to(google: FakeGoogle) -> Iterator[SandboxBot]:
    """A served bot with the push and the cron endpoints configured; Google's certificates fast
    and uncached, and this bot's verifier has fetched none yet."""
    google.reset()
    profile = load_profile(ROOT / "opsbot.toml")
    regrade = profile.regrade.model_copy(
        update={"push_audience": AUDIENCE, "push_service_accounts": [PUSHER], "poll_s": 3600}
    )
    schedule = profile.schedule.model_copy(
        update={"endpoint_audience": SERVICE, "endpoint_service_accounts": [SCHEDULER]}
    )
    configured = profile.model_copy(update={"regrade": regrade, "schedule": schedule})
    with (
        Sandbox() as platform,
        sandbox_bot(configured, platform, push_verify=google_verifier(google[1])) as bot,
    ):
        thread = bot.server.start_in_thread()
        yield bot
        bot.server.stop(thread)
    google.reset()


def _backfill_of(bot: SandboxBot, tools: RegradeTools, day: date) -> BackfillView:
    """A one-date backfill started by the engine (its completion is what the test sends)."""
    plan = plan_regrade(
        bot.runtime.profile,
        tools.warehouse,
        day,
        day,
        today=date(2026, 2, 5),
        include_graded=False,
        in_flight=tools.backfills.in_flight,
        estimate=lambda query: 0,
    )
    backfill, _ = submit(bot.runtime.profile, tools, plan, "U0DANAONCL")
    return backfill


def _token(signer: crypt.RSASigner, **claims: Any) -> str:
    return id_token(signer, **({"aud": AUDIENCE, "email": PUSHER} | claims))


def _push(bot: SandboxBot, body: dict[str, Any], token: str | None) -> int:
    envelope = {
        "message": {"data": base64.b64encode(json.dumps(body).encode()).decode(), "messageId": "1"},
        "subscription": "projects/nba-props-platform/subscriptions/opsbot-push",
    }
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"{bot.server.url}/pubsub/grading-complete", json.dumps(envelope).encode(), headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_only_a_google_signed_push_for_our_audience_and_account_completes_a_date(
    pushed_to: SandboxBot, google: tuple[crypt.RSASigner, str]
) -> None:
    signer, _ = google
    assert pushed_to.runtime.regrade_tools is not None
    tools = pushed_to.runtime.regrade_tools()
    assert pushed_to.platform.grading is not None
    pushed_to.platform.grading.stopping.set()  # the grading function is slow: we push by hand
    pushed_to.platform.grading.faults = pushed_to.platform.grading.faults.model_copy(
        update={"slow_dates": ["2026-01-28"], "slow_s": 3600.0}
    )
    backfill = _backfill_of(pushed_to, tools, date(2026, 1, 28))
    [day] = backfill.dates
    completion = {
        "target_date": "2026-01-28",
        "status": "success",
        "graded_count": 662,
        "mae": 11.1,
        "correlation_id": day.correlation_id,
    }
    forged = crypt.RSASigner.from_string(  # type: ignore[no-untyped-call]
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode(),
        key_id="k1",
    )
    for token in (
        None,
        "not-a-token",
        _token(forged),  # signed by someone else with Google's key id
        _token(signer, aud="https://someone-else.example"),
        _token(signer, email="attacker@example.com"),
        _token(signer, email_verified=False),
        _token(signer, iss="https://evil.example"),
    ):
        assert _push(pushed_to, completion, token) == 401
    assert tools.backfills.get(backfill.id).dates[0].state == "published"  # type: ignore[union-attr]
    assert _push(pushed_to, completion, _token(signer)) == 204
    assert _push(pushed_to, completion, _token(signer)) == 204  # delivered again: counted once
    ended = tools.backfills.get(backfill.id)
    assert (
        ended is not None and ended.dates[0].state == "done" and ended.dates[0].graded_count == 662
    )
    assert ended.state == "done"


def test_the_emulator_pushes_completions_and_retries_until_the_bot_accepts(
    pushed_to: SandboxBot, google: tuple[crypt.RSASigner, str]
) -> None:
    """Pub/Sub push as documented: the envelope POSTed, retried with backoff while not 2xx."""
    signer, _ = google
    tokens = iter(["expired-or-garbled", *(_token(signer) for _ in range(5))])
    assert pushed_to.platform.pubsub is not None
    pushed_to.platform.pubsub.create_push_subscription(
        "opsbot-push",
        "nba-grading-complete",
        f"{pushed_to.server.url}/pubsub/grading-complete",
        lambda: next(tokens),
        backoff_s=0.05,
    )
    assert pushed_to.runtime.regrade_tools is not None
    tools = pushed_to.runtime.regrade_tools()
    backfill = _backfill_of(pushed_to, tools, date(2026, 1, 29))
    pubsub = pushed_to.platform.pubsub
    assert pubsub.wait_for_pushes(lambda statuses: 204 in statuses, timeout_s=30)
    assert [status for _, status in pubsub.push_attempts] == [401, 204]
    ended = tools.backfills.get(backfill.id)
    assert ended is not None and ended.dates[0].state == "done"


def _post(bot: SandboxBot, body: bytes, token: str) -> int:
    request = urllib.request.Request(
        f"{bot.server.url}/pubsub/grading-complete",
        body,
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


SUBSCRIPTION = "projects/nba-props-platform/subscriptions/opsbot-push"
DATA = base64.b64encode(b'{"status": "success"}').decode()
NOT_ENVELOPES = {
    "message null": {"message": None, "subscription": SUBSCRIPTION},
    "message a string": {"message": "a string", "subscription": SUBSCRIPTION},
    "message a list": {"message": [1, 2], "subscription": SUBSCRIPTION},
    "attributes a list": {
        "message": {"data": DATA, "messageId": "1", "attributes": ["backfill_id"]},
        "subscription": SUBSCRIPTION,
    },
    "attributes a string": {
        "message": {"data": DATA, "messageId": "1", "attributes": "backfill_id=1"},
        "subscription": SUBSCRIPTION,
    },
    "an attribute not a string": {
        "message": {"data": DATA, "messageId": "1", "attributes": {"backfill_id": 1}},
        "subscription": SUBSCRIPTION,
    },
    "data not base64": {"message": {"data": "{not base64}", "messageId": "1"}},
    "data a number": {"message": {"data": 7, "messageId": "1"}, "subscription": SUBSCRIPTION},
    "no messageId": {"message": {"data": DATA}, "subscription": SUBSCRIPTION},
    "no message": {"subscription": SUBSCRIPTION},
    "a list": [{"message": {"data": DATA, "messageId": "1"}}],
    "a string": "message",
}


@pytest.mark.parametrize("body", NOT_ENVELOPES.values(), ids=NOT_ENVELOPES.keys())
def test_a_signed_push_that_is_not_a_push_envelope_is_400_in_one_log_line(
    pushed_to: SandboxBot,
    google: tuple[crypt.RSASigner, str],
    caplog: pytest.LogCaptureFixture,
    body: object,
) -> None:
    """Pub/Sub's envelope as Google documents it, or 400: `message` null, a string or a list,
    `attributes` not an object of strings were a 500 and a traceback."""
    caplog.clear()
    assert _post(pushed_to, json.dumps(body).encode(), _token(google[0])) == 400
    assert _post(pushed_to, b"\xff{", _token(google[0])) == 400  # not even UTF-8 JSON
    said = [r for r in caplog.records if r.name == "opsbot.server"]
    assert len(said) == 2 and all("not a push envelope" in r.getMessage() for r in said)
    assert not any(r.exc_info for r in caplog.records), "no traceback"


@pytest.mark.parametrize(
    ("numbers", "said"),
    [
        ('"graded_count": NaN', "graded_count is not finite"),
        ('"graded_count": 1e300', "graded_count is out of range"),
        (f'"graded_count": {2**70}', "graded_count is out of range"),
        ('"graded_count": 662, "mae": Infinity', "mae is not finite"),
    ],
    ids=["NaN", "1e300", "2**70", "mae Infinity"],
)
def test_a_pushed_completion_with_unreadable_numbers_is_acknowledged_and_fails_its_date(
    pushed_to: SandboxBot,
    google: tuple[crypt.RSASigner, str],
    caplog: pytest.LogCaptureFixture,
    numbers: str,
    said: str,
) -> None:
    """Acknowledged (204: Pub/Sub would only push it again), its date failed saying why, one log
    line, no traceback; nothing of it stored. Each was a 500 (int(NaN), SQLite's overflow)."""
    assert pushed_to.runtime.regrade_tools is not None and pushed_to.platform.grading is not None
    tools = pushed_to.runtime.regrade_tools()
    pushed_to.platform.grading.stopping.set()  # the completion is the test's
    backfill = _backfill_of(pushed_to, tools, date(2026, 1, 28))
    [day] = backfill.dates
    completion = (
        f'{{"target_date": "2026-01-28", "status": "success", {numbers}, '
        f'"correlation_id": "{day.correlation_id}"}}'
    )
    envelope = {
        "message": {"data": base64.b64encode(completion.encode()).decode(), "messageId": "9"},
        "subscription": SUBSCRIPTION,
    }
    caplog.clear()
    assert _post(pushed_to, json.dumps(envelope).encode(), _token(google[0])) == 204
    ended = tools.backfills.get(backfill.id)
    assert ended is not None and ended.state == "done"  # every date ended (this one failed)
    assert ended.dates[0].state == "failed" and said in ended.dates[0].detail
    assert ended.dates[0].graded_count is None and ended.dates[0].mae is None
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
    assert not any(r.exc_info for r in caplog.records), "no traceback"


# -- hostile tokens: no stall, no fetch, no token in the log ------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _with_header(token: str, header: dict[str, Any]) -> str:
    """`token` with another header (its signature no longer matches)."""
    _, payload, signature = token.split(".")
    return ".".join([_b64(json.dumps(header).encode()), payload, signature])


def _junk(signer: crypt.RSASigner) -> list[str]:
    """Bearer tokens no one should spend a certificate fetch on."""
    valid = _token(signer)
    return [
        "a.b.c",
        "not-a-token",
        "eyJhbGciOiJSUzI1NiJ9.e30.e30",  # RS256, but no key id
        valid + ".",  # one extra dot
        valid.rsplit(".", 1)[0],  # no signature
        _with_header(valid, {"alg": "none", "kid": "k1"}),
        _with_header(valid, {"alg": "HS256", "kid": "k1"}),
        _with_header(valid, {"alg": "RS256", "kid": ["k1"]}),
        valid.replace(".", ".!", 1),  # not base64url
        "e" * 5000,
        _token(signer, aud="https://someone-else.example"),  # well-formed, for someone else
        _token(signer, exp=int(time.time()) - 3600),  # well-formed, expired
    ]


def _cron_call(bot: SandboxBot, job: str, token: str) -> int:
    request = urllib.request.Request(
        f"{bot.server.url}/cron/{job}", b"", {"Authorization": f"Bearer {token}"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def _health_latencies(bot: SandboxBot, busy: Callable[[], bool]) -> list[float]:
    """How long /healthz takes to answer, asked again and again while `busy()`."""
    taken: list[float] = []
    while busy() or not taken:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(f"{bot.server.url}/healthz", timeout=60):
                pass
        except urllib.error.HTTPError:
            pass  # 503 while a part is not ready: answered all the same
        taken.append(time.perf_counter() - started)
        time.sleep(0.05)
    return taken


def test_junk_bearer_tokens_are_refused_without_a_certificate_fetch_and_stall_nothing(
    pushed_to: SandboxBot, google: FakeGoogle
) -> None:
    """Junk tokens to both endpoints at once, Google's certificates answering in a second: each
    is 401, none fetches the certificates, and /healthz is answered at once meanwhile. Each
    fetched them, synchronously, on the event loop: every other request waited."""
    google.delay_s = 1.0
    fetched = google.fetches
    junk = _junk(google.signer)
    with ThreadPoolExecutor(8) as pool:
        calls = [pool.submit(_push, pushed_to, {"status": "success"}, t) for t in junk] + [
            pool.submit(_cron_call, pushed_to, "drift-digest", t) for t in junk
        ]
        latencies = _health_latencies(pushed_to, lambda: not all(c.done() for c in calls))
        statuses = [call.result() for call in calls]
    assert max(latencies) < 0.5, f"/healthz waited {max(latencies):.2f} s behind junk tokens"
    assert google.fetches == fetched, "no junk token is worth a fetch of Google's certificates"
    assert statuses == [401] * len(calls)


def test_googles_certificates_are_fetched_once_for_many_tokens_and_off_the_event_loop(
    pushed_to: SandboxBot, google: FakeGoogle
) -> None:
    """Eight valid pushes at once on a cold cache, Google answering in a second and allowing an
    hour's caching: one fetch for all of them, none for the pushes after, and /healthz answered
    at once while the fetch is under way. Each push fetched them again, on the event loop."""
    google.delay_s, google.max_age = 1.0, 3600
    fetched = google.fetches
    now = int(time.time())
    tokens = [_token(google.signer, iat=now - n) for n in range(8)]  # eight distinct tokens
    with ThreadPoolExecutor(8) as pool:
        calls = [pool.submit(_push, pushed_to, {"status": "success"}, t) for t in tokens]
        latencies = _health_latencies(pushed_to, lambda: not all(c.done() for c in calls))
        statuses = [call.result() for call in calls]
    later = [_push(pushed_to, {"status": "success"}, _token(google.signer)) for _ in range(3)]
    assert max(latencies) < 0.5, f"/healthz waited {max(latencies):.2f} s behind a fetch"
    assert google.fetches - fetched == 1, "one fetch, single-flight, then the cache"
    assert statuses == [204] * 8 and later == [204] * 3


def test_no_log_line_carries_any_part_of_a_pushed_token(
    pushed_to: SandboxBot, google: FakeGoogle, caplog: pytest.LogCaptureFixture
) -> None:
    """Junk, expired, another audience, one extra dot, a forged signature and a replay: every log
    record (any logger, any level, tracebacks included) is scanned for 16 characters in a row of
    any token sent. `token refused: MalformedError: ... b'eyJ…'` logged a whole valid token."""
    signer = google.signer
    forged, _ = _forged_signer()
    valid = _token(signer)
    sent = [
        *_junk(signer),
        valid + ".",
        _token(signer, exp=1),
        _token(signer, aud="https://elsewhere.example"),
        _token(forged),
        valid,
        valid,  # a replay
    ]
    with caplog.at_level(logging.DEBUG):
        for token in sent:
            _push(pushed_to, {"status": "success"}, token)
            _cron_call(pushed_to, "drift-digest", token)
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    said = [formatter.format(record) for record in caplog.records]
    assert any("refused" in line for line in said), "the refusals are logged"
    assert leaks(sent, said) == []


def _forged_signer() -> tuple[crypt.RSASigner, str]:
    """Someone else's key, under Google's key id."""
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    return crypt.RSASigner.from_string(pem, key_id="k1"), pem  # type: ignore[no-untyped-call]
