"""POST /pubsub/grading-complete: Pub/Sub's push of grading completions, Google-signed.

Pub/Sub push sends `Authorization: Bearer <OIDC token>` signed by Google for the subscription's
service account, with the audience the subscription names. The token is verified with
google-auth (signature against Google's certificates, expiry, issuer, audience), and its `email`
must be one of `[regrade] push_service_accounts`, verified. Anything else is 401 and changes
nothing. The body is Pub/Sub's push envelope: `{"message": {"data", "attributes", "messageId"},
"subscription"}`.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from adapters.pubsub import Received
from config import RegradeConfig

log = logging.getLogger("opsbot.server")
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


class PushEndpoint:
    def __init__(
        self,
        config: RegradeConfig,
        verify: Verify,
        on_completions: Callable[[list[Received]], Awaitable[None]],
    ) -> None:
        self.config = config
        self.verify = verify
        self.on_completions = on_completions

    def authorized(self, authorization: str) -> str | None:
        """None when the bearer token is Google's, for our audience, from an allowed account;
        else why not (logged, never shown)."""
        audience = self.config.push_audience
        if not audience or not self.config.push_service_accounts:
            return "the push endpoint is not configured ([regrade] push_audience)"
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "no bearer token"
        try:
            claims = self.verify(token, audience)
        except Exception as exc:  # google-auth raises ValueError and friends for a bad token
            return f"token refused: {type(exc).__name__}: {exc}"
        if claims.get("iss") not in ISSUERS:
            return f"issuer {claims.get('iss')!r} is not Google"
        if claims.get("email") not in self.config.push_service_accounts:
            return f"{claims.get('email')!r} is not an allowed push service account"
        if claims.get("email_verified") is not True:
            return "the token's email is not verified"
        return None

    async def handle(self, authorization: str, body: bytes) -> int:
        """The HTTP status for one push: 401 unauthorized, 400 not an envelope, else 204."""
        refused = self.authorized(authorization)
        if refused is not None:
            log.warning("refused a Pub/Sub push: %s", refused)
            return 401
        try:
            envelope = json.loads(body)
            message = envelope["message"]
            data = json.loads(base64.b64decode(message.get("data", "")) or b"{}")
        except (ValueError, KeyError, TypeError):
            return 400
        received = Received(
            ack_id="",
            message_id=str(message.get("messageId", "")),
            body=data if isinstance(data, dict) else {},
            attributes=dict(message.get("attributes") or {}),
        )
        await self.on_completions([received])
        return 204  # acknowledged: Pub/Sub does not deliver it again
