"""The cold-start benchmark's peer: the smallest Bolt app on opsbot's server stack.

slack-bolt's AsyncApp with one /health listener that only acknowledges, behind Bolt's Starlette
adapter, served by uvicorn, configured from the same environment variables as `opsbot serve`
(SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, OPSBOT_SLACK_API_URL). It prints the same "serving Slack
at" line on stderr once it listens.

    python -m bench.minimal_app --port PORT [--profile opsbot.toml]

With --profile it also loads and validates an opsbot profile (pydantic) before it listens: the
least any bot configured as opsbot is must do, so the floor of opsbot's first ack and memory.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import Any

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--profile", help="an opsbot profile to load and validate first")
    options = parser.parse_args()
    if options.profile:
        from pathlib import Path

        from opsbot.profile import load_profile

        load_profile(Path(options.profile))
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["OPSBOT_SLACK_API_URL"]
    )
    bolt = AsyncApp(signing_secret=os.environ["SLACK_SIGNING_SECRET"], client=client)

    @bolt.command("/health")
    async def ack_only(ack: Any) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    app = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
    listening = socket.create_server(("127.0.0.1", options.port))  # as opsbot: bound, then said
    url = f"http://127.0.0.1:{options.port}"
    print(f"minimal app: serving Slack at {url}/slack/events", file=sys.stderr, flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listening])


if __name__ == "__main__":
    main()
