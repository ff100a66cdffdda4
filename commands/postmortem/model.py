"""A postmortem's draft as opsbot builds it, and the document people finish from it.

The draft is plain data, kept as JSON in the store (`to_json`/`from_json`) so that what was found
at the time is what the document shows later, whatever the platform says by then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from config import IncidentKind
from store.postmortem_views import ActionItemView, PostmortemView

HEADINGS = (  # the team's headings, in the team's order (the original postmortems)
    "Date",
    "Duration",
    "Severity",
    "Impact",
    "Summary",
    "Timeline",
    "Root Cause",
    "Resolution",
    "Prevention",
    "Action Items",
)
DRAFT_MARK = "[draft: opsbot prefilled this from what it recorded; complete or correct it]"
ADDED = "slack"  # the source of an event a person added to the timeline from a Slack message


def subject_words(subject: str) -> str:
    """An incident as people name it: `rollout #4`, `game day 2026-01-28`, `a hand rollback`.

    The rule: what people read never shows opsbot's keys (`rollout:4`, `date:…`) or ids only
    its store knows (a hand rollback's audit entry): a rollout's number is the one its message
    and `/postmortem rollout N` use.
    """
    kind, _, key = subject.partition(":")
    if kind == "rollout":
        return f"rollout #{key}"
    if kind == "date":
        return f"game day {key}"
    return "a hand rollback" if kind == "rollback" else "this incident"


@dataclass(frozen=True)
class TimelineEvent:
    """Something that happened, at the time it happened (never the time it was noted)."""

    at: datetime
    source: str  # opsbot, cloud-run, logs, git, backfill, health, slack (ADDED)
    text: str
    actor: str | None = None  # a Slack user id, when a person did it
    link: str | None = None  # a message added from Slack: its permalink

    @property
    def added(self) -> bool:
        """Whether a person added it (the message shortcut), rather than opsbot finding it."""
        return self.source == ADDED

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "source": self.source,
            "text": self.text,
            "actor": self.actor,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TimelineEvent:
        return cls(
            datetime.fromisoformat(data["at"]), data["source"], data["text"], data.get("actor")
        )


@dataclass(frozen=True)
class DayStatus:
    """One game day of a data incident's search: each check's status that day."""

    day: date
    statuses: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "statuses": self.statuses}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DayStatus:
        return cls(date.fromisoformat(data["day"]), dict(data["statuses"]))


@dataclass(frozen=True)
class Draft:
    """What opsbot could establish about one incident, and the sections it prefilled."""

    kind: IncidentKind
    subject: str  # rollout:12, rollback:345, date:2026-01-28 (one postmortem each)
    title: str
    started: datetime  # the first bad signal (none: when the exposure began, see no_bad_signal)
    recovered: datetime | None  # None: not recovered when the draft was built
    severity: str
    severity_because: str
    impact: list[str]
    timeline: list[TimelineEvent]
    sections: dict[str, str]  # summary, root_cause, resolution, prevention: prefilled drafts
    services: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    days: list[DayStatus] = field(default_factory=list)  # data incidents: the search, by day
    causes: list[str] = field(default_factory=list)  # candidate causes (drift, deploys)
    detected: datetime | None = None  # when opsbot or a person saw it (apart from its start)
    no_bad_signal: str = ""  # why nothing bad was seen ("": there was a first bad signal)

    @property
    def duration(self) -> timedelta | None:
        return None if self.recovered is None else self.recovered - self.started

    @property
    def start_words(self) -> str:
        """What `started` is, in words: never a "first bad signal" when there was none."""
        return "first bad signal" if not self.no_bad_signal else "canary first served"

    @property
    def duration_words(self) -> str:
        """What the duration measures."""
        if not self.no_bad_signal:
            return "from the first bad signal to recovery"
        return f"while the canary served; no bad signal: {self.no_bad_signal}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "title": self.title,
            "started": self.started.isoformat(),
            "recovered": self.recovered.isoformat() if self.recovered else None,
            "severity": self.severity,
            "severity_because": self.severity_because,
            "impact": self.impact,
            "timeline": [e.to_json() for e in self.timeline],
            "sections": self.sections,
            "services": self.services,
            "checks": self.checks,
            "days": [d.to_json() for d in self.days],
            "causes": self.causes,
            "detected": self.detected.isoformat() if self.detected else None,
            "no_bad_signal": self.no_bad_signal,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        return cls(
            kind=data["kind"],
            subject=data["subject"],
            title=data["title"],
            started=datetime.fromisoformat(data["started"]),
            recovered=datetime.fromisoformat(data["recovered"]) if data.get("recovered") else None,
            severity=data["severity"],
            severity_because=data["severity_because"],
            impact=list(data["impact"]),
            timeline=[TimelineEvent.from_json(e) for e in data["timeline"]],
            sections=dict(data["sections"]),
            services=list(data.get("services", [])),
            checks=list(data.get("checks", [])),
            days=[DayStatus.from_json(d) for d in data.get("days", [])],
            causes=list(data.get("causes", [])),
            detected=datetime.fromisoformat(data["detected"]) if data.get("detected") else None,
            no_bad_signal=str(data.get("no_bad_signal") or ""),
        )


@dataclass(frozen=True)
class Document:
    """The postmortem as people see it: the draft, their edits over it, added events, items."""

    draft: Draft
    severity: str
    status: str  # draft, final (a draft that nobody saved yet is a draft)
    sections: dict[str, str]  # every section's text: people's where they wrote, else the draft's
    edited: frozenset[str]  # the sections a person wrote
    timeline: list[TimelineEvent]  # the draft's events and those people added, by time
    items: tuple[ActionItemView, ...] = ()
    postmortem_id: int | None = None
    created_at: datetime | None = None
    version: int | None = None  # the stored version this document shows

    @classmethod
    def unsaved(cls, draft: Draft) -> Document:
        return cls(draft, draft.severity, "draft", _sections(draft), frozenset(), draft.timeline)

    @classmethod
    def of(cls, stored: PostmortemView) -> Document:
        draft = Draft.from_json(stored.document)
        written = {k: v for k, v in stored.sections.items() if v.strip()}
        added = [TimelineEvent(e.at, ADDED, e.text, e.author, e.permalink) for e in stored.events]
        return cls(
            draft=draft,
            severity=stored.severity,
            status=stored.status,
            sections={**_sections(draft), **written},
            edited=frozenset(written),
            timeline=sorted([*draft.timeline, *added], key=lambda e: e.at),
            items=stored.items,
            postmortem_id=stored.id,
            created_at=stored.created_at,
            version=stored.version,
        )


def _sections(draft: Draft) -> dict[str, str]:
    return {"impact": "\n".join(f"- {line}" for line in draft.impact), **draft.sections}
