"""The store, opened (and migrated) in the background once the server listens.

Importing SQLAlchemy and alembic and running migrations takes ~0.3 s; Slack's first request
after a cold start needs none of it, so it is not made to wait. /healthz answers 503 until the
store is open, and anything that needs the store waits for it (bounded).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.database import Database
    from store.rollouts import Store

STORE_WAIT_S = 30.0  # how long an action waits for a store still opening


class StoreNotReady(Exception):
    """The store is still opening, or failed to open; the message says which."""


class BackgroundStore:
    """`Database.open(url)` on a thread of its own; `get` waits for it (bounded)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._database: Database | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._started = False
        self._starting = threading.Lock()

    def start(self) -> BackgroundStore:
        """Begin opening the store (once; later calls do nothing)."""
        with self._starting:
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="opsbot-store-open", daemon=True).start()
        return self

    def _run(self) -> None:
        from store.database import Database  # SQLAlchemy and alembic: off the ack path

        try:
            self._database = Database.open(self.url)
        except BaseException as exc:  # kept for whoever asks; the server keeps serving
            self._error = exc
        finally:
            self._done.set()

    @property
    def opening(self) -> bool:
        """Still opening: neither open nor failed yet."""
        return not self._done.is_set()

    def get(self, wait_s: float = 0.0) -> Database:
        """The open store; StoreNotReady if it is not open within `wait_s` or failed to open.
        Asking starts the opening if nothing has yet."""
        self.start()
        self._done.wait(wait_s)
        if self._error is not None:
            raise StoreNotReady(f"the store could not be opened: {self._error}")
        if self._database is None:
            raise StoreNotReady("the store is still being opened (migrations running)")
        return self._database

    def rollouts(self, clock: Callable[[], datetime], wait_s: float = STORE_WAIT_S) -> Store:
        """The rollout store on the open database (waiting up to `wait_s` for it to open)."""
        from store.rollouts import Store

        return Store(self.get(wait_s=wait_s), clock)

    def close(self) -> None:
        if self._database is not None:
            self._database.close()
