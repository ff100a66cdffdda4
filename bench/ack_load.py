"""Load generator for bench.ack_latency, run in its own process: N senders of signed commands.

    python -m bench.ack_load URL SECRET --senders 50 --per-sender 10 [--mode today|distinct|help]

Each sender is a thread with its own keep-alive connection (http.client), as Slack's delivery
keeps connections to an app. Prints one JSON object: every ack's latency in seconds, and the
HTTP statuses seen.
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


def sender(
    url: str,
    secret: str,
    count: int,
    response_url: str,
    text: str,
    start: threading.Barrier,
    seen: list[tuple[float, int]],
) -> None:
    parts = urlsplit(url)
    verifier = SignatureVerifier(secret)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    connection.connect()  # connections are open before the clock starts, as Slack keeps them
    start.wait()
    for _ in range(count):
        body = urlencode(FIELDS | {"response_url": response_url, "text": text})
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body) or "",
        }
        started = time.perf_counter()
        connection.request("POST", parts.path, body, headers)
        answer = connection.getresponse()
        answer.read()
        seen.append((time.perf_counter() - started, answer.status))
    connection.close()


def main(
    url: str, secret: str, senders: int, per_sender: int, response_url: str, mode: str
) -> None:
    days = [(date(2025, 12, 1) + timedelta(days=i)).isoformat() for i in range(senders)]
    texts = {"today": [""] * senders, "distinct": days, "help": ["help"] * senders}[mode]
    start = threading.Barrier(senders)
    results: list[list[tuple[float, int]]] = [[] for _ in range(senders)]
    threads = [
        threading.Thread(
            target=sender, args=(url, secret, per_sender, response_url, text, start, results[i])
        )
        for i, text in enumerate(texts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flat = [item for result in results for item in result]
    print(json.dumps({"latencies": [s for s, _ in flat], "statuses": sorted({c for _, c in flat})}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
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
    options = parser.parse_args()
    main(
        options.url,
        options.secret,
        options.senders,
        options.per_sender,
        options.response_url,
        options.mode,
    )
