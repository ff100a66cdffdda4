"""The HTTP face: Starlette on uvicorn: /slack/events, /healthz, and Google-signed pushes and crons."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from types import FrameType
from typing import Any

import aiohttp
import uvicorn
from slack_bolt.adapter.starlette.async_handler import (
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.request_verification.async_request_verification import (
    AsyncRequestVerification,
)
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bot.cron_endpoint import CRON_MAX_BODY_BYTES, CronEndpoint
from bot.deliveries import Deliveries, delivery_key_of
from bot.pubsub_push import PUSH_MAX_BODY_BYTES, PushEndpoint
from bot.request_gate import SLACK_MAX_BODY_BYTES, RequestGate, read
from infra.blocking import shared
from infra.stop_watchdog import stopping

HealthProbe = Callable[[], dict[str, str]]
log = logging.getLogger("opsbot.server")


SHUTDOWN_GRACE_S = 5  # seconds (uvicorn takes whole seconds)
START_SETTLE_S = 1.0  # start-up work waits this long at most for the first request to be answered
START_WORK_S = 60.0  # then, once it is done (or this long), what it made is frozen (see below)
# A request line and headers longer than this are refused with 431 (BoundedHead). Cloud
# Scheduler's headers (those a job sets) are under 80 KB, as its HttpTarget documents; Slack's
# and Pub/Sub's are a few hundred bytes with the token.
MAX_HEAD_BYTES = 128 * 1024
HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-length: 0\r\nconnection: close\r\n\r\n"
)


async def _start_when_settled(
    on_start: Sequence[Callable[[], Coroutine[Any, Any, Any]]],
    first_answered: asyncio.Event,
    settled: Callable[[], None],
) -> None:
    """Run the start-up work once the first request is answered (or START_SETTLE_S passed).

    After a cold start the first request is usually the one that woke the bot: opening the
    store (SQLAlchemy, alembic, migrations) or starting the /health worker beside it would take
    the CPU and the GIL its acknowledgement needs.
    """
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(first_answered.wait(), START_SETTLE_S)
    tasks = [asyncio.create_task(start()) for start in on_start]
    for task in tasks:
        task.add_done_callback(_log_failure)
    if tasks:
        await asyncio.wait(tasks, timeout=START_WORK_S)
    settled()  # what start-up made (the store's modules, the clients) lives on too


def asgi_app(
    bolt: AsyncApp,
    probe: HealthProbe,
    signing_secret: str,
    on_start: Sequence[Callable[[], Coroutine[Any, Any, Any]]] = (),
    deliveries: Deliveries | None = None,
    pubsub_push: PushEndpoint | None = None,
    cron: CronEndpoint | None = None,
    settled: Callable[[], None] = lambda: None,
) -> Starlette:
    """`on_start`: run once the server listens and its first request is answered (or a second
    has passed), e.g. open the store, ask who the bot is, resume rollouts.
    `deliveries`: what was served already, so Slack's retries are not acted on twice.
    `pubsub_push`: grading completions pushed by Pub/Sub (401 without a Google-signed token).
    `cron`: scheduled jobs called by Cloud Scheduler (401 without a Google-signed token).
    `settled`: called once the app is up and again once start-up work is done (the process's
    owner freezes what is alive then: opsbot/process.py)."""
    gate = RequestGate(signing_secret)
    _verified_here(bolt, signing_secret)
    served = deliveries or Deliveries()
    first_answered = asyncio.Event()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        """One HTTP session for the Web API client: kept-alive connections, not one per call."""
        session = aiohttp.ClientSession()
        bolt.client.session = session
        # asyncio.to_thread on daemon threads: a stop never waits on a call left hanging
        asyncio.get_running_loop().set_default_executor(shared())
        settled()  # the app, its listeners and views: alive as long as the process
        starting = asyncio.create_task(_start_when_settled(on_start, first_answered, settled))
        starting.add_done_callback(_log_failure)
        try:
            yield
        finally:
            bolt.client.session = None
            await session.close()

    async def events(request: Request) -> Response:
        try:
            return await verified_events(request)
        finally:
            first_answered.set()

    async def verified_events(request: Request) -> Response:
        """Bolt sees only verified, well-formed requests (bot/request_gate.py), of at most
        SLACK_MAX_BODY_BYTES: a longer body is refused before it is read, or as it passes it."""
        body = await body_within(request, SLACK_MAX_BODY_BYTES)
        if body is None:
            return too_large(request, SLACK_MAX_BODY_BYTES)
        if not gate.verified(body, request.headers):
            log.warning("refused a request that is not signed by Slack (or is stale): 401")
            return Response(status_code=401)
        reading = read(body, request.headers.get("content-type", ""))
        if reading.problem is not None:
            log.warning("refused a signed request that Slack would not send: %s", reading.problem)
            return Response(reading.problem, status_code=400, media_type="text/plain")
        key = delivery_key_of(body, reading)  # from the fields the gate parsed: read once
        retry = request.headers.get("x-slack-retry-num")
        if await served.is_repeat_of(key, retry):
            log.info(
                "Slack's retry %s of a request already served: acknowledged, not acted on", retry
            )
            return Response(status_code=200)
        status = 500  # unless Bolt answers: a failure lets Slack's retry through
        try:  # what Bolt's Starlette handler does with a POST, given the bytes read here
            answer = to_starlette_response(
                await bolt.async_dispatch(to_async_bolt_request(request, body))
            )
            status = answer.status_code
            return answer
        finally:
            served.answered_of(key, status)

    async def healthz(request: Request) -> Response:
        """200 when the bot can serve; 503 otherwise. Unauthenticated: it says which part is not
        ready, never where or why (the probe logs that)."""
        try:
            said = probe()
        except Exception:
            log.exception("/healthz: the probe failed")
            said = {"status": "unavailable"}
        return JSONResponse(said, status_code=200 if said.get("status") == "ok" else 503)

    async def grading_complete(request: Request) -> Response:
        """The body is read only once the token is Google's, and only up to its limit."""
        if pubsub_push is None:
            return Response(status_code=401)
        if declared_over(request.headers, PUSH_MAX_BODY_BYTES):
            return too_large(request, PUSH_MAX_BODY_BYTES)
        if await pubsub_push.authorize(request.headers.get("authorization", "")) is None:
            return Response(status_code=401)
        body = await body_within(request, PUSH_MAX_BODY_BYTES)
        if body is None:
            return too_large(request, PUSH_MAX_BODY_BYTES)
        return Response(status_code=await pubsub_push.deliver(body))

    async def cron_job(request: Request) -> Response:
        """The body is never read (Cloud Scheduler's says nothing the endpoint uses)."""
        if cron is None:
            return Response(status_code=401)
        if declared_over(request.headers, CRON_MAX_BODY_BYTES):
            return too_large(request, CRON_MAX_BODY_BYTES)
        status, body = await cron.handle(
            request.path_params["job"],
            request.headers.get("authorization", ""),
            request.headers.get("x-cloudscheduler-scheduletime"),
        )
        return JSONResponse(body, status_code=status) if body else Response(status_code=status)

    return Starlette(
        lifespan=lifespan,
        middleware=[Middleware(CloseUnread)],
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/pubsub/grading-complete", grading_complete, methods=["POST"]),
            Route("/cron/{job}", cron_job, methods=["POST"]),
        ],
    )


