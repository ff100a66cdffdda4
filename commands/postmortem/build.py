"""Which incident a request names, its draft, and its postmortem started in the store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from commands.errors import RequestError
from commands.health import parse_game_date
from commands.postmortem.data import data_draft
from commands.postmortem.model import Document, Draft, subject_words
from commands.postmortem.rollback import is_incident, rollback_draft
from commands.postmortem.rollout import rollout_draft
from commands.postmortem.tools import PostmortemTools
from store.postmortem_views import PostmortemView
from store.states import RolloutState
from store.views import AuditView

USAGE = "rollout N | YYYY-MM-DD | last"
SUBJECT = re.compile(r"^(rollout|rollback):(\d+)$|^date:(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Subject:
    """One incident: a rollout, a hand rollback (its audit entry) or a game day."""

    kind: str  # rollout, rollback, date
    key: str  # the rollout's or entry's id, or the date

    @property
    def text(self) -> str:
        return f"{self.kind}:{self.key}"

    @property
    def words(self) -> str:
        """The incident as people name it (model.subject_words): never `rollout:4`."""
        return subject_words(self.text)

    @classmethod
    def of(cls, text: str) -> Subject:
        found = SUBJECT.match(text)
        if found is None:
            raise RequestError(f"not an incident: {text!r}")
        if found.group(3):
            return cls("date", found.group(3))
        return cls(found.group(1), found.group(2))


ROLLOUT_ID_MAX = 2**31 - 1  # a store id (PostgreSQL's integer): no rollout has a larger one
EARLIEST_DAY = date(2000, 1, 1)  # no game day of opsbot's platform is older
ROLLOUT_ID = re.compile(r"#?([0-9]{1,10})")  # ASCII digits only: int() takes "١٢" as 12
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_request(text: str, *, today: date | None = None) -> Subject | None:
    """`rollout N`, `YYYY-MM-DD` or `last` (None: the newest incident); a RequestError otherwise.

    A rollout's number is 1..ROLLOUT_ID_MAX; a day is from EARLIEST_DAY to `today` (the game
    day now, when given): anything else names no incident, and is said so before any work.
    """
    words = text.split()
    if words == ["last"]:
        return None
    if len(words) == 2 and words[0] == "rollout":
        found = ROLLOUT_ID.fullmatch(words[1])
        if found is None or not 1 <= int(found.group(1)) <= ROLLOUT_ID_MAX:
            raise RequestError(
                f"bad rollout {words[1]!r}: expected its number (1 to {ROLLOUT_ID_MAX}), "
                "e.g. rollout 12"
            )
        return Subject("rollout", str(int(found.group(1))))
    if len(words) == 1 and DAY.fullmatch(words[0]):
        day = parse_game_date(words[0])
        if day < EARLIEST_DAY:
            raise RequestError(f"{day} is before {EARLIEST_DAY}: no incident is that old")
        if today is not None and day > today:
            raise RequestError(
                f"{day} is in the future (today is {today}): pick {today} or earlier"
            )
        return Subject("date", day.isoformat())
    raise RequestError(
        f"expected {USAGE}; got {text.strip()!r}" if text.strip() else f"expected {USAGE}"
    )


NO_INCIDENT = (
    "no incident found: no rollout rolled back or failed, and no /rollback replaced a revision "
    "that was failing"
)


def last_incident(tools: PostmortemTools) -> Subject | None:
    """The newest incident: a rollout that rolled back or failed, or a hand rollback that was
    an incident (rollback.is_incident: what it replaced was bad), whichever ended last.

    The rule: a hand rollback from revisions that served normally is no incident, so `last`
    never drafts one; it looks further back, and says "no incident found" when nothing is.
    """
    store = tools.deploy.store
    ended: list[tuple[datetime, Subject, AuditView | None]] = [
        (r.updated_at, Subject("rollout", str(r.id)), None)
        for r in store.recent(limit=200)
        if r.state in (RolloutState.ROLLED_BACK, RolloutState.FAILED)
    ]
    ended += [
        (e.at, Subject("rollback", str(e.id)), e)
        for e in store.audit_log()
        if e.action == "rollback" and e.rollout_id is None
    ]
    for _, subject, entry in sorted(ended, key=lambda found: found[0], reverse=True):
        if entry is None or is_incident(tools, entry):
            return subject
    return None


def build_draft(tools: PostmortemTools, subject: Subject) -> Draft | None:
    """What opsbot can say about the incident now; None when there is nothing to write about."""
    if subject.kind == "rollout":
        return rollout_draft(tools, int(subject.key))
    if subject.kind == "rollback":
        return rollback_draft(tools, int(subject.key))
    return data_draft(tools, date.fromisoformat(subject.key))


def resolve(tools: PostmortemTools, subject: Subject | None) -> Subject:
    """The incident asked for, `last` made concrete; a RequestError when there is none."""
    if subject is not None:
        return subject
    found = last_incident(tools)
    if found is None:
        raise RequestError(NO_INCIDENT)
    return found


def document(tools: PostmortemTools, subject: Subject) -> Document | None:
    """The postmortem as stored (with people's edits), else a fresh draft; None: nothing to say."""
    stored = tools.postmortems.by_subject(subject.text)
    if stored is not None:
        return Document.of(stored)
    draft = build_draft(tools, subject)
    return Document.unsaved(draft) if draft is not None else None


def start(
    tools: PostmortemTools, subject: Subject, actor: str
) -> tuple[PostmortemView, bool] | None:
    """The incident's postmortem, started from a fresh draft unless it exists; (it, started now).

    None when there is nothing to write about (an unknown rollout, a healthy day).
    """
    existing = tools.postmortems.by_subject(subject.text)
    if existing is not None:
        return existing, False
    draft = build_draft(tools, subject)
    if draft is None:
        return None
    return tools.postmortems.open_or_create(
        subject=draft.subject,
        kind=draft.kind,
        title=draft.title,
        severity=draft.severity,
        document=draft.to_json(),
        incident_start=draft.started,
        incident_end=draft.recovered,
        created_by=actor,
    )
