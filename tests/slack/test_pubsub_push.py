"""POST /pubsub/grading-complete: only a Google-signed token for our audience and account counts.

Google's signing is stood in for by a key and certificate made here, served on loopback as
Google serves its certificates (a JSON map of key id to PEM certificate), and verified by
google-auth exactly as in production, with that certificates URL.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt

from bot.pubsub_push import google_verifier
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
