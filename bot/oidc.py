"""Google-signed OIDC tokens on our endpoints (Pub/Sub push, Cloud Scheduler): verified or refused.

Pub/Sub push and Cloud Scheduler both send `Authorization: Bearer <ID token>` signed by Google
for a service account, with the audience the subscription or job names. A token is checked in
the order of what each step costs, so that nobody can make a refusal expensive:

1. Its shape, on the event loop, in microseconds, with nothing fetched: a JWT of three base64url
   segments (at most MAX_TOKEN_CHARS), whose header is a JSON object naming `alg` RS256 and a
   `kid`, and whose payload is a JSON object.
2. Its claims, read but not yet trusted, the same way: the audience asked for, Google's issuer,
   one of the allowed service accounts with a verified email, not expired, not issued in the
   future. A token that fails here would fail after the signature check too.
3. Google's certificate for its `kid` (Certificates): cached for as long as Google's
   `Cache-Control: max-age` allows, fetched by one thread at a time off the event loop while the
   callers that need it wait for that fetch; a `kid` missing from the cached set fetches again at
   most once every REFETCH_S.
4. Its signature, expiry and audience, verified by google-auth (`google.auth.jwt.decode`) on
   the shared executor (infra/blocking.py), off the event loop.

A refusal says why in words of our own and names the token by a short hash (`token_ref`), never
by any part of it: google-auth's messages quote the token (with its signature), so none of them
is passed on.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import functools
import hashlib
import json
import logging
import math
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeGuard

from infra.blocking import shared

log = logging.getLogger("opsbot.server")

ISSUERS = ("accounts.google.com", "https://accounts.google.com")
GOOGLE_CERTS = "https://www.googleapis.com/oauth2/v1/certs"  # {kid: PEM certificate}
MAX_TOKEN_CHARS = 4096  # Google's ID tokens are about 1 KB
SKEW_S = 10  # clock skew allowed on `iat` and `exp`
REFETCH_S = 60.0  # at most one fetch a minute for a key id the cache does not hold
RETRY_S = 5.0  # after a failed fetch, the next waits this long
FETCH_TIMEOUT_S = 10.0
MAX_CERTS_BYTES = 2**20
MAX_AGE_S = 86400.0  # never cache longer than a day, whatever the header says
SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*(\d{1,10})")

# Fetches Google's certificates from a URL: ({kid: PEM}, how many seconds they may be cached).
Fetch = Callable[[str], tuple[dict[str, str], float]]


def token_digest(token: str) -> str:
    """The token's SHA-256, hex: a key for "used once" (the token itself is never stored)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_ref(token: str) -> str:
    """Which token it was, for the log: the first 8 hex digits of its SHA-256."""
    return token_digest(token)[:8]


@dataclass(frozen=True)
class Verified:
    """A token Google signed for the audience asked for, from an allowed account."""

    claims: Mapping[str, Any]
    digest: str  # token_digest of the token

    @property
    def ref(self) -> str:
        return self.digest[:8]

    @property
    def issued_at(self) -> datetime:
        """Its `iat`, on the wall clock."""
        return datetime.fromtimestamp(float(self.claims["iat"]), UTC)


@dataclass(frozen=True)
class Refused:
    """Why a token was refused (for the log, never for the caller), and which token it was."""

    reason: str
    ref: str  # token_ref, or "-" when there was no token

    def __str__(self) -> str:
        return f"{self.reason} (token {self.ref})"


