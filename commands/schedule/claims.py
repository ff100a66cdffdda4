"""A claimed run while its holder works: each write fenced by the claim, a heartbeat renewing it.

A holder killed mid-run stops renewing; its claim is then taken over after the silence window
(store/schedule_runs.py). A hung holder stops renewing once the lease is spent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from store.schedule_views import RunView

if TYPE_CHECKING:
    from store.schedule_runs import ScheduleRuns

log = logging.getLogger("opsbot.schedule")
HEARTBEAT_JOIN_S = 10.0  # a run's end waits this long at most for a renewal in flight


class ClaimLost(Exception):
    """This holder's claim was taken over (it went silent past the window): it stops."""


class Held:
    """A claimed run while its holder works: every write fenced by the claim, a heartbeat
    renewing it until the lease is spent (a hung holder then lets it lapse)."""

    def __init__(self, runs: ScheduleRuns, run: RunView) -> None:
        self.runs = runs
        self.run = run
        self.since = runs.now()
        self.lost = False
        self._lock = threading.Lock()

    def write(self, step: Callable[[RunView], RunView | None]) -> RunView:
        """`step` applied to the claim as held now; ClaimLost when it is no longer ours."""
        with self._lock:
            moved = None if self.lost else step(self.run)
            if moved is None:
                self.lost = True
                raise ClaimLost(f"{self.run.job} for {self.run.fire_time.isoformat()}")
            self.run = moved
            return moved

    def finish(self, **how: Any) -> bool:
        """The run's end recorded, if the claim is still ours."""
        with self._lock:
            return not self.lost and self.runs.finish(self.run, **how)

    def beat(self) -> bool:
        """Renew the claim; False once it is lost or the lease is spent (it is then left to lapse)."""
        if self.runs.now() - self.since >= self.runs.lease:
            log.warning("%s for %s: held past the lease; its claim is let lapse", *self._named())
            return False
        try:
            self.write(self.runs.renew)
        except ClaimLost:
            return False
        except Exception:  # the store did not answer: the next beat tries again
            log.warning("%s for %s: could not renew its claim", *self._named(), exc_info=True)
        return True

    def _named(self) -> tuple[str, str]:
        return self.run.job, self.run.fire_time.isoformat()


@contextmanager
def heartbeat(held: Held, every_s: float) -> Iterator[None]:
    """`held` renewed every `every_s` on a thread of its own while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s) and held.beat():
            pass

    thread = threading.Thread(target=beat, name="opsbot-claim-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(HEARTBEAT_JOIN_S)
