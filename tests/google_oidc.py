"""Google's OIDC signing stood in for: a key and certificate made here, served on loopback as
Google serves its certificates (a JSON map of key id to PEM), verified exactly as in production
with that certificates URL.

The `google` fixture is a FakeGoogle, which unpacks as `(signer, certs_url)` as it always did;
a test may also make the endpoint slow (`delay_s`), say how long its answer may be cached
(`max_age`), add a key (`add_key`, Google's rotation) and count its fetches (`fetches`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

GATE_S = 10.0  # the longest an answer held by `FakeGoogle.gate` waits for it


def key_and_certificate(kid: str) -> tuple[crypt.RSASigner, str]:
    """A new RSA key as a signer with key id `kid`, and its self-signed certificate (PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-google")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    signer = crypt.RSASigner.from_string(pem, key_id=kid)  # type: ignore[no-untyped-call]
    return signer, cert.public_bytes(serialization.Encoding.PEM).decode()


class FakeGoogle:
    """Google's certificates endpoint on loopback, with a signer for its first key ("k1")."""

    def __init__(self) -> None:
        self.signer, first = key_and_certificate("k1")
        self.certs: dict[str, str] = {"k1": first}
        self.delay_s = 0.0  # how long each answer takes
        self.max_age: int | None = None  # Cache-Control: max-age of the answer, if any
        self.fetches = 0
        # when set, each answer waits for `gate` (at most GATE_S); `held_to_the_end`: one did not
        # see it opened in that time
        self.gate: threading.Event | None = None
        self.held_to_the_end = False
        self._lock = threading.Lock()
        google = self

        class Certs(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with google._lock:
                    google.fetches += 1
                    body = json.dumps(google.certs).encode()
                    delay, max_age, gate = google.delay_s, google.max_age, google.gate
                time.sleep(delay)
                if gate is not None and not gate.wait(GATE_S):
                    google.held_to_the_end = True
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if max_age is not None:
                    self.send_header("Cache-Control", f"public, max-age={max_age}, must-revalidate")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Certs)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}/"

    def __iter__(self) -> Iterator[Any]:
        return iter((self.signer, self.url))

    def __getitem__(self, index: int) -> Any:
        return (self.signer, self.url)[index]

    def add_key(self, kid: str) -> crypt.RSASigner:
        """Google publishes a new key: its signer."""
        signer, cert = key_and_certificate(kid)
        with self._lock:
            self.certs[kid] = cert
        return signer

    def reset(self) -> None:
        """Back to the first key, fast, uncached."""
        with self._lock:
            self.certs = {"k1": self.certs["k1"]}
            self.delay_s, self.max_age = 0.0, None
            self.gate, self.held_to_the_end = None, False

    def close(self) -> None:
        self._server.shutdown()


@pytest.fixture(scope="module")
def google() -> Iterator[FakeGoogle]:
    """Google's certificates and a signer (unpacks as `(signer, certs_url)`)."""
    fake = FakeGoogle()
    yield fake
    fake.close()


def id_token(signer: crypt.RSASigner, **claims: Any) -> str:
    """An ID token as Google signs one for a service account: `aud` and `email` given, any
    other claim overridable."""
    now = int(time.time())
    payload = {
        "iss": "https://accounts.google.com",
        "email_verified": True,
        "iat": now,
        "exp": now + 600,
        "sub": "1",
    } | claims
    encoded: bytes = jwt.encode(signer, payload)  # type: ignore[no-untyped-call]
    return encoded.decode()


def leaks(tokens: Iterable[str], texts: Iterable[str], width: int = 16) -> list[str]:
    """Each text that carries `width` or more characters of one of the tokens, in a row."""
    pieces = {
        token[start : start + width]
        for token in tokens
        for start in range(max(0, len(token) - width + 1))
    }
    return [
        text
        for text in texts
        if any(text[start : start + width] in pieces for start in range(len(text) - width + 1))
    ]