def fetch_certificates(url: str) -> tuple[dict[str, str], float]:
    """Google's certificates from `url` ({kid: PEM}) and how long they may be cached."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as answer:
        body = answer.read(MAX_CERTS_BYTES + 1)
        cache_control = answer.headers.get("Cache-Control", "")
        age = answer.headers.get("Age", "")
    if len(body) > MAX_CERTS_BYTES:
        raise ValueError("the certificates are larger than 1 MiB")
    certs = json.loads(body)
    if not isinstance(certs, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in certs.items()
    ):
        raise ValueError("the certificates are not a JSON object of key id to PEM")
    return certs, max_age(cache_control, age)


def max_age(cache_control: str, age: str = "") -> float:
    """How many more seconds an answer may be used: its `max-age` less its `Age`, 0 when it may
    not be stored or says nothing, at most MAX_AGE_S."""
    said = cache_control.lower()
    if "no-store" in said or "no-cache" in said:
        return 0.0
    found = MAX_AGE.search(said)
    if found is None:
        return 0.0
    already = int(age) if age.strip().isdigit() else 0
    return float(max(0, min(int(found.group(1)), int(MAX_AGE_S)) - already))


class Certificates:
    """Google's certificates by key id: cached, fetched single-flight on the shared executor.

    A key id in the cache, within its max-age, costs a dictionary look-up. Otherwise one fetch
    is started if none is under way and the last started at least REFETCH_S ago (RETRY_S after
    a failure), and every caller that needs it awaits that same fetch; then the cache is read
    as it is (held past its max-age when a fetch is not due yet: Google serves a key well past
    the max-age of any one answer). So whatever is sent, Google is asked at most once a minute
    for key ids it does not publish, and no fetch ever runs on the event loop.
    """

    def __init__(
        self,
        url: str = GOOGLE_CERTS,
        *,
        fetch: Fetch = fetch_certificates,
        clock: Callable[[], float] = time.monotonic,
        refetch_s: float = REFETCH_S,
        retry_s: float = RETRY_S,
    ) -> None:
        self.url = url
        self._fetch = fetch
        self._clock = clock
        self._refetch_s = refetch_s
        self._retry_s = retry_s
        self._lock = threading.Lock()
        self._certs: dict[str, str] = {}
        self._fresh_until = float("-inf")
        self._next_fetch = float("-inf")
        self._fetching: Future[None] | None = None

    async def pem(self, kid: str) -> str | None:
        """The certificate (PEM) Google publishes under `kid`, or None."""
        with self._lock:
            now = self._clock()
            held = self._certs.get(kid)
            if held is not None and now < self._fresh_until:
                return held
            fetching = self._fetching
            if fetching is None and now >= self._next_fetch:
                self._next_fetch = now + self._refetch_s
                fetching = self._fetching = shared().submit(self._refresh)
        if fetching is not None:
            with contextlib.suppress(Exception):  # logged by _refresh: the cache answers
                await asyncio.wrap_future(fetching)
        with self._lock:
            return self._certs.get(kid)

    def _refresh(self) -> None:
        """One fetch (on a pool thread): the cache replaced, or the failure logged and raised."""
        try:
            certs, fresh_s = self._fetch(self.url)
        except Exception as exc:
            with self._lock:
                self._next_fetch = self._clock() + self._retry_s
                self._fetching = None
            log.warning(
                "Google's certificates could not be fetched from %s: %s", self.url, _said(exc)
            )
            raise
        with self._lock:
            self._certs = dict(certs)
            self._fresh_until = self._clock() + fresh_s
            self._fetching = None


class GoogleTokens:
    """Checks bearer tokens: Google-signed, for an audience, from allowed service accounts."""

    def __init__(self, certificates: Certificates, now: Callable[[], float] = time.time) -> None:
        self.certificates = certificates
        self._now = now

    async def check(
        self, authorization: str, audience: str, accounts: Sequence[str]
    ) -> Verified | Refused:
        """The token's claims when it is Google's, for `audience`, from one of `accounts`;
        else why not. Only a token that passes every cheap check leaves the event loop."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return Refused("no bearer token", "-")
        ref = token_ref(token)
        shaped = _shape(token)
        if isinstance(shaped, str):
            return Refused(shaped, ref)
        kid, claims = shaped
        wrong = _claims_refusal(claims, audience, accounts, self._now())
        if wrong is not None:
            return Refused(wrong, ref)
        pem = await self.certificates.pem(kid)
        if pem is None:
            return Refused(
                "signed under a key id Google does not publish (or its certificates could not "
                "be fetched)",
                ref,
            )
        loop = asyncio.get_running_loop()
        try:
            verified = await loop.run_in_executor(
                shared(), partial(_verify_signature, token, kid, pem, audience)
            )
        except Exception as exc:  # google-auth's errors quote the token: only the class is kept
            return Refused(f"the signature or claims do not verify ({type(exc).__name__})", ref)
        return Verified(verified, token_digest(token))


Verify = GoogleTokens  # what the endpoints are given (tests: one against a test CA)


def google_verifier(certs_url: str | None = None) -> GoogleTokens:
    """Tokens checked against Google's certificates: the process's one verifier (one cache,
    shared by the push and cron endpoints), or one of its own for `certs_url` (tests)."""
    if certs_url is None:
        return _google()
    return GoogleTokens(Certificates(certs_url))


@functools.cache
def _google() -> GoogleTokens:
    return GoogleTokens(Certificates(GOOGLE_CERTS))


def _shape(token: str) -> tuple[str, Mapping[str, Any]] | str:
    """The key id and the (unverified) claims of a well-formed RS256 JWT; else why it is not."""
    if len(token) > MAX_TOKEN_CHARS:
        return f"longer than {MAX_TOKEN_CHARS} characters: not a Google ID token"
    segments = token.split(".")
    if len(segments) != 3 or not all(SEGMENT.fullmatch(s) for s in segments):
        return "not a JWT (three base64url segments)"
    header, claims = _json_segment(segments[0]), _json_segment(segments[1])
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        return "the JWT header does not name alg RS256"
    kid = header.get("kid")
    if not isinstance(kid, str) or not 0 < len(kid) <= 128:
        return "the JWT header names no key id"
    if not isinstance(claims, dict):
        return "the JWT payload is not a JSON object"
    return kid, claims


def _json_segment(segment: str) -> object:
    try:
        return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        return None


def _claims_refusal(
    claims: Mapping[str, Any], audience: str, accounts: Sequence[str], now: float
) -> str | None:
    """Why claims (not yet verified) could never pass; None when they could."""
    if claims.get("aud") != audience:
        return "issued for another audience"
    if claims.get("iss") not in ISSUERS:
        return "not issued by Google"
    if claims.get("email") not in accounts:
        return "not signed for an allowed service account"
    if claims.get("email_verified") is not True:
        return "the service account's email is not verified"
    issued, expires = claims.get("iat"), claims.get("exp")
    if not _time(issued) or not _time(expires):
        return "no numeric iat and exp"
    if expires + SKEW_S < now:
        return "expired"
    if issued - SKEW_S > now:
        return "issued in the future"
    return None


def _time(value: object) -> TypeGuard[int | float]:
    """A JSON number of seconds: an int (any size), or a finite float; not a bool."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _verify_signature(token: str, kid: str, pem: str, audience: str) -> Mapping[str, Any]:
    """google-auth's verification: signature under `pem`, iat and exp, audience (a pool thread)."""
    from google.auth import jwt

    claims: Mapping[str, Any] = jwt.decode(  # type: ignore[no-untyped-call]
        token, certs={kid: pem}, audience=audience, clock_skew_in_seconds=SKEW_S
    )
    return claims


def _said(exc: Exception) -> str:
    """An exception in one short line (a fetch's failure names the URL, no token)."""
    return f"{type(exc).__name__}: {exc}"[:200]
