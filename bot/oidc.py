"""Google-signed OIDC tokens on our endpoints (Pub/Sub push, Cloud Scheduler): verified or refused.

Pub/Sub push and Cloud Scheduler both send `Authorization: Bearer <ID token>` signed by Google
for a service account, with the audience the subscription or job names. google-auth verifies
the signature against Google's certificates, the expiry and the audience; the issuer must be
Google's and the `email` one of those allowed, verified. Anything else is refused (401).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

ISSUERS = ("accounts.google.com", "https://accounts.google.com")
GOOGLE_CERTS = "https://www.googleapis.com/oauth2/v1/certs"
Verify = Callable[[str, str], Mapping[str, Any]]  # (token, audience) → claims, or raises


def google_verifier(certs_url: str = GOOGLE_CERTS) -> Verify:
    """google-auth's verification of a Google-signed ID token (certificates from `certs_url`)."""

    def verify(token: str, audience: str) -> Mapping[str, Any]:
        from google.auth.transport import requests as google_requests
        from google.oauth2 import id_token

        claims: Mapping[str, Any] = id_token.verify_token(
            token, google_requests.Request(), audience=audience, certs_url=certs_url
        )
        return claims

    return verify


def refusal(
    verify: Verify, authorization: str, audience: str | None, accounts: Sequence[str]
) -> str | None:
    """None when the bearer token is Google's, for `audience`, from one of `accounts`; else
    why not (for the log, never for the caller)."""
    if not audience or not accounts:
        return "the endpoint is not configured (no audience or allowed service accounts)"
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return "no bearer token"
    try:
        claims = verify(token, audience)
    except Exception as exc:  # google-auth raises ValueError and friends for a bad token
        return f"token refused: {type(exc).__name__}: {exc}"
    if claims.get("iss") not in ISSUERS:
        return f"issuer {claims.get('iss')!r} is not Google"
    if claims.get("email") not in accounts:
        return f"{claims.get('email')!r} is not an allowed service account"
    if claims.get("email_verified") is not True:
        return "the token's email is not verified"
    return None
