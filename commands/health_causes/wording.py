"""How a report says that a check's likely causes were not fully looked for (the terminal and
Slack say it alike): what could not be read, and never that there is no cause."""

from __future__ import annotations

NOT_FULLY = "likely causes not fully looked for"


def gaps_text(gaps: list[str], *, found: bool) -> str:
    """`likely causes not fully looked for: Cloud Run could not be read for …; …`, with what the
    causes found (or none) are worth."""
    worth = (
        "a cause may be missing from those named"
        if found
        else "none was found in what could be read, which is no proof there is none"
    )
    return f"{NOT_FULLY}: {'; '.join(gaps)}; {worth}"
