"""A postmortem as Markdown under the team's headings (in their order), or as JSON.

The Markdown is opsbot's alone: the headings, lists, check boxes and emphasis it lays out. Every
piece of text it did not write itself (what people typed in the Edit modal, titles, log lines,
commit messages, reasons, ids) goes through `plain` (one line) or `paragraphs` (a section), so
that it reads in any CommonMark renderer as the text it was: no HTML (`&`, `<`, `>` become
entities), no link, image or autolink (`[`, `]`, `(`, `)`, `!` and the `:` of `://` are
backslash-escaped; `www.` loses its dot's meaning), no emphasis, code, strikethrough or table
cell (`*`, `_` outside a word, `` ` ``, `~`, `|`, `$`, `\\` escaped), and no block of its own at a
line's start (`#`, `-`, `+`, `=`, `1.`, quotes, fences and indented code). Each line typed
stays a line (a hard break); a blank line still separates paragraphs.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from commands.postmortem.model import HEADINGS, Document, TimelineEvent, subject_words
from commands.postmortem.people import USER_ID, Names, named, person
from store.postmortem_views import ActionItemView

# HTML's own characters as entities (and NUL as CommonMark reads it)
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\x00": "\ufffd"}
_ESCAPED = frozenset("\\`*[]()!|~$")  # inline Markdown wherever they stand: always escaped
_BLOCK_START = frozenset("#-+=")  # at a line's start: a heading, list item, rule, underline
_ORDERED = re.compile(r"(\d+)\.")  # an ordered list item at a line's start
_BULLET = re.compile(r"- (.*\S)")  # a list item opsbot wrote in a section it prefilled


def _word_char(text: str, index: int) -> bool:
    return 0 <= index < len(text) and text[index].isalnum()


def _escaped(text: str, index: int) -> str:
    char = text[index]
    if char in _ENTITIES:
        return _ENTITIES[char]
    if char in _ESCAPED:
        return "\\" + char
    if char == "_":  # inside a word it cannot open or close emphasis (CommonMark)
        inside = _word_char(text, index - 1) and _word_char(text, index + 1)
        return char if inside else "\\_"
    if char == ":" and text.startswith("//", index + 1):  # no scheme://, so no GFM autolink
        return "\\:"
    if char == "." and text[max(index - 3, 0) : index].lower() == "www":  # no www. autolink
        return "\\."
    if char == "#" and (index == 0 or text[index - 1].isspace()):
        end = len(text) - len(text[index:].lstrip("#"))
        if end == len(text) or text[end].isspace():  # a word of #s: a heading's closing run
            return "\\#"
    return char


def plain(text: str) -> str:
    """Text opsbot did not write, on one line (whitespace collapsed), as Markdown that shows it
    as typed."""
    line = " ".join(text.split())
    return "".join(_escaped(line, i) for i in range(len(line)))


def _line(text: str) -> str:
    """`plain`, for text that starts a line: nothing there may open a block."""
    escaped = plain(text)
    if escaped[:1] in _BLOCK_START:
        return "\\" + escaped
    ordered = _ORDERED.match(escaped)
    if ordered is not None:
        return f"{ordered.group(1)}\\.{escaped[ordered.end() :]}"
    return escaped


def paragraphs(text: str, *, bullets: bool = False) -> str:
    """Text opsbot did not write, over several lines, as Markdown that shows it as typed: each
    line a line (joined by hard breaks), a blank line between paragraphs, no line indented
    (indentation would make it code). With `bullets` (a section opsbot prefilled and nobody
    edited), its own `- ` lines stay list items, their text escaped."""
    groups: list[tuple[str, list[str]]] = []  # (paragraph or list, its lines)
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            groups.append(("", []))  # a paragraph ends
            continue
        item = _BULLET.fullmatch(line) if bullets else None
        kind, shown = ("list", f"- {_line(item.group(1))}") if item else ("text", _line(line))
        if groups and groups[-1][0] == kind:
            groups[-1][1].append(shown)
        else:
            groups.append((kind, [shown]))
    return "\n\n".join(
        ("\n" if kind == "list" else "\\\n").join(lines) for kind, lines in groups if lines
    )


def _section(doc: Document, name: str, names: Names) -> str:
    """A section: what a person typed as typed; what opsbot prefilled with people named."""
    text = doc.sections.get(name, "")
    if name in doc.edited:
        return paragraphs(text)
    return paragraphs(named(text, names), bullets=True)


def span(duration: timedelta | None) -> str:
    """A duration as people say it: 31 s, 12 min, 3 h 05 min, 8 days 2 h."""
    if duration is None:
        return "ongoing (not recovered when the draft was made)"
    if duration.total_seconds() < 60:
        return f"{int(duration.total_seconds())} s"
    minutes = int(duration.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def stamp(moment: datetime, timezone: str) -> str:
    """The original time in UTC and, beside it, in the team's time zone."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{moment.astimezone(ZoneInfo('UTC')):%Y-%m-%d %H:%M:%S} UTC ({local:%a %H:%M %Z})"


