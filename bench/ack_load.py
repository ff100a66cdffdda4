"""Load generator for the ack benchmarks, run in its own process: N senders of signed requests.

    python -m bench.ack_load URL[,URL...] SECRET --senders 50 --per-sender 10 [--mode today|distinct|help]
    python -m bench.ack_load URL[,URL...] SECRET --senders 100 --per-sender 1 --payload-file CLICK.json

Each sender is a thread with its own keep-alive connection (http.client), as Slack's delivery
keeps connections to an app; sender i posts to URL i mod the number of URLs (replicas). A
`--payload-file` sends that interaction payload (a click) instead of a /health command. Prints
one JSON object: every ack's latency in seconds, and the HTTP statuses seen.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time
from datetime import date, timedelta
from urllib.parse import urlencode, urlsplit

from slack_sdk.signature import SignatureVerifier

FIELDS = {
    "team_id": "T0SANDBOX1",
    "channel_id": "C0HEALTH01",
    "channel_name": "orchestration-health",
    "user_id": "U0DANAONCL",
    "user_name": "dana",
    "command": "/health",
    "trigger_id": "1.2.3",
}


def command_body(response_url: str, text: str) -> str:
    return urlencode(FIELDS | {"response_url": response_url, "text": text})


def sender(
    url: str,
    secret: str,
    count: int,
    body: str,
    start: threading.Barrier,
    seen: list[tuple[float, int]],
) -> None:
    parts = urlsplit(url)
    verifier = SignatureVerifier(secret)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    connection.connect()  # connections are open before the clock starts, as Slack keeps them
    start.wait()
    for _ in range(count):
        seen.append(signed_post(connection, parts.path, verifier, body))
    connection.close()


def signed_post(
    connection: http.client.HTTPConnection, path: str, verifier: SignatureVerifier, body: str
) -> tuple[float, int]:
    """POST `body` signed as Slack signs it, on a kept-alive connection: seconds and status."""
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body) or "",
    }
    started = time.perf_counter()
    connection.request("POST", path, body, headers)
    answer = connection.getresponse()
    answer.read()
    return time.perf_counter() - started, answer.status


def main(
    urls: list[str],
    secret: str,
    senders: int,
    per_sender: int,
    response_url: str,
    mode: str,
    payload_file: str | None = None,
) -> None:
    if payload_file is not None:
        with open(payload_file) as file:
            bodies = [urlencode({"payload": file.read()})] * senders
    else:
        days = [(date(2025, 12, 1) + timedelta(days=i)).isoformat() for i in range(senders)]
        texts = {"today": [""] * senders, "distinct": days, "help": ["help"] * senders}[mode]
        bodies = [command_body(response_url, text) for text in texts]
    start = threading.Barrier(senders)
    results: list[list[tuple[float, int]]] = [[] for _ in range(senders)]
    threads = [
        threading.Thread(
            target=sender,
            args=(urls[i % len(urls)], secret, per_sender, body, start, results[i]),
        )
        for i, body in enumerate(bodies)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flat = [item for result in results for item in result]
    print(json.dumps({"latencies": [s for s, _ in flat], "statuses": sorted({c for _, c in flat})}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("urls", help="the app's /slack/events URL; several, comma-separated")
    parser.add_argument("secret")
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--per-sender", type=int, default=10)
    parser.add_argument("--response-url", default="http://127.0.0.1:9/none")
    parser.add_argument(
        "--mode",
        choices=["today", "distinct", "help"],
        default="today",
        help="today: all ask for today; distinct: each sender its own game day; help: usage only",
    )
    parser.add_argument("--payload-file", help="send this interaction payload (JSON) instead")
    options = parser.parse_args()
    main(
        options.urls.split(","),
        options.secret,
        options.senders,
        options.per_sender,
        options.response_url,
        options.mode,
        options.payload_file,
    )
