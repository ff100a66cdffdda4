"""A value opened in the background: asking waits for it (bounded), and says why it is not ready."""

from __future__ import annotations

import threading

import pytest

from infra.background import Background, NotReady


def test_a_value_still_opening_is_not_ready_and_then_is_the_one_opened() -> None:
    release = threading.Event()
    opened = Background(lambda: release.wait(5) and "value", name="test-open")
    assert opened.opening
    with pytest.raises(NotReady, match="still being opened"):
        opened.get(wait_s=0.05)  # asking starts the opening
    release.set()
    assert opened.get(wait_s=5) == "value" and opened.get() == "value"
    assert not opened.opening and opened.opened() == "value"


def test_a_failed_opening_is_kept_and_told_to_whoever_asks() -> None:
    def fail() -> str:
        raise OSError("no such host")

    failing = Background(fail, name="test-open").start()
    with pytest.raises(NotReady, match="could not be opened: no such host"):
        failing.get(wait_s=5)
    assert not failing.opening and failing.opened() is None
