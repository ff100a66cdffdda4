"""Work already under way, by key: a repeated request points at it instead of starting it again."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable


class Claim:
    """One request's hold on a key; releasing it twice, or after another took the key, is a no-op."""

    def __init__(self, owner: InFlight, key: Hashable) -> None:
        self._owner, self.key = owner, key

    def release(self) -> None:
        self._owner._release(self)


class InFlight:
    """Claims made and released on the event loop (one thread), so no lock is needed.

    Per process: with several replicas, each dedupes its own requests (the store will share this
    when mutating commands need it).
    """

    def __init__(self) -> None:
        self._running: dict[Hashable, Claim] = {}

    def claim(self, key: Hashable) -> Claim | None:
        """A claim when the caller should do the work; None when it is already being done."""
        if key in self._running:
            return None
        claim = self._running[key] = Claim(self, key)
        return claim

    def _release(self, claim: Claim) -> None:
        if self._running.get(claim.key) is claim:
            del self._running[claim.key]

    def __len__(self) -> int:
        return len(self._running)


class ReportSlots:
    """At most N reports built at once in this process; the rest wait their turn, in order."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._semaphore: asyncio.Semaphore | None = None

    @property
    def semaphore(self) -> asyncio.Semaphore:
        if self._semaphore is None:  # made on the event loop that uses it
            self._semaphore = asyncio.Semaphore(self.limit)
        return self._semaphore

    @property
    def full(self) -> bool:
        return self.semaphore.locked()
