"""What every operation's request is parsed with: services by name, commits by (short) SHA."""

from __future__ import annotations

from adapters.git import SHA_LIKE
from commands.errors import RequestError
from config import Profile, ServiceConfig


def select_services(profile: Profile, names: list[str]) -> list[ServiceConfig]:
    """The named services (all when none are named), or a RequestError listing the known ones."""
    if not names:
        return list(profile.services)
    known = [s.name for s in profile.services]
    unknown = [name for name in names if profile.service(name) is None]
    if unknown:
        raise RequestError(
            f"unknown service {', '.join(repr(n) for n in unknown)}; known: {', '.join(known)}"
        )
    return [s for s in profile.services if s.name in names]


def parse_commit_ref(text: str) -> str:
    """An abbreviated or full commit SHA typed by a person, or a RequestError."""
    cleaned = text.strip()
    if not SHA_LIKE.match(cleaned):
        raise RequestError(f"bad commit {text!r}: expected 4 to 40 hex digits, e.g. 2436e7c7")
    return cleaned.lower()
