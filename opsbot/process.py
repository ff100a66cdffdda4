"""Process-wide knobs of a serving bot, set by `opsbot serve` and `opsbot sandbox` (never by the
app factory: a test or a benchmark that builds the app keeps its own process as it is)."""

from __future__ import annotations

import gc
import signal
import sys
import threading

from infra.stop_watchdog import STOP_GRACE_S, install_stop_watchdog, stopping

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


def stop_on_signals(grace_s: float = STOP_GRACE_S) -> None:
    """Ctrl-C (SIGINT) and SIGTERM stop the process in order, whatever it was started with.

    SIGINT raises KeyboardInterrupt (exit 130) even when the process inherited it ignored: a
    shell without job control starts a background job (`cmd &`, a test run or a script) with
    SIGINT and SIGQUIT ignored, and exec keeps an ignored signal ignored. uvicorn catches SIGINT
    while it serves, so the sandbox still stopped, but it then restored the inherited "ignore"
    and raised the signal again into nothing: the sandbox exited 0, as if it had ended on its
    own (the flaky `assert 0 == 130` of tests/e2e/test_sandbox_command.py), and a Ctrl-C before
    uvicorn served was lost. SIGTERM (`kill`, a process manager) ends it as Ctrl-C does, with
    143: cleanups (the published address, the emulators' files) still run. Installed first
    thing, so a signal during start-up stops it too.

    The first signal also arms a watchdog (infra/stop_watchdog.py): a stop still under way
    after `grace_s` writes every thread's stack to stderr and ends with the same status.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    install_stop_watchdog(grace_s)

    def stop(signum: int, frame: object) -> None:
        stopping(128 + signum)
        raise SystemExit(128 + signum)

    def interrupt(signum: int, frame: object) -> None:
        stopping(128 + signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, stop)
