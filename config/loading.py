"""Finding, reading and validating the profile; errors name the file, the key and the reason."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Collection
from pathlib import Path

from pydantic import ValidationError

from config.profile import KNOWN_CHECKS, Profile
from config.schedule import KNOWN_JOBS


class ConfigError(Exception):
    """The profile cannot be read or is invalid; the message names the file, key and reason."""


def _default_profile_path() -> Path:
    """The profile shipped with opsbot: next to the package in a checkout, inside it in a wheel."""
    package_dir = Path(__file__).resolve().parent
    for candidate in (package_dir.parent / "opsbot.toml", package_dir / "opsbot.toml"):
        if candidate.is_file():
            return candidate
    return package_dir.parent / "opsbot.toml"


def resolve_profile_path(path: Path | None) -> Path:
    """--config, else $OPSBOT_CONFIG, else ./opsbot.toml, else the profile shipped with opsbot."""
    if path is not None:
        return path
    if env_path := os.environ.get("OPSBOT_CONFIG"):
        return Path(env_path)
    local = Path.cwd() / "opsbot.toml"
    return local if local.is_file() else _default_profile_path()


def _format_error(path: Path, error: ValidationError) -> str:
    """Every problem, each with its key: one on the line, several one per line below it."""
    problems = []
    for found in error.errors():
        key = ".".join(str(part) for part in found["loc"]) or "(top level)"
        message = found["msg"].removeprefix("Value error, ")
        if found["type"] == "extra_forbidden":
            message = "unknown key (check the spelling)"
        problems.append(f"{key}: {message}")
    if len(problems) == 1:
        return f"{path}: {problems[0]}"
    return f"{path}: {len(problems)} problems\n" + "\n".join(f"  {p}" for p in problems)


def load_profile(
    path: Path | None, *, known_checks: Collection[str], known_jobs: Collection[str]
) -> Profile:
    """Read and validate the profile; raise ConfigError naming the key and the reason.

    `known_checks`, `known_jobs`: the names the check and job registries have, so the profile's
    are validated without config importing either.
    """
    resolved = resolve_profile_path(path)
    try:
        data = tomllib.loads(resolved.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{resolved}: no such file (pass --config PATH)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{resolved}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{resolved}: not valid TOML: {exc}") from None
    try:
        context = {KNOWN_CHECKS: list(known_checks), KNOWN_JOBS: list(known_jobs)}
        return Profile.model_validate(data, context=context)
    except ValidationError as exc:
        raise ConfigError(_format_error(resolved, exc)) from None
