"""What each Cloud Run revision wrote: predictions stamped with its `deployment_revision`.

A canary can answer every request with a 200 and still write nothing, or half of what it should;
request metrics cannot see that, its data can. The canary analysis reads this for the canary and
the stable revision over the same window (commands/deploy/verdict.py judges it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.warehouse import Query, Warehouse, bind_tables
from config import Profile

SQL = """
SELECT deployment_revision AS revision, COUNT(*) AS written
FROM $predictions
WHERE game_date BETWEEN @first_day AND @last_day
  AND created_at >= @since AND created_at < @until
  AND deployment_revision IN UNNEST(@revisions)
GROUP BY deployment_revision
"""


def predictions_by_revision(
    warehouse: Warehouse,
    profile: Profile,
    revisions: list[str],
    since: datetime,
    until: datetime,
) -> dict[str, int]:
    """Rows each revision wrote in [since, until) (0 for one that wrote none)."""
    game_days = ZoneInfo(profile.platform.game_timezone)  # the partitions are ET game dates
    first = since.astimezone(game_days).date() - timedelta(days=1)
    last = until.astimezone(game_days).date() + timedelta(days=1)  # tomorrow's slate, too
    rows = warehouse.run(
        Query(
            sql=bind_tables(SQL, profile.tables.model_dump()),
            params={
                "first_day": first,
                "last_day": last,
                "since": since,
                "until": until,
                "revisions": revisions,
            },
            tables=(profile.tables.predictions,),
        )
    )
    found = {str(row["revision"]): int(row["written"]) for row in rows}
    return {revision: found.get(revision, 0) for revision in revisions}
