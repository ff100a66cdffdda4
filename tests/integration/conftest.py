"""The integration tests' shared parts: a deploy world per test, a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.integration.deploy_world import DeployWorld, deploy_world


class Clock:
    """The time a test sets (jobs, reminders, rollouts read it)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world(tmp_path: Path) -> Iterator[DeployWorld]:
    with deploy_world(tmp_path) as built:
        yield built
