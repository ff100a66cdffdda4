"""A value built on first use, by one thread at a time, and shared by every caller after that."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Once(Generic[T]):
    """Calls `build` until it succeeds once, then returns that value; a failure is not kept."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._value: list[T] = []
        self.failure: str | None = None  # why the last build failed, until one succeeds

    @property
    def state(self) -> str:
        """One of: ready; opening (not built yet); unavailable: why (the last build failed)."""
        if self._value:
            return "ready"
        return f"unavailable: {self.failure}" if self.failure else "opening"

    def __call__(self) -> T:
        with self._lock:
            if not self._value:
                try:
                    self._value.append(self._build())
                except Exception as exc:
                    self.failure = str(exc) or type(exc).__name__
                    raise
                self.failure = None
            return self._value[0]
