"""How counts, states and commits are said to people: one rule each, for every face and layer.

- A count names its noun in the right number: `plural(1, "service")` is "1 service".
- A state is said in words: `said(RolloutState.ROLLED_BACK)` is "rolled back", never `rolled_back`.
- A commit is shown SHORT_SHA characters long wherever people read it (`short_sha`); the full
  SHA only where a machine reads it (JSON, button values, git, the store).
"""

from __future__ import annotations

import enum

SHORT_SHA = 8

IRREGULAR = {"analysis": "analyses", "is": "are", "was": "were", "has": "have"}


def plural(count: int, word: str, many: str | None = None) -> str:
    """`count` and `word` in the number it takes: "1 service", "0 services", "2 analyses"."""
    return f"{count} {noun(count, word, many)}"


def noun(count: int, word: str, many: str | None = None) -> str:
    """`word` alone in the number `count` takes ("service" or "services"); of several words,
    the last takes the number ("failing analysis", "failing analyses")."""
    if count == 1:
        return word
    if many is not None:
        return many
    head, _, last = word.rpartition(" ")
    plural_last = IRREGULAR.get(last) or (last + "es" if last.endswith(("s", "x")) else last + "s")
    return f"{head} {plural_last}" if head else plural_last


def verb(count: int, singular: str, many: str) -> str:
    """The verb that agrees with `count`: verb(1, "needs", "need") is "needs"."""
    return singular if count == 1 else many


def short_sha(sha: str) -> str:
    """A commit (or a label naming one) as people read it: its first SHORT_SHA characters."""
    return sha[:SHORT_SHA]


def said(state: enum.StrEnum | str) -> str:
    """A state as words: `rolled_back` is "rolled back", `timed_out` "timed out"."""
    return str(state.value if isinstance(state, enum.Enum) else state).replace("_", " ")
