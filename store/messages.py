"""Each rollout, backfill and postmortem has one Slack message: the first recorded wins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from store.database import Database


def attach_once(database: Database, table: Any, row_id: int, channel: str, ts: str) -> bool:
    """Record the row's message unless one is recorded already; whether this one was.

    Two replicas posting at once both try: the conditional update lets one in, and the other
    deletes the message it posted.
    """
    with database.session() as session:
        moved = session.execute(
            update(table)
            .where(table.id == row_id, table.slack_ts.is_(None))
            .values(slack_channel=channel, slack_ts=ts)
            .execution_options(synchronize_session=False)
        )
        return bool(moved.rowcount == 1)  # type: ignore[attr-defined]
