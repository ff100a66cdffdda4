"""The git CLI for tests that check what opsbot reads against git's own answer."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git_out(cwd: Path, *args: str) -> str:
    """What `git ARGS` prints in `cwd`, stripped; fails the test if git fails."""
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()
