"""The platform's grading function, simulated: it consumes nba-grading-trigger and grades a date.

For a trigger `{"target_date", "correlation_id", …}` it replaces that date's rows in
`prediction_accuracy` with a grade of every gradable prediction whose player has actuals (so
grading twice changes nothing), then publishes `nba-grading-complete` with the date, `status`,
`graded_count`, `mae` and the same `correlation_id`. The fault plan can fail dates, make dates
slow, and deliver completions twice.
"""

from __future__ import annotations

import threading
from datetime import UTC, date
from typing import Any

import duckdb

from sandbox.faults import RegradeFaults
from sandbox.pubsub_emulator import PubSubEmulator

GRADE = """
INSERT INTO nba_predictions.prediction_accuracy
SELECT p.player_lookup, p.game_id, p.game_date, p.system_id, p.current_points_line,
       s.points, (s.points > p.current_points_line) = (p.predicted_points > p.current_points_line),
       FALSE, ?
FROM nba_predictions.player_prop_predictions p
JOIN nba_analytics.player_game_summary s
  ON s.game_id = p.game_id AND s.player_lookup = p.player_lookup AND s.game_date = p.game_date
WHERE p.game_date = ? AND p.is_active AND p.line_source IN ('ACTUAL_PROP', 'ESTIMATED_AVG')
  AND p.game_id IN (
    SELECT game_id FROM nba_reference.nba_schedule WHERE game_date = ? AND game_status = 3
  )
"""
MAE = """
SELECT COUNT(*), AVG(ABS(p.predicted_points - s.points))
FROM nba_predictions.player_prop_predictions p
JOIN nba_predictions.prediction_accuracy a
  ON a.game_date = p.game_date AND a.game_id = p.game_id AND a.player_lookup = p.player_lookup
 AND a.system_id = p.system_id
JOIN nba_analytics.player_game_summary s
  ON s.game_id = p.game_id AND s.player_lookup = p.player_lookup AND s.game_date = p.game_date
WHERE p.game_date = ?
"""


class GradingSimulator:
    def __init__(
        self,
        pubsub: PubSubEmulator,
        con: duckdb.DuckDBPyConnection,
        clock: Any,
        faults: RegradeFaults,
        *,
        trigger_topic: str = "nba-grading-trigger",
        complete_topic: str = "nba-grading-complete",
    ) -> None:
        self.pubsub = pubsub
        self.con = con
        self.clock = clock
        self.faults = faults
        self.complete_topic = complete_topic
        self.graded: list[date] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        pubsub.create_topic(complete_topic)
        pubsub.listen(trigger_topic, self.on_trigger)

    def on_trigger(self, body: dict[str, Any], attributes: dict[str, str]) -> None:
        try:
            day = date.fromisoformat(str(body.get("target_date")))
        except ValueError:
            return  # the real function would dead-letter it
        delay = self.faults.slow_s if day.isoformat() in self.faults.slow_dates else 0.0
        if delay and self.stopping.wait(delay):
            return
        completion: dict[str, Any] = {
            "target_date": day.isoformat(),
            "correlation_id": body.get("correlation_id"),
        }
        if day.isoformat() in self.faults.fail_dates:
            completion |= {
                "status": "failed",
                "error": "grading failed: injected by the fault plan",
            }
        else:
            graded, mae = self.grade(day)
            completion |= {"status": "success", "graded_count": graded, "mae": mae}
        copies = 2 if self.faults.duplicate_completions else 1
        import json

        for _ in range(copies):
            self.pubsub.publish(self.complete_topic, json.dumps(completion).encode(), {})

    def grade(self, day: date) -> tuple[int, float | None]:
        """Replace the date's grading; (graded rows, mean absolute error)."""
        now = self.clock().astimezone(UTC).replace(tzinfo=None)
        with self._lock:
            cursor = self.con.cursor()
            try:
                cursor.execute("BEGIN TRANSACTION")
                cursor.execute(
                    "DELETE FROM nba_predictions.prediction_accuracy WHERE game_date = ?", [day]
                )
                cursor.execute(GRADE, [now, day, day])
                cursor.execute("COMMIT")
                row = cursor.execute(MAE, [day]).fetchone()
            finally:
                cursor.close()
            self.graded.append(day)
        count, mae = (int(row[0]), row[1]) if row else (0, None)
        return count, round(float(mae), 2) if mae is not None else None
