"""A small JSON-over-HTTP server on loopback for the sandbox's Google API emulators."""

from __future__ import annotations

import json
import sys
import threading
from abc import ABC, abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

# serve_forever checks for shutdown this often: socketserver's default (0.5 s) made stopping the
# sandbox's four HTTP emulators one after another take up to 2 s of a 3 s command.
SHUTDOWN_POLL_S = 0.05


class GoogleApiError(Exception):
    """An error a Google API would return, in its JSON shape (the client maps the code)."""

    STATUS: ClassVar[dict[int, str]] = {
        400: "INVALID_ARGUMENT",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        409: "ALREADY_EXISTS",
        412: "FAILED_PRECONDITION",
    }

    def __init__(self, code: int, reason: str, message: str, *, status: str | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.status = status or self.STATUS.get(code, "INTERNAL")

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "errors": [{"message": self.message, "domain": "global", "reason": self.reason}],
                "status": self.status,
            }
        }


Query = dict[str, list[str]]


class JsonApi(ABC):
    """One emulated API: start it, route requests to `route`, stop it."""

    thread_name: ClassVar[str] = "json-api"

    def __init__(self) -> None:
        self._server: _Server | None = None
        self.stopping = threading.Event()

    @abstractmethod
    def route(self, method: str, path: str, query: Query, body: dict[str, Any]) -> dict[str, Any]:
        """The JSON answer to one request; raise GoogleApiError for an error answer."""

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = _Server((host, port), handler)
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_S},
            name=self.thread_name,
            daemon=True,
        ).start()
        return self.url

    @property
    def connections(self) -> int:
        """TCP connections accepted since start (HTTP/1.1 keep-alive reuses them)."""
        return self._server.connections if self._server is not None else 0

    @property
    def url(self) -> str:
        assert self._server is not None, "emulator not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5: eight clients connecting at once overflowed it,
    # the kernel dropped their SYNs and they retried a second later (TCP's initial timeout). A
    # Google front end accepts them all; so does the emulator.
    request_queue_size = 128
    connections = 0  # accepted so far: a client that pools its connections keeps this low

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1  # the serving thread only: no lock needed
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timed out) closes its socket: not an emulator error."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    api: JsonApi
    protocol_version = "HTTP/1.1"
    # Google's front ends answer at once. A keep-alive server writing the headers and the body in
    # two sends would meet Nagle's algorithm and the client's delayed ACK (40 ms on Linux) on
    # every call; TCP_NODELAY keeps the emulator's latency what the fault plan says it is.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read their own output
        pass

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return {}
        try:
            parsed = json.loads(self.rfile.read(length))
        except json.JSONDecodeError:
            raise GoogleApiError(
                400, "parseError", "Parse Error: request body is not JSON"
            ) from None
        if not isinstance(parsed, dict):
            raise GoogleApiError(400, "invalid", "Invalid JSON payload: expected an object")
        return parsed

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        try:
            body = self._body() if method in ("POST", "PATCH") else {}
            self._send(200, self.api.route(method, parts.path, parse_qs(parts.query), body))
        except GoogleApiError as exc:
            self._send(exc.code, exc.body())

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")
