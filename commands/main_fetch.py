"""A serving bot's main: fetched in the background at most every `[git] fetch_interval_s`.

A report never waits on `git fetch`: it reads main as the checkout has it and says how fresh that
is. When the last fetch is older than the interval, one fetch starts in the background (never two
at once, however many reports ask); a failed fetch is logged and tried again at the next interval.
A terminal command still fetches before it reads (it runs once and must be current).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from infra.clock import utc_now

log = logging.getLogger("opsbot.git")


def _in_a_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="git-fetch", daemon=True).start()


class MainFetcher:
    def __init__(
        self,
        fetch: Callable[[], None],
        interval_s: float,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = utc_now,
        spawn: Callable[[Callable[[], None]], None] = _in_a_thread,
    ) -> None:
        self._fetch = fetch
        self._interval_s = interval_s
        self._monotonic, self._wall, self._spawn = monotonic, wall, spawn
        self._lock = threading.Lock()
        self._running = False
        self._started: float | None = None  # when the last fetch began (monotonic)
        self.fetched_at: datetime | None = None  # when main was last fetched successfully
        self.last_error: str | None = None

    def fresh_as_of(self) -> datetime | None:
        """When main was last fetched (None: not yet); starts a fetch when one is due."""
        with self._lock:
            due = self._started is None or self._monotonic() - self._started >= self._interval_s
            if due and not self._running:
                self._running = True
                self._started = self._monotonic()
                self._spawn(self._run)
            return self.fetched_at

    def _run(self) -> None:
        try:
            self._fetch()
        except Exception as exc:  # a failed fetch leaves main as it was; the next one may work
            log.warning("git fetch in the background failed: %s", exc)
            with self._lock:
                self.last_error, self._running = str(exc), False
            return
        with self._lock:
            self.fetched_at, self.last_error, self._running = self._wall(), None, False
