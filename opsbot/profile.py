"""The profile as every entry point loads it: the file validated, check and job names against
their registries."""

from __future__ import annotations

from pathlib import Path

from checks.registry import CHECK_NAMES
from commands.schedule.registry import JOB_IDS
from config import Profile
from config import load_profile as load_validated


def load_profile(path: Path | None = None) -> Profile:
    """--config, $OPSBOT_CONFIG, ./opsbot.toml or the shipped profile; ConfigError when invalid."""
    return load_validated(path, known_checks=CHECK_NAMES, known_jobs=JOB_IDS)
