"""Clients opened once per process: racing first callers share one build; a failure is retried."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from infra.once import Once


def test_racing_callers_share_the_one_value_built() -> None:
    builds: list[object] = []
    gate = threading.Event()

    def build() -> object:
        gate.wait(5)
        builds.append(object())
        return builds[-1]

    shared = Once(build)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(shared) for _ in range(8)]
        gate.set()
        values = {id(f.result(5)) for f in futures}
    assert len(builds) == 1 and values == {id(builds[0])}


def test_a_failed_build_is_not_kept_and_the_next_call_builds_again() -> None:
    attempts: list[str] = []

    def build() -> str:
        attempts.append("tried")
        if len(attempts) == 1:
            raise RuntimeError("store not ready")
        return "tools"

    shared = Once(build)
    with pytest.raises(RuntimeError, match="store not ready"):
        shared()
    assert shared() == "tools" and shared() == "tools" and len(attempts) == 2
