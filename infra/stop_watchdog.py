"""Bounds an orderly stop: once a stop begins, a process still alive after a grace is ended.

An orderly stop waits on threads, a child process and servers; one of them hanging (seen in
three suite runs on a loaded machine and not reproduced since: a SIGTERM'd `opsbot sandbox`
still there after 30 s) leaves a Ctrl-C or a `kill` with no effect and nothing to say why.
Armed by the first stop signal (opsbot/process.py, and uvicorn's own handler in bot/server.py,
which takes the signals while it serves), the watchdog writes every thread's stack to stderr
with faulthandler, which takes no lock the hung code may hold, and exits with the signal's
status without running what is still pending. Cloud Run sends SIGKILL 10 s after SIGTERM anyway
(its container contract); locally this is what keeps a stop a stop, and says where it hung.
"""

from __future__ import annotations

import faulthandler
import os
import threading
import time

# An orderly stop takes under 2 s (uvicorn's grace for requests in flight is 5 s): past this it
# is hung.
STOP_GRACE_S = 20.0
STOP_HUNG_MARK = "opsbot: stop hung"


class StopWatchdog:
    """`arm(status)` once a stop begins; the process ends with `status` if still alive after
    `grace_s`."""

    def __init__(self, grace_s: float) -> None:
        self._grace_s = grace_s
        self._armed = threading.Event()

    def arm(self, status: int) -> None:
        if self._armed.is_set():
            return
        self._armed.set()
        threading.Thread(
            target=self._end_if_still_here, args=(status,), name="opsbot-stop-watchdog", daemon=True
        ).start()

    def _end_if_still_here(self, status: int) -> None:
        time.sleep(self._grace_s)  # a daemon thread: a stop in time ends it with the process
        said = (
            f"{STOP_HUNG_MARK}: the stop did not finish within {self._grace_s:g}s; "
            f"every thread's stack follows, and the process ends now with {status}\n"
        )
        os.write(2, said.encode())  # not sys.stderr: its lock may be held by the hung code
        faulthandler.dump_traceback(file=2, all_threads=True)
        os._exit(status)


_installed: StopWatchdog | None = None


def install_stop_watchdog(grace_s: float = STOP_GRACE_S) -> None:
    """This process's stops are bounded by `grace_s` from now on."""
    global _installed
    _installed = StopWatchdog(grace_s)


def stopping(status: int) -> None:
    """A stop has begun (by a signal meaning `status`): the installed watchdog, if any, is armed."""
    if _installed is not None:
        _installed.arm(status)
