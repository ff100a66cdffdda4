"""Grading backfills in the store: one per request, their dates' states, conditional moves.

Every move of a date is conditional on the state it was in (queued → publishing → published →
done, …), so a completion Pub/Sub delivers twice counts once and two processes never claim a
date's publish at once. A claim is also conditional on when the claim it replaces was made: a
publish left unconfirmed is claimed again by one process only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.audit import audit_in
from store.backfill_views import (
    DATE_MOVES,
    IN_FLIGHT,
    BackfillDateView,
    BackfillState,
    BackfillView,
    DatesInFlight,
    DateState,
    Place,
)
from store.database import Database
from store.messages import attach_once
from store.schema import Backfill, BackfillDate, IdempotencyKey
from store.states import IllegalMove


class Backfills:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self.database = database
        self.clock = clock

    def submit(
        self,
        *,
        request_key: str,
        requested_by: str,
        reason: str,
        include_graded: bool,
        estimate_bytes: int,
        dates: Sequence[str],
        place: Place | None = None,
    ) -> tuple[BackfillView, bool]:
        """The backfill of these dates (queued), or the one this request already made (False).

        `place`: where its message belongs (None: started from a terminal, no message).
        Raises DatesInFlight when another running backfill has any of the dates queued or out.
        """
        now = self.clock()
        existing = self._by_key(request_key)
        if existing is not None:
            return existing, False
        try:
            with self.database.session() as session:
                busy = self._in_flight(session, dates)
                if busy:
                    # the same request, committed by someone else since the look-up above, holds
                    # these dates: that is its backfill, not a conflict
                    mine = self._by_key(request_key)
                    if mine is not None:
                        return mine, False
                    raise DatesInFlight(busy)
                backfill = Backfill(
                    request_key=request_key,
                    requested_by=requested_by,
                    reason=reason,
                    include_graded=include_graded,
                    state=BackfillState.RUNNING.value,
                    estimate_bytes=estimate_bytes,
                    post_channel=place.channel if place else None,
                    post_thread=place.thread if place else None,
                    created_at=now,
                    updated_at=now,
                )
                session.add(backfill)
                session.flush()
                for day in dates:
                    session.add(
                        BackfillDate(
                            backfill_id=backfill.id,
                            game_date=day,
                            state=DateState.QUEUED.value,
                            correlation_id=str(uuid.uuid4()),
                            detail="",
                        )
                    )
                self._audit(
                    session,
                    requested_by,
                    "regrade.submit",
                    backfill.id,
                    {"dates": list(dates), "reason": reason},
                )
                backfill_id = backfill.id
        except IntegrityError:  # the same request, committed by someone else meanwhile
            again = self._by_key(request_key)
            assert again is not None
            return again, False
        found = self.get(backfill_id)
        assert found is not None
        return found, True

    def in_flight(self, dates: Sequence[str]) -> dict[str, int]:
        with self.database.session() as session:
            return self._in_flight(session, dates)

    def get(self, backfill_id: int) -> BackfillView | None:
        with self.database.session() as session:
            row = session.get(Backfill, backfill_id)
            return None if row is None else self._view(session, row)

    def running(self) -> list[BackfillView]:
        with self.database.session() as session:
            rows = session.scalars(
                select(Backfill).where(Backfill.state == BackfillState.RUNNING.value)
            ).all()
            return [self._view(session, row) for row in rows]

    def unattended(self, since: datetime) -> list[BackfillView]:
        """The running backfills nothing has pumped since `since` (their driver died)."""
        with self.database.session() as session:
            rows = session.scalars(
                select(Backfill).where(
                    Backfill.state == BackfillState.RUNNING.value, Backfill.updated_at < since
                )
            ).all()
            return [self._view(session, row) for row in rows]

    def unshown(self, within: timedelta) -> list[BackfillView]:
        """The backfills asked for in Slack that ended within `within` and have no message."""
        with self.database.session() as session:
            rows = session.scalars(
                select(Backfill).where(
                    Backfill.state != BackfillState.RUNNING.value,
                    Backfill.post_channel.is_not(None),
                    Backfill.slack_ts.is_(None),
                    Backfill.updated_at >= self.clock() - within,
                )
            ).all()
            return [self._view(session, row) for row in rows]

    def undrawn_ends(self, before: datetime, within: timedelta) -> list[BackfillView]:
        """The ended backfills with a message not yet drawn ended, that ended before `before`
        and within `within` (their driver killed before it drew the end: the soak, seed 7)."""
        with self.database.session() as session:
            rows = session.scalars(
                select(Backfill).where(
                    Backfill.state != BackfillState.RUNNING.value,
                    Backfill.slack_ts.is_not(None),
                    Backfill.end_drawn.is_(False),
                    Backfill.updated_at < before,
                    Backfill.updated_at >= self.clock() - within,
                )
            ).all()
            return [self._view(session, row) for row in rows]

    def mark_end_drawn(self, backfill_id: int) -> None:
        """Record that the backfill's message shows its end."""
        with self.database.session() as session:
            session.execute(
                update(Backfill)
                .where(Backfill.id == backfill_id, Backfill.state != BackfillState.RUNNING.value)
                .values(end_drawn=True)
                .execution_options(synchronize_session=False)
            )

    def recent(self, limit: int = 20) -> list[BackfillView]:
        with self.database.session() as session:
            rows = session.scalars(select(Backfill).order_by(Backfill.id.desc()).limit(limit))
            return [self._view(session, row) for row in rows]

    def move(
        self,
        date_id: int,
        *,
        frm: DateState,
        to: DateState,
        claimed_at: datetime | None = None,
        **values: Any,
    ) -> bool:
        """One date from state `frm` to `to` (with `values`), if it still is in `frm` (and, with
        `claimed_at`, if its publish is still the one claimed then); a move the date's state
        table does not allow is refused (IllegalMove)."""
        if to not in DATE_MOVES[frm]:
            raise IllegalMove(f"a backfill date cannot move from {frm.value} to {to.value}")
        still = [BackfillDate.id == date_id, BackfillDate.state == frm.value]
        if claimed_at is not None:
            still.append(BackfillDate.published_at == claimed_at)
        with self.database.session() as session:
            moved = session.execute(
                update(BackfillDate)
                .where(*still)
                .values(state=to.value, **values)
                .execution_options(synchronize_session=False)
            )
            return bool(moved.rowcount)  # type: ignore[attr-defined]

    def by_correlation(self, correlation_id: str) -> BackfillDateView | None:
        with self.database.session() as session:
            row = session.scalars(
                select(BackfillDate).where(BackfillDate.correlation_id == correlation_id)
            ).first()
            return None if row is None else _date_view(row)

    def backfill_of(self, date_id: int) -> int:
        with self.database.session() as session:
            row = session.get(BackfillDate, date_id)
            assert row is not None
            return row.backfill_id

    def set_state(self, backfill_id: int, state: BackfillState, actor: str, action: str) -> None:
        with self.database.session() as session:
            session.execute(
                update(Backfill)
                .where(Backfill.id == backfill_id, Backfill.state == BackfillState.RUNNING.value)
                .values(state=state.value, updated_at=self.clock())
                .execution_options(synchronize_session=False)
            )
            self._audit(session, actor, action, backfill_id, {"state": state.value})

    def touch(self, backfill_id: int) -> None:
        with self.database.session() as session:
            session.execute(
                update(Backfill).where(Backfill.id == backfill_id).values(updated_at=self.clock())
            )

    def attach_message(self, backfill_id: int, channel: str, ts: str) -> bool:
        """Record the message unless one is recorded already; whether this one was."""
        return attach_once(self.database, Backfill, backfill_id, channel, ts)

    def first_post(self, backfill_id: int) -> bool:
        """Recorded before the backfill's message is posted: True the first time (by any
        replica); False when a process may have posted one and died before recording it."""
        try:
            with self.database.session() as session:
                key = f"backfill-message:{backfill_id}"
                session.add(IdempotencyKey(key=key, created_at=self.clock()))
            return True
        except IntegrityError:
            return False

    def record(self, actor: str, action: str, backfill_id: int, arguments: dict[str, Any]) -> None:
        with self.database.session() as session:
            self._audit(session, actor, action, backfill_id, arguments)

    # --- internals ----------------------------------------------------------------------------

    def _by_key(self, request_key: str) -> BackfillView | None:
        with self.database.session() as session:
            row = session.scalars(
                select(Backfill).where(Backfill.request_key == request_key)
            ).first()
            return None if row is None else self._view(session, row)

    def _in_flight(self, session: Session, dates: Sequence[str]) -> dict[str, int]:
        rows = session.execute(
            select(BackfillDate.game_date, BackfillDate.backfill_id).where(
                BackfillDate.game_date.in_(list(dates)),
                BackfillDate.state.in_([s.value for s in IN_FLIGHT]),
            )
        ).all()
        return {str(day): int(backfill) for day, backfill in rows}

    def _view(self, session: Session, row: Backfill) -> BackfillView:
        dates = session.scalars(
            select(BackfillDate)
            .where(BackfillDate.backfill_id == row.id)
            .order_by(BackfillDate.game_date)
        ).all()
        return BackfillView(
            id=row.id,
            requested_by=row.requested_by,
            reason=row.reason,
            include_graded=row.include_graded,
            state=BackfillState(row.state),
            estimate_bytes=row.estimate_bytes,
            slack_channel=row.slack_channel,
            slack_ts=row.slack_ts,
            created_at=row.created_at,
            updated_at=row.updated_at,
            dates=tuple(_date_view(d) for d in dates),
            place=Place(row.post_channel, row.post_thread) if row.post_channel else None,
        )

    def _audit(
        self,
        session: Session,
        actor: str,
        action: str,
        backfill_id: int,
        arguments: dict[str, Any],
    ) -> None:
        arguments = {"backfill_id": backfill_id, **arguments}
        audit_in(session, self.clock(), actor, action, arguments, {"backfill_id": backfill_id})


def _date_view(row: BackfillDate) -> BackfillDateView:
    return BackfillDateView(
        id=row.id,
        game_date=row.game_date,
        state=DateState(row.state),
        correlation_id=row.correlation_id,
        published_at=row.published_at,
        completed_at=row.completed_at,
        graded_count=row.graded_count,
        mae=row.mae,
        detail=row.detail,
        message_id=row.message_id,
    )
