"""The store, opened (and migrated) in the background once the server listens.

Importing SQLAlchemy and alembic and running migrations takes ~0.3 s; Slack's first request
after a cold start needs none of it, so it is not made to wait. /healthz answers 503 until the
store is open, and anything that needs the store waits for it (bounded).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from infra.background import Background, NotReady

if TYPE_CHECKING:
    from store.database import Database
    from store.rollouts import Store

STORE_WAIT_S = 30.0  # how long an action waits for a store still opening


class StoreNotReady(NotReady):
    """The store is still opening, or failed to open; the message says which."""


def _open(url: str, migrated: bool) -> Database:
    from store.database import Database  # SQLAlchemy and alembic: off the ack path

    return Database.open(url, migrated=migrated)


class BackgroundStore(Background["Database"]):
    """`Database.open(url)` on a thread of its own; `get` waits for it (bounded)."""

    def __init__(self, url: str, *, migrated: bool = True) -> None:
        """`migrated=False`: a reader's, opened only once the owner has migrated it."""
        super().__init__(lambda: _open(url, migrated), name="opsbot-store-open")
        self.url = url

    def failed(self, error: BaseException) -> StoreNotReady:
        return StoreNotReady(f"the store could not be opened: {error}")

    def still_opening(self) -> StoreNotReady:
        return StoreNotReady("the store is still being opened (migrations running)")

    def rollouts(self, clock: Callable[[], datetime], wait_s: float = STORE_WAIT_S) -> Store:
        """The rollout store on the open database (waiting up to `wait_s` for it to open)."""
        from store.rollouts import Store

        return Store(self.get(wait_s=wait_s), clock)

    def close(self) -> None:
        database = self.opened()
        if database is not None:
            database.close()
