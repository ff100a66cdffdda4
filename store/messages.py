"""Each rollout, backfill and postmortem has one Slack message: the first recorded wins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from store.database import Database


def attach_once(
    database: Database,
    table: Any,
    row_id: int,
    channel: str,
    ts: str,
    *,
    replacing: str | None = None,
) -> bool:
    """Record the row's message unless one is recorded already; whether this one was.

    Two replicas posting at once both try: the conditional update lets one in, and the other
    deletes the message it posted. `replacing`: the message recorded before, deleted in Slack;
    the new one takes its place only if it is still the one recorded.
    """
    recorded = table.slack_ts.is_(None) if replacing is None else table.slack_ts == replacing
    with database.session() as session:
        moved = session.execute(
            update(table)
            .where(table.id == row_id, recorded)
            .values(slack_channel=channel, slack_ts=ts)
            .execution_options(synchronize_session=False)
        )
        return bool(moved.rowcount == 1)  # type: ignore[attr-defined]