def declared_over(headers: Mapping[str, str], limit: int) -> bool:
    """The request's Content-Length says its body is longer than `limit` bytes."""
    declared = headers.get("content-length", "")
    if not (declared.isascii() and declared.isdigit()):
        return False  # none (chunked): counted as it is read
    return len(declared) > 18 or int(declared) > limit  # int() refuses 4,300 digits and more


async def body_within(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is longer than `limit` bytes: known from its Content-Length
    before any of it is read, or else as it is read, at the chunk that passes `limit` (nothing
    after it is read)."""
    if declared_over(request.headers, limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async with aclosing(request.stream()) as stream:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def too_large(request: Request, limit: int) -> Response:
    """413, logged in one line (CloseUnread closes the connection: the rest is never read)."""
    log.warning("refused a body over %d bytes at %s: 413", limit, request.url.path[:80])
    return Response(status_code=413)


class CloseUnread:
    """ASGI middleware: an answer to a request whose body was not read to its end says
    `Connection: close`, and uvicorn closes the connection once it is sent.

    Otherwise uvicorn keeps the connection and goes on reading the rest of the body (to drop
    it) before the next request: a refusal would not stop a 200 MB upload, only its keeping.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ended = not _has_body(scope)

        async def receiving() -> Message:
            nonlocal ended
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                ended = True
            return message

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and not ended:
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receiving, sending)


