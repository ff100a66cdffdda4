"""Work already under way, by key: a repeated request points at it instead of starting it again."""

from __future__ import annotations

from collections.abc import Hashable


class InFlight:
    """Claims made and released on the event loop (one thread), so no lock is needed.

    Per process: with several replicas, each dedupes its own requests (the store will share this
    when mutating commands need it).
    """

    def __init__(self) -> None:
        self._running: set[Hashable] = set()

    def claim(self, key: Hashable) -> bool:
        """True when the caller should do the work; False when it is already being done."""
        if key in self._running:
            return False
        self._running.add(key)
        return True

    def release(self, key: Hashable) -> None:
        self._running.discard(key)

    def __len__(self) -> int:
        return len(self._running)
