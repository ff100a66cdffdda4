"""POST /pubsub/grading-complete: only a Google-signed token for our audience and account counts.

Google's signing is stood in for by a key and certificate made here, served on loopback as
Google serves its certificates (a JSON map of key id to PEM certificate), and verified by
google-auth exactly as in production, with that certificates URL.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
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
from tests.google_oidc import google, id_token
from tests.slack.conftest import ROOT

__all__ = ["google"]  # the fixture, imported

AUDIENCE = "https://opsbot.example/pubsub/grading-complete"
PUSHER = "pubsub-push@nba-props-platform.iam.gserviceaccount.com"


@pytest.fixture
def pushed_to(google: tuple[crypt.RSASigner, str]) -> Iterator[SandboxBot]:
    profile = load_profile(ROOT / "opsbot.toml")
    regrade = profile.regrade.model_copy(
        update={"push_audience": AUDIENCE, "push_service_accounts": [PUSHER], "poll_s": 3600}
    )
    configured = profile.model_copy(update={"regrade": regrade})
    with (
        Sandbox() as platform,
        sandbox_bot(configured, platform, push_verify=google_verifier(google[1])) as bot,
    ):
        thread = bot.server.start_in_thread()
        yield bot
        bot.server.stop(thread)


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
