"""The deploy tests' platform: one DeployWorld per test (a module may define its own `world`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.deploy_world import DeployWorld, deploy_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[DeployWorld]:
    with deploy_world(tmp_path) as built:
        yield built