def _has_body(scope: Scope) -> bool:
    """The request says a body follows: a Content-Length other than 0, or a Transfer-Encoding."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


class BoundedHead(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol on httptools (its default here, and the faster), refusing with
    431 a request line and headers longer than MAX_HEAD_BYTES, and closing the connection.

    httptools keeps an unfinished header's bytes and uvicorn the URL's, with no limit of their
    own (h11 has one, 16 KiB, but parses in Python): one header sent without end grew the process
    by 200 MB for each 100 MB sent. Every read while a head is unfinished is counted, from the
    first read after the last request ended; a read that also finishes a request and starts the
    next is not, so a head holds at most MAX_HEAD_BYTES and two reads.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = True

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > MAX_HEAD_BYTES:
            self._refuse_head()

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes = False, 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True

    def _refuse_head(self) -> None:
        if self.transport.is_closing():
            return
        log.warning("refused a request whose head is over %d bytes: 431", MAX_HEAD_BYTES)
        self.transport.write(HEAD_TOO_LARGE)
        self.transport.close()


def _verified_here(bolt: AsyncApp, signing_secret: str) -> None:
    """Bolt's own signature check, taken out of the app this gate stands in front of.

    Every request reaches Bolt through `verified_events`, after the gate has checked the HMAC of
    the very bytes then handed to Bolt (read once, bounded), under the same secret:
    Bolt's AsyncRequestVerification would only take that HMAC again, on every acknowledgement.
    It is removed only when the app was built with the gate's secret; an app served over Socket
    Mode is built apart (opsbot/serve.py) and keeps it (Bolt skips it there anyway). Should Bolt
    ever keep its middleware elsewhere, nothing is removed and both checks run (never fewer).
    """
    chain = getattr(bolt, "_async_middleware_list", None)
    if not isinstance(chain, list) or getattr(bolt, "_signing_secret", None) != signing_secret:
        return
    chain[:] = [m for m in chain if not isinstance(m, AsyncRequestVerification)]


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("start-up task failed", exc_info=task.exception())


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free port), bound before the server starts.

    IPPROTO_TCP is named on purpose: asyncio sets TCP_NODELAY only on sockets whose protocol says
    TCP, and without it an ack with a body (headers and body written apart) waits ~40 ms for the
    peer's delayed ACK (Nagle).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Server(uvicorn.Server):
    """uvicorn, with a started event other threads can wait on."""

    def __init__(self, app: Starlette, sock: socket.socket) -> None:
        # A stop waits at most SHUTDOWN_GRACE_S for requests in flight, then cancels them: Cloud
        # Run kills a container 10 s after SIGTERM, and a connection that never closed (seen
        # under load in `opsbot sandbox`) held uvicorn's unbounded default wait forever.
        super().__init__(
            uvicorn.Config(
                app,
                log_level="warning",
                lifespan="on",
                access_log=False,
                timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
                http=BoundedHead,
            )
        )
        self.sock = sock
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """uvicorn takes SIGINT and SIGTERM while it serves: a stop begun here is bounded too."""
        stopping(128 + sig)
        super().handle_exit(sig, frame)

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        self.run(sockets=[self.sock])

    def start_in_thread(self, timeout_s: float = 10.0) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="opsbot-http", daemon=True)
        thread.start()
        if not self.ready.wait(timeout_s):
            raise RuntimeError(f"the HTTP server did not start within {timeout_s:g}s")
        return thread

    def stop(self, thread: threading.Thread, timeout_s: float = 10.0) -> None:
        self.should_exit = True
        thread.join(timeout_s)
