"""Google's OIDC signing stood in for: a key and certificate made here, served on loopback as
Google serves its certificates (a JSON map of key id to PEM), verified by google-auth exactly as
in production with that certificates URL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt


@pytest.fixture(scope="module")
def google() -> Iterator[tuple[crypt.RSASigner, str]]:
    """A signer and the URL of its certificate, in Google's certificates format."""
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
    certs = json.dumps({"k1": cert.public_bytes(serialization.Encoding.PEM).decode()}).encode()

    class Certs(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(certs)))
            self.end_headers()
            self.wfile.write(certs)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Certs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    signer = crypt.RSASigner.from_string(pem, key_id="k1")  # type: ignore[no-untyped-call]
    yield signer, f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


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
