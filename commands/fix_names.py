"""The rule for "is this commit a fix for that check?", shared by /health's likely causes
(commands/health_causes/drift.py) and a postmortem's candidate causes (commands/postmortem/causes.py).

A fix is a commit whose subject begins "fix"; it is for a check when its description (after a
conventional `type(scope):`) says two of the check's words as whole words ("vegas", "line",
"coverage" for `vegas_line_coverage`; all of them for a check of one word). "pipeline" does not say "line", and a scope such as
"fix(grading):" names an area, not a check.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SCOPE = re.compile(r"^\w+(\([^)]*\))?!?:\s*")  # "fix(grading): " names an area, not a check
FIX = re.compile(r"fix(es|ed|ing)?\b", re.IGNORECASE)  # not "fixtures", nor git's "fixup!"


def is_fix(subject: str) -> bool:
    """Whether a commit's subject says it is a fix (`fix …`, `fix: …`, `fix(area): …`, `Fixes …`)."""
    return FIX.match(subject) is not None


def check_words(check: str) -> list[str]:
    """The words of a check's name that a fix for it would say: `vegas_line_coverage` →
    vegas, line, coverage; `bdb_coverage` → bdb, coverage (two letters or fewer say nothing)."""
    return [word for word in check.split("_") if len(word) > 2]


def names_check(subject: str, words: Sequence[str]) -> bool:
    """Whether the subject's description (after a conventional `type(scope):`) says two of the
    check's words, a plural too (its only one, if it has one): one everyday word ("line", "recent",
    "completion") says nothing of a check, and "fix: line endings" is no Vegas-line fix."""
    said = SCOPE.sub("", subject, count=1)
    found = sum(1 for word in words if re.search(rf"\b{re.escape(word)}s?\b", said, re.IGNORECASE))
    return found >= min(2, len(words)) and found > 0
