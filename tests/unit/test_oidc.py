"""bot/oidc.py: Google-signed ID tokens checked cheaply first, Google's certificates cached and
fetched one at a time off the event loop, and no refusal that quotes a token."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt

from bot.oidc import (
    REFETCH_S,
    Certificates,
    GoogleTokens,
    Refused,
    Verified,
    fetch_certificates,
    max_age,
)
from tests.google_oidc import GATE_S, FakeGoogle, google, id_token, leaks

__all__ = ["google"]  # the fixture, imported
T = TypeVar("T")
AUDIENCE = "https://opsbot.example/cron/drift-digest"
ACCOUNT = "opsbot-scheduler@nba-props-platform.iam.gserviceaccount.com"


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tokens(google: FakeGoogle, clock: Clock) -> Iterator[GoogleTokens]:
    """A verifier with a cold cache, against the fake Google (reset afterwards)."""
    google.reset()
    yield GoogleTokens(Certificates(google.url, clock=clock))
    google.reset()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def check(tokens: GoogleTokens, token: str, audience: str = AUDIENCE) -> Verified | Refused:
    return run(tokens.check(f"Bearer {token}", audience, [ACCOUNT]))


def good(signer: crypt.RSASigner, **claims: Any) -> str:
    return id_token(signer, **({"aud": AUDIENCE, "email": ACCOUNT} | claims))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _with_header(token: str, header: object) -> str:
    _, payload, signature = token.split(".")
    return ".".join([_b64(json.dumps(header).encode()), payload, signature])


def _with_payload(token: str, payload: bytes) -> str:
    header, _, signature = token.split(".")
    return ".".join([header, _b64(payload), signature])


def _other_key(kid: str) -> crypt.RSASigner:
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    signer: crypt.RSASigner = crypt.RSASigner.from_string(pem, key_id=kid)  # type: ignore[no-untyped-call]
    return signer


def junk(signer: crypt.RSASigner) -> list[str]:
    valid = good(signer)
    return [
        "",
        "a.b.c",
        "not-a-token",
        "...",
        valid + ".",
        "." + valid,
        valid.rsplit(".", 1)[0],
        valid.rsplit(".", 1)[0] + ".",
        valid.replace(".", ".=", 1),
        valid.replace("e", "é", 1),
        valid + "x" * 5000,
        _with_header(valid, {"alg": "none", "kid": "k1"}),
        _with_header(valid, {"alg": "HS256", "kid": "k1"}),
        _with_header(valid, {"alg": "RS256"}),
        _with_header(valid, {"alg": "RS256", "kid": ""}),
        _with_header(valid, {"alg": "RS256", "kid": 1}),
        _with_header(valid, ["RS256", "k1"]),
        _with_payload(valid, b"[]"),
        _with_payload(valid, b"\xff\xfe"),
        _with_payload(valid, b"[" * 2000 + b"]" * 2000),
        _with_payload(valid, b'{"aud": 1e999}'),
    ]


def test_a_token_not_a_well_formed_rs256_jwt_is_refused_in_microseconds_without_a_fetch(
    tokens: GoogleTokens, google: FakeGoogle
) -> None:
    google.delay_s = 2.0  # a fetch would show
    fetched = google.fetches
    sent = junk(google.signer)
    started = time.perf_counter()
    rounds = 50
    answers = [check(tokens, token) for _ in range(rounds) for token in sent]
    each = (time.perf_counter() - started) / len(answers)
    assert all(isinstance(answer, Refused) for answer in answers)
    assert google.fetches == fetched
    assert each < 0.002, f"{each * 1e6:.0f} µs a junk token (asyncio.run included)"
    assert leaks(sent, [str(answer) for answer in answers]) == []


SOMEONE_ELSES = {
    "another job": {"aud": "https://opsbot.example/cron/health-digest"},
    "the service, not a job": {"aud": "https://opsbot.example"},
    "an audience list": {"aud": [AUDIENCE]},
    "expired": {"exp": 1},
    "exp a string": {"exp": "tomorrow"},
    "issued in an hour": {"iat": "in an hour"},  # made when the test runs
    "another account": {"email": "eve@evil.example"},
    "unverified email": {"email_verified": False},
    "email_verified a string": {"email_verified": "true"},
    "another issuer": {"iss": "https://evil.example"},
}


@pytest.mark.parametrize("claims", SOMEONE_ELSES.values(), ids=SOMEONE_ELSES.keys())
def test_claims_for_someone_else_are_refused_before_any_fetch(
    tokens: GoogleTokens, google: FakeGoogle, claims: dict[str, Any]
) -> None:
    fetched = google.fetches
    if claims.get("iat") == "in an hour":
        claims = {"iat": int(time.time()) + 3600}
    answer = check(tokens, good(google.signer, **claims))
    assert isinstance(answer, Refused) and google.fetches == fetched


def test_a_valid_token_is_verified_and_the_certificates_are_kept_for_their_max_age(
    tokens: GoogleTokens, google: FakeGoogle, clock: Clock
) -> None:
    google.max_age = 300
    fetched = google.fetches
    now = int(time.time())
    answers = [check(tokens, good(google.signer, iat=now - n)) for n in range(3)]
    assert all(isinstance(answer, Verified) for answer in answers)
    assert google.fetches - fetched == 1
    first = answers[0]
    assert isinstance(first, Verified) and first.claims["email"] == ACCOUNT
    token = good(google.signer, iat=now)
    assert first.digest == hashlib.sha256(token.encode()).hexdigest()
    clock.now += 299
    assert isinstance(check(tokens, good(google.signer)), Verified)
    assert google.fetches - fetched == 1
    clock.now += 2  # past max-age: fetched again
    assert isinstance(check(tokens, good(google.signer)), Verified)
    assert google.fetches - fetched == 2


def test_googles_certificates_are_fetched_single_flight_off_the_event_loop(
    tokens: GoogleTokens, google: FakeGoogle
) -> None:
    """Sixteen valid tokens at once on a cold cache: one fetch, everyone waits for it, and the
    event loop keeps turning meanwhile. Google's answer is held until a task on the event loop
    sees the fetch under way and lets it go: a fetch made on the loop would stop that task, and
    the answer would be let go only by the gate's own bound."""
    google.gate = threading.Event()
    fetched = google.fetches
    now = int(time.time())
    sent = [good(google.signer, iat=now - n) for n in range(16)]

    async def let_go_once_fetching() -> None:
        while google.fetches == fetched:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.01)  # the loop turns again while Google has not answered
        assert google.gate is not None
        google.gate.set()

    async def at_once() -> list[Verified | Refused]:
        letting_go = asyncio.create_task(asyncio.wait_for(let_go_once_fetching(), GATE_S))
        answers = await asyncio.gather(
            *(tokens.check(f"Bearer {t}", AUDIENCE, [ACCOUNT]) for t in sent)
        )
        await letting_go
        return list(answers)

    answers = run(at_once())
    assert all(isinstance(answer, Verified) for answer in answers)
    assert google.fetches - fetched == 1
    assert not google.held_to_the_end, "the event loop stood still while Google was asked"


