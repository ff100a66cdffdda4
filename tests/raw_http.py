"""HTTP/1.1 spoken over a bare socket: a request's head and as much of its body as one chooses.

urllib and http.client always send the body a request declares; a test or benchmark that
sends a head promising 200 MB and then a few bytes (or a body that never ends) needs this.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

READ_S = 10.0  # how long an answer is waited for
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer within READ_S
    closed: bool  # the server said `Connection: close` and closed (it reads no more of it)
    body: bytes = b""


def request_head(path: str, headers: dict[str, str]) -> bytes:
    """A POST's request line and headers."""
    lines = [f"POST {path} HTTP/1.1", "Host: opsbot.example"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked(body: bytes) -> list[bytes]:
    """`body` in chunked framing, CHUNK at a time, never ended: its last chunk is declared one
    byte longer than what is sent of it. A server that stops at a limit of `len(body) - 1` has
    read every byte sent when it answers, so it closes with nothing unread (no reset to lose
    the answer to); one that waits for the end never answers."""
    pieces = [body[start : start + CHUNK] for start in range(0, len(body), CHUNK)]
    framed = [b"%x\r\n%b\r\n" % (len(piece), piece) for piece in pieces[:-1]]
    return [*framed, b"%x\r\n%b" % (len(pieces[-1]) + 1, pieces[-1])]


def exchange(base_url: str, *parts: bytes, read_s: float = READ_S) -> Answer:
    """Send `parts` on a new connection to `base_url` and read the answer (each read bounded).

    They are sent at once: a server that answers from the head and closes must find the few
    bytes after it already arrived (or the close resets the connection, and the answer is lost
    with it), as a client's write right after the head would have them."""
    where = urlsplit(base_url)
    with socket.create_connection((where.hostname or "", where.port or 80), read_s) as sock:
        try:
            sock.sendall(b"".join(parts))
            return read_answer(sock)
        except TimeoutError:
            return Answer(0, closed=False)


def read_answer(sock: socket.socket) -> Answer:
    """The answer's status and body, and whether the server closed the connection after it:
    it said `Connection: close` and then closed (not merely idle past a keep-alive timeout)."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            return Answer(0, closed=True)
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    fields = dict(line.split(b":", 1) for line in lines[1:])
    length = int(fields.get(b"content-length", b"0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    closing = fields.get(b"connection", b"").strip() == b"close"
    return Answer(int(lines[0].split(b" ", 2)[1]), closing and sock.recv(1) == b"", body)
