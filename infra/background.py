"""A value opened in the background, on a daemon thread of its own; `get` waits for it (bounded).

For what is slow to open and not needed at once (the store: SQLAlchemy, alembic, migrations):
the process serves meanwhile, and whoever needs the value waits for it, for a bounded time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Self, TypeVar

T = TypeVar("T")


class NotReady(Exception):
    """The value is still opening, or failed to open; the message says which."""


class Background(Generic[T]):
    """`opener()` on a daemon thread named `name`, started once; `get` waits for it (bounded).

    Subclasses say what is not ready in their own words (`failed`, `still_opening`)."""

    def __init__(self, opener: Callable[[], T], *, name: str) -> None:
        self._opener = opener
        self._name = name
        self._value: list[T] = []
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._started = False
        self._starting = threading.Lock()

    def start(self) -> Self:
        """Begin opening (once; later calls do nothing)."""
        with self._starting:
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name=self._name, daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            self._value.append(self._opener())
        except BaseException as exc:  # kept for whoever asks; the process keeps serving
            self._error = exc
        finally:
            self._done.set()

    @property
    def opening(self) -> bool:
        """Still opening: neither open nor failed yet."""
        return not self._done.is_set()

    def get(self, wait_s: float = 0.0) -> T:
        """The open value; NotReady if it is not open within `wait_s` or failed to open.
        Asking starts the opening if nothing has yet."""
        self.start()
        self._done.wait(wait_s)
        if self._error is not None:
            raise self.failed(self._error)
        if not self._value:
            raise self.still_opening()
        return self._value[0]

    def opened(self) -> T | None:
        """The value if it is open now, else None (without starting or waiting)."""
        return self._value[0] if self._value else None

    def failed(self, error: BaseException) -> NotReady:
        return NotReady(f"could not be opened: {error}")

    def still_opening(self) -> NotReady:
        return NotReady("still being opened")
