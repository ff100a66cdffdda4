"""Postmortems in the store: one per incident, edited by conditional updates, every change audited.

The incident's subject (rollout:12, rollback:345, date:2026-01-28) is unique, so a second
"Start postmortem" (a double click, another replica, /postmortem for the same rollout) opens the
one already started. A reminder is recorded as sent after it was posted (a conditional update):
a crash in between sends it again rather than never.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.audit import audit_in
from store.database import Database
from store.dialect import insert_for
from store.messages import attach_once
from store.postmortem_views import SECTIONS, ActionItemView, AddedEvent, PostmortemView
from store.schema import ActionItemRow, PostmortemEvent, PostmortemRow


class Postmortems:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self.database = database
        self.clock = clock

    def open_or_create(
        self,
        *,
        subject: str,
        kind: str,
        title: str,
        severity: str,
        document: dict[str, Any],
        incident_start: datetime,
        incident_end: datetime | None,
        created_by: str,
    ) -> tuple[PostmortemView, bool]:
        """The incident's postmortem, started now unless it exists; (it, whether started now)."""
        now = self.clock()
        with self.database.session() as session:
            insert = insert_for(session.get_bind().dialect.name)
            new_id = session.execute(
                insert(PostmortemRow)
                .values(
                    subject=subject,
                    kind=kind,
                    title=title,
                    severity=severity,
                    status="draft",
                    document=document,
                    sections={},
                    incident_start=incident_start,
                    incident_end=incident_end,
                    created_by=created_by,
                    created_at=now,
                    updated_at=now,
                    version=1,
                )
                .on_conflict_do_nothing(index_elements=["subject"])
                .returning(PostmortemRow.id)
            ).scalar()
            if new_id is not None:
                self._audit(session, created_by, "postmortem.start", new_id, {"subject": subject})
        found = self.by_subject(subject)
        assert found is not None
        return found, new_id is not None

    def get(self, postmortem_id: int) -> PostmortemView | None:
        with self.database.session() as session:
            row = session.get(PostmortemRow, postmortem_id)
            return _view(session, row) if row is not None else None

    def by_subject(self, subject: str) -> PostmortemView | None:
        with self.database.session() as session:
            row = session.scalar(select(PostmortemRow).where(PostmortemRow.subject == subject))
            return _view(session, row) if row is not None else None

    def drafts(self, limit: int = 25) -> list[PostmortemView]:
        """Postmortems still being written, newest first (what a message can be added to)."""
        query = (
            select(PostmortemRow)
            .where(PostmortemRow.status == "draft")
            .order_by(PostmortemRow.id.desc())
            .limit(limit)
        )
        with self.database.session() as session:
            return [_view(session, row) for row in session.scalars(query)]

    def attach_message(self, postmortem_id: int, channel: str, ts: str) -> bool:
        """Record the message unless one is recorded already; whether this one was."""
        return attach_once(self.database, PostmortemRow, postmortem_id, channel, ts)

    def move_message(self, postmortem_id: int, old_ts: str, channel: str, ts: str) -> bool:
        """Its message was deleted in Slack: record the one posted instead (once, from `old_ts`)."""
        return attach_once(
            self.database, PostmortemRow, postmortem_id, channel, ts, replacing=old_ts
        )

    def edit(
        self,
        postmortem_id: int,
        version: int,
        actor: str,
        *,
        severity: str | None = None,
        sections: dict[str, str] | None = None,
        status: str | None = None,
    ) -> PostmortemView | None:
        """Apply an edit made on `version`; None when someone else saved in between."""
        changes: dict[str, Any] = {}
        if severity is not None:
            changes["severity"] = severity
        if status is not None:
            changes["status"] = status
        with self.database.session() as session:
            row = session.get(PostmortemRow, postmortem_id)
            if row is None:
                return None
            if sections is not None:
                unknown = set(sections) - set(SECTIONS)
                assert not unknown, f"not a postmortem section: {unknown}"
                changes["sections"] = {**row.sections, **sections}
            moved = session.execute(
                update(PostmortemRow)
                .where(PostmortemRow.id == postmortem_id, PostmortemRow.version == version)
                .values(version=version + 1, updated_at=self.clock(), **changes)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return None
            edited = {
                "severity": severity,
                "status": status,
                "sections": sorted(sections or {}),
            }
            self._audit(session, actor, "postmortem.edit", postmortem_id, edited)
            session.flush()
            session.refresh(row)
            return _view(session, row)

    def add_event(
        self,
        postmortem_id: int,
        *,
        message_key: str,
        at: datetime,
        author: str,
        text: str,
        permalink: str | None,
        added_by: str,
    ) -> bool:
        """Add a message to the timeline; False when it is there already."""
        with self.database.session() as session:
            insert = insert_for(session.get_bind().dialect.name)
            added = session.execute(
                insert(PostmortemEvent)
                .values(
                    postmortem_id=postmortem_id,
                    message_key=message_key,
                    at=at,
                    author=author,
                    text=text,
                    permalink=permalink,
                    added_by=added_by,
                    added_at=self.clock(),
                )
                .on_conflict_do_nothing(index_elements=["postmortem_id", "message_key"])
                .returning(PostmortemEvent.id)
            ).scalar()
            if added is not None:
                self._audit(
                    session,
                    added_by,
                    "postmortem.timeline",
                    postmortem_id,
                    {"message": message_key},
                )
            return added is not None

    def add_item(
        self, postmortem_id: int, *, text: str, owner: str, due: date, actor: str
    ) -> ActionItemView:
        with self.database.session() as session:
            row = ActionItemRow(
                postmortem_id=postmortem_id,
                text=text,
                owner=owner,
                due=due.isoformat(),
                state="open",
                created_by=actor,
                created_at=self.clock(),
                reminded="",
            )
            session.add(row)
            session.flush()
            arguments = {"item": row.id, "owner": owner, "due": due.isoformat()}
            self._audit(session, actor, "postmortem.action_item", postmortem_id, arguments)
            return _item(row)

    def close_item(self, item_id: int, actor: str) -> ActionItemView | None:
        """Mark an open item done; None when it was not open."""
        with self.database.session() as session:
            moved = session.execute(
                update(ActionItemRow)
                .where(ActionItemRow.id == item_id, ActionItemRow.state == "open")
                .values(state="done")
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = session.get(ActionItemRow, item_id, populate_existing=True)
            assert row is not None
            self._audit(
                session, actor, "postmortem.item_done", row.postmortem_id, {"item": item_id}
            )
            return _item(row)

    def open_items(self) -> list[ActionItemView]:
        """Every action item not done yet, soonest due first."""
        query = (
            select(ActionItemRow)
            .where(ActionItemRow.state == "open")
            .order_by(ActionItemRow.due, ActionItemRow.id)
        )
        with self.database.session() as session:
            return [_item(row) for row in session.scalars(query)]

    def due_drafts(self, age: timedelta) -> list[PostmortemView]:
        """Drafts started at least `age` ago whose reminder has not gone out."""
        query = select(PostmortemRow.id).where(
            PostmortemRow.status == "draft",
            PostmortemRow.draft_reminded_at.is_(None),
            PostmortemRow.created_at <= self.clock() - age,
        )
        with self.database.session() as session:
            ids = list(session.scalars(query.order_by(PostmortemRow.id)))
        return [found for i in ids if (found := self.get(i)) is not None]

    def mark_draft_reminded(self, postmortem_id: int) -> bool:
        """Record the draft's reminder as sent; False when it was recorded already."""
        with self.database.session() as session:
            moved = session.execute(
                update(PostmortemRow)
                .where(PostmortemRow.id == postmortem_id, PostmortemRow.draft_reminded_at.is_(None))
                .values(draft_reminded_at=self.clock())
                .execution_options(synchronize_session=False)
            )
            return bool(moved.rowcount == 1)  # type: ignore[attr-defined]

    def due_items(self, today: date) -> list[tuple[ActionItemView, str]]:
        """Open items whose reminder is due: (item, "due") on the due day, (item, "overdue")
        once past it; each kind once."""
        return [
            (item, which)
            for item in self.open_items()
            if (which := _reminder(item, today)) is not None
        ]

    def mark_item_reminded(self, item_id: int, which: str) -> bool:
        """Record an item's reminder as sent; False when that one was recorded already."""
        before = ("",) if which == "due" else ("", "due")
        with self.database.session() as session:
            moved = session.execute(
                update(ActionItemRow)
                .where(ActionItemRow.id == item_id, ActionItemRow.reminded.in_(before))
                .values(reminded=which)
                .execution_options(synchronize_session=False)
            )
            return bool(moved.rowcount == 1)  # type: ignore[attr-defined]

    def _audit(
        self,
        session: Session,
        actor: str,
        action: str,
        postmortem_id: int,
        arguments: dict[str, Any],
    ) -> None:
        audit_in(session, self.clock(), actor, action, {"postmortem": postmortem_id, **arguments})


def _reminder(item: ActionItemView, today: date) -> str | None:
    if item.due < today and item.reminded != "overdue":
        return "overdue"
    if item.due == today and item.reminded == "":
        return "due"
    return None


def _item(row: ActionItemRow) -> ActionItemView:
    return ActionItemView(
        id=row.id,
        postmortem_id=row.postmortem_id,
        text=row.text,
        owner=row.owner,
        due=date.fromisoformat(row.due),
        state=row.state,
        reminded=row.reminded,
    )


def _view(session: Session, row: PostmortemRow) -> PostmortemView:
    events = session.scalars(
        select(PostmortemEvent)
        .where(PostmortemEvent.postmortem_id == row.id)
        .order_by(PostmortemEvent.at, PostmortemEvent.id)
    )
    items = session.scalars(
        select(ActionItemRow)
        .where(ActionItemRow.postmortem_id == row.id)
        .order_by(ActionItemRow.id)
    )
    return PostmortemView(
        id=row.id,
        subject=row.subject,
        kind=row.kind,
        title=row.title,
        severity=row.severity,
        status=row.status,
        document=dict(row.document),
        sections={str(k): str(v) for k, v in row.sections.items()},
        incident_start=row.incident_start,
        incident_end=row.incident_end,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        slack_channel=row.slack_channel,
        slack_ts=row.slack_ts,
        version=row.version,
        events=tuple(
            AddedEvent(e.id, e.at, e.author, e.text, e.permalink, e.added_by) for e in events
        ),
        items=tuple(_item(i) for i in items),
    )