def _at(user: str, names: Names) -> str:
    """A person in the file, escaped: `@name` for a user id with a name, else `@` and what was
    stored."""
    return plain(person(user, names)) if USER_ID.fullmatch(user) else f"@{plain(user)}"


def _event_line(event: TimelineEvent, timezone: str, names: Names) -> str:
    who = f" · by {_at(event.actor, names)}" if event.actor else ""
    text = plain(named(event.text, names))
    link = f" \\({plain(event.link)}\\)" if event.link else ""
    return f"- {stamp(event.at, timezone)} · {plain(event.source)}{who} · {text}{link}"


def _item_line(item: ActionItemView, today: date, names: Names) -> str:
    box = "x" if item.state == "done" else " "
    late = " (overdue)" if item.overdue(today) else ""
    owner = _at(item.owner, names)
    return f"- [{box}] {plain(item.text)} — owner {owner}, due {item.due}{late}"


def markdown(doc: Document, timezone: str, today: date, names: Names | None = None) -> str:
    """The document, each of the team's headings as `##`, in the team's order.

    People are named (`names`: a user id → the profile's or Slack's name for them), never shown
    as Slack's mention markup; an id without a name reads `@U0LEEAPPRV`.
    """
    names = names or {}
    draft = doc.draft
    status = "Draft" if doc.status == "draft" else "Final"
    because = plain(draft.severity_because)
    severity = _line(doc.severity) + (
        f" — proposed by opsbot: {because}"
        if doc.severity == draft.severity
        else f" (opsbot proposed {plain(draft.severity)}: {because})"
    )
    recovered = f"; recovered {stamp(draft.recovered, timezone)}" if draft.recovered else ""
    if draft.detected is not None:
        recovered = f"; detected {stamp(draft.detected, timezone)}{recovered}"
    started = f"{draft.start_words} {stamp(draft.started, timezone)}"
    if draft.no_bad_signal:
        started = f"no bad signal; {started}"
    body = {
        "Date": f"{draft.started:%Y-%m-%d} — {started}{recovered}",
        "Duration": f"{span(draft.duration)} ({plain(draft.duration_words)})",
        "Severity": severity,
        "Impact": _section(doc, "impact", names),
        "Summary": _section(doc, "summary", names),
        "Timeline": _timeline(doc, timezone, names),
        "Root Cause": _section(doc, "root_cause", names),
        "Resolution": _section(doc, "resolution", names),
        "Prevention": _section(doc, "prevention", names),
        "Action Items": "\n".join(_item_line(i, today, names) for i in doc.items) or "None yet.",
    }
    title = plain(named(draft.title, names))
    parts = [f"# Postmortem: {title}", f"_{status} · {plain(subject_words(draft.subject))}_"]
    parts += [f"## {heading}\n\n{body[heading].strip()}" for heading in HEADINGS]
    return "\n\n".join(parts) + "\n"


def _timeline(doc: Document, timezone: str, names: Names) -> str:
    lines = [f"Times are the original times, in UTC and {timezone}."]
    lines += [_event_line(e, timezone, names) for e in doc.timeline]
    if doc.draft.days:
        lines += ["", "### Game days checked", ""]
        lines += [
            f"- {d.day}: "
            + (", ".join(f"{plain(k)} {plain(v)}" for k, v in d.statuses.items()) or "no verdict")
            for d in doc.draft.days
        ]
    return "\n".join(lines)


def as_json(doc: Document, timezone: str, today: date) -> dict[str, Any]:
    draft = doc.draft
    local = ZoneInfo(timezone)
    return {
        "id": doc.postmortem_id,
        "subject": draft.subject,
        "kind": draft.kind,
        "title": draft.title,
        "status": doc.status,
        "severity": doc.severity,
        "proposed_severity": draft.severity,
        "severity_because": draft.severity_because,
        "started": draft.started.isoformat(),
        "detected": draft.detected.isoformat() if draft.detected else None,
        "recovered": draft.recovered.isoformat() if draft.recovered else None,
        "duration_s": draft.duration.total_seconds() if draft.duration else None,
        "sections": doc.sections,
        "timeline": [
            {
                "at": e.at.astimezone(ZoneInfo("UTC")).isoformat(),
                "at_local": e.at.astimezone(local).isoformat(),
                "source": e.source,
                "text": e.text,
                "actor": e.actor,
                "link": e.link,
            }
            for e in doc.timeline
        ],
        "days": [d.to_json() for d in draft.days],
        "causes": draft.causes,
        "no_bad_signal": draft.no_bad_signal or None,
        "action_items": [
            {
                "text": i.text,
                "owner": i.owner,
                "due": i.due.isoformat(),
                "state": i.state,
                "overdue": i.overdue(today),
            }
            for i in doc.items
        ],
    }
