"""Process-wide knobs of a serving bot, set by `opsbot serve` and `opsbot sandbox` (never by the
app factory: a test or a benchmark that builds the app keeps its own process as it is)."""

from __future__ import annotations

import gc
import sys

GIL_SWITCH_INTERVAL_S = 0.001


def tune_for_serving() -> None:
    """Report work runs in threads beside the event loop; a short GIL switch interval hands the
    loop back to the acks within 1 ms instead of 5 (bench.ack_latency measures it)."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def freeze_long_lived() -> None:
    """Move every object alive now out of the garbage collector's sight.

    Measured (bench/ack_latency.py): the collector's full passes over the app's ~100 MB of
    modules and models stalled the event loop for 100 ms and more, several times a minute under
    load, which was the whole of opsbot's ack p99 excess over a minimal app. Objects alive after
    start-up live as long as the process; `gc.freeze()` (Python's documented remedy) keeps them
    out of every later collection.
    """
    gc.freeze()