def test_an_unknown_key_id_fetches_again_at_most_once_a_minute(
    tokens: GoogleTokens, google: FakeGoogle, clock: Clock
) -> None:
    google.max_age = 3600
    fetched = google.fetches
    assert isinstance(check(tokens, good(google.signer)), Verified)
    rotated = google.add_key("k2")  # Google publishes a new key
    clock.now += 10
    assert isinstance(check(tokens, good(rotated)), Refused)  # not within a minute of a fetch
    assert google.fetches - fetched == 1
    clock.now += REFETCH_S
    assert isinstance(check(tokens, good(rotated)), Verified)  # the key id unknown: fetched
    assert google.fetches - fetched == 2
    stranger = _other_key("k9")  # a key id Google never published
    for _ in range(20):
        clock.now += 2
        assert isinstance(check(tokens, good(stranger)), Refused)
    assert google.fetches - fetched == 2, "no fetch within a minute of the last"
    clock.now += REFETCH_S
    for _ in range(20):
        assert isinstance(check(tokens, good(stranger)), Refused)
    assert google.fetches - fetched == 3, "one fetch a minute, whatever is sent"


def test_a_forged_signature_under_googles_key_id_is_refused_naming_no_part_of_it(
    tokens: GoogleTokens, google: FakeGoogle
) -> None:
    forged = good(_other_key("k1"))
    answer = check(tokens, forged)
    assert isinstance(answer, Refused) and "signature" in answer.reason
    assert answer.ref == hashlib.sha256(forged.encode()).hexdigest()[:8]
    assert leaks([forged], [str(answer)]) == []


def test_an_unreachable_google_refuses_and_is_asked_again_after_a_pause(
    google: FakeGoogle, clock: Clock
) -> None:
    failing = True

    def fetch(url: str) -> tuple[dict[str, str], float]:
        if failing:
            raise OSError("connection refused")
        return fetch_certificates(url)

    google.reset()
    tokens = GoogleTokens(Certificates(google.url, clock=clock, fetch=fetch))
    refused = check(tokens, good(google.signer))
    assert isinstance(refused, Refused) and "certificates" in refused.reason
    failing = False
    assert isinstance(check(tokens, good(google.signer)), Refused)  # asked again: not yet
    clock.now += 5
    assert isinstance(check(tokens, good(google.signer)), Verified)


def test_a_missing_or_other_scheme_is_refused() -> None:
    tokens = GoogleTokens(Certificates("http://127.0.0.1:9/"))
    for authorization in ("", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer"):
        answer = run(tokens.check(authorization, AUDIENCE, [ACCOUNT]))
        assert isinstance(answer, Refused)


@pytest.mark.parametrize(
    ("cache_control", "age", "seconds"),
    [
        ("public, max-age=19650, must-revalidate, no-transform", "", 19650.0),  # Google's
        ("public, max-age=19650, must-revalidate, no-transform", "650", 19000.0),
        ("public, max-age=100", "500", 0.0),
        ("no-store", "", 0.0),
        ("max-age=600, no-cache", "", 0.0),
        ("", "", 0.0),
        ("s-maxage=600", "", 0.0),
        ("max-age=9999999999", "", 86400.0),
    ],
)
def test_certificates_are_kept_as_long_as_cache_control_says_and_at_most_a_day(
    cache_control: str, age: str, seconds: float
) -> None:
    assert max_age(cache_control, age) == seconds
