"""A postmortem as Markdown under the team's headings (in their order), or as JSON."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from commands.postmortem.model import HEADINGS, Document, TimelineEvent
from store.postmortem_views import ActionItemView


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


def _event_line(event: TimelineEvent, timezone: str) -> str:
    who = f" · by @{event.actor}" if event.actor else ""
    text = " ".join(event.text.split())
    return f"- {stamp(event.at, timezone)} · {event.source}{who} · {text}"


def _item_line(item: ActionItemView, today: date) -> str:
    box = "x" if item.state == "done" else " "
    late = " (overdue)" if item.overdue(today) else ""
    return f"- [{box}] {item.text} — owner @{item.owner}, due {item.due}{late}"


def markdown(doc: Document, timezone: str, today: date) -> str:
    """The document, each of the team's headings as `##`, in the team's order."""
    draft = doc.draft
    status = "Draft" if doc.status == "draft" else "Final"
    severity = doc.severity + (
        f" — proposed by opsbot: {draft.severity_because}"
        if doc.severity == draft.severity
        else f" (opsbot proposed {draft.severity}: {draft.severity_because})"
    )
    recovered = f"; recovered {stamp(draft.recovered, timezone)}" if draft.recovered else ""
    if draft.detected is not None:
        recovered = f"; detected {stamp(draft.detected, timezone)}{recovered}"
    body = {
        "Date": f"{draft.started:%Y-%m-%d} — first bad signal {stamp(draft.started, timezone)}{recovered}",
        "Duration": f"{span(draft.duration)} (from the first bad signal to recovery)",
        "Severity": severity,
        "Impact": doc.sections.get("impact", ""),
        "Summary": doc.sections.get("summary", ""),
        "Timeline": _timeline(doc, timezone),
        "Root Cause": doc.sections.get("root_cause", ""),
        "Resolution": doc.sections.get("resolution", ""),
        "Prevention": doc.sections.get("prevention", ""),
        "Action Items": "\n".join(_item_line(i, today) for i in doc.items) or "None yet.",
    }
    parts = [f"# Postmortem: {draft.title}", f"_{status} · {draft.subject}_"]
    parts += [f"## {heading}\n\n{body[heading].strip()}" for heading in HEADINGS]
    return "\n\n".join(parts) + "\n"


def _timeline(doc: Document, timezone: str) -> str:
    lines = [f"Times are the original times, in UTC and {timezone}."]
    lines += [_event_line(e, timezone) for e in doc.timeline]
    if doc.draft.days:
        lines += ["", "### Game days checked", ""]
        lines += [
            f"- {d.day}: " + (", ".join(f"{k} {v}" for k, v in d.statuses.items()) or "no verdict")
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
            }
            for e in doc.timeline
        ],
        "days": [d.to_json() for d in draft.days],
        "causes": draft.causes,
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
