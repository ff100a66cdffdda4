"""The HTTP face: Starlette on uvicorn: /slack/events, /healthz, and Google-signed pushes and crons."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.request_verification.async_request_verification import (
    AsyncRequestVerification,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.cron_endpoint import CronEndpoint
from bot.deliveries import Deliveries, delivery_key_of
from bot.pubsub_push import PushEndpoint
from bot.request_gate import RequestGate, read
from infra.blocking import shared

HealthProbe = Callable[[], dict[str, str]]
log = logging.getLogger("opsbot.server")


SHUTDOWN_GRACE_S = 5  # seconds (uvicorn takes whole seconds)
START_SETTLE_S = 1.0  # start-up work waits this long at most for the first request to be answered
START_WORK_S = 60.0  # then, once it is done (or this long), what it made is frozen (see below)


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
    handler = AsyncSlackRequestHandler(bolt)
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
        """Bolt sees only verified, well-formed requests (bot/request_gate.py)."""
        body = await request.body()  # Starlette keeps it: Bolt's handler reads the same bytes
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
        try:
            answer = await handler.handle(request)
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
        if pubsub_push is None:
            return Response(status_code=401)
        status = await pubsub_push.handle(
            request.headers.get("authorization", ""), await request.body()
        )
        return Response(status_code=status)

    async def cron_job(request: Request) -> Response:
        if cron is None:
            return Response(status_code=401)
        status, body = await cron.handle(
            request.path_params["job"],
            request.headers.get("authorization", ""),
            request.headers.get("x-cloudscheduler-scheduletime"),
        )
        return JSONResponse(body, status_code=status) if body else Response(status_code=status)

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/pubsub/grading-complete", grading_complete, methods=["POST"]),
            Route("/cron/{job}", cron_job, methods=["POST"]),
        ],
    )


def _verified_here(bolt: AsyncApp, signing_secret: str) -> None:
    """Bolt's own signature check, taken out of the app this gate stands in front of.

    Every request reaches Bolt through `verified_events`, after the gate has checked the HMAC of
    the very bytes Bolt's handler then reads (Starlette keeps the body), under the same secret:
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
            )
        )
        self.sock = sock
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

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
