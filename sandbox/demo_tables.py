"""Writes the demo season into DuckDB tables shaped like the platform's BigQuery tables.

Generation is deterministic (one seed) and cached on disk, keyed by the generator's source and
the DuckDB version, so a warm start only copies the cached database into memory.
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb

from sandbox import demo_season
from sandbox.demo_season import (
    ACTIVE_PER_TEAM,
    MODELS,
    NORMAL_VEGAS_COVERAGE,
    PHASE3_PROCESSORS,
    PHASE3_ROWS_PER_GAME,
    SANDBOX_TODAY,
    VOID_UNDER_MINUTES,
    Game,
    Incidents,
    roster,
    schedule,
)

SEED = 20251021
FEATURE_COUNT = 33
VEGAS_INDEX = 25
# A thin stand-in for ~450 play-by-play events: bdb_coverage judges a game's events against the
# median game's, so only the ratio matters.
EVENTS_PER_GAME = 3


@dataclass(frozen=True)
class TableSpec:
    columns: str
    partition_column: str = "game_date"


TABLES: dict[str, TableSpec] = {
    "nba_reference.nba_schedule": TableSpec(
        "game_id VARCHAR, game_date DATE, game_status BIGINT, home_team_abbr VARCHAR,"
        " away_team_abbr VARCHAR"
    ),
    "nba_predictions.ml_feature_store_v2": TableSpec(
        "player_lookup VARCHAR, game_date DATE, game_id VARCHAR, features DOUBLE[],"
        " feature_count BIGINT, has_vegas_line BOOLEAN, created_at TIMESTAMP"
    ),
    "nba_predictions.player_prop_predictions": TableSpec(
        "prediction_id VARCHAR, system_id VARCHAR, player_lookup VARCHAR, game_date DATE,"
        " game_id VARCHAR, predicted_points DOUBLE, confidence_score DOUBLE, recommendation VARCHAR,"
        " current_points_line DOUBLE, line_source VARCHAR, is_active BOOLEAN,"
        " build_commit_sha VARCHAR, deployment_revision VARCHAR, created_at TIMESTAMP"
    ),
    "nba_predictions.prediction_accuracy": TableSpec(
        "player_lookup VARCHAR, game_id VARCHAR, game_date DATE, system_id VARCHAR,"
        " line_value DOUBLE, actual_points BIGINT, prediction_correct BOOLEAN, is_voided BOOLEAN,"
        " graded_at TIMESTAMP"
    ),
    "nba_analytics.player_game_summary": TableSpec(
        "player_lookup VARCHAR, game_id VARCHAR, game_date DATE, team_abbr VARCHAR, points BIGINT,"
        " minutes_played DOUBLE, processed_at TIMESTAMP"
    ),
    "nba_raw.bigdataball_play_by_play": TableSpec(
        "game_id VARCHAR, bdb_game_id VARCHAR, game_date DATE, event_id BIGINT"
    ),
    "nba_raw.bettingpros_player_points_props": TableSpec(
        "game_date DATE, market_type VARCHAR, player_lookup VARCHAR, bookmaker VARCHAR,"
        " points_line DECIMAL(5, 1)"
    ),
    "nba_orchestration.phase_completions": TableSpec(
        "phase VARCHAR, game_date DATE, processor_name VARCHAR, status VARCHAR,"
        " record_count BIGINT, completed_at TIMESTAMP"
    ),
}


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """A naive UTC timestamp (DuckDB TIMESTAMP; served as BigQuery TIMESTAMP)."""
    return datetime.combine(day, time(hour, minute))


class _Writer:
    """One CSV per table in a scratch directory, loaded with COPY at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: dict[str, Any] = {}
        self._writers: dict[str, Any] = {}

    def add(self, table: str, rows: Iterable[tuple[Any, ...]]) -> None:
        if table not in self._writers:
            handle = (self.directory / f"{table}.csv").open("w", newline="", encoding="utf-8")
            self._files[table] = handle
            self._writers[table] = csv.writer(handle)
        self._writers[table].writerows(rows)

    def load_into(self, con: duckdb.DuckDBPyConnection) -> None:
        for handle in self._files.values():
            handle.close()
        for table in TABLES:
            path = self.directory / f"{table}.csv"
            if path.exists():
                con.execute(f"COPY {table} FROM '{path}' (HEADER false, NULLSTR '')")


def _player_games(
    rng: random.Random, games: list[Game]
) -> Iterator[tuple[Game, list[tuple[str, str]]]]:
    """Each game's active players as (team, player_lookup)."""
    for game in games:
        players = [
            (team, player)
            for team in (game.home, game.away)
            for player in sorted(rng.sample(roster(team), ACTIVE_PER_TEAM))
        ]
        yield game, players


def _write_day(
    out: _Writer,
    rng: random.Random,
    day: date,
    day_games: list[tuple[Game, list[tuple[str, str]]]],
    incidents: Incidents,
) -> None:
    final = day < SANDBOX_TODAY
    everyone = [(game, team, player) for game, players in day_games for team, player in players]
    coverage = incidents.vegas_coverage.get(day, NORMAL_VEGAS_COVERAGE + rng.uniform(-0.03, 0.03))
    with_line = set(rng.sample(range(len(everyone)), round(len(everyone) * coverage)))
    lines: dict[str, float] = {}
    feature_rows, props, summaries = [], [], []
    # When the night's player_game_summary wrote nothing, its rows come from the re-run after the
    # rollback (2026-01-14 18:30 UTC), at 20:00 UTC, and the date was graded after that.
    rerun = "player_game_summary" in incidents.phase3_empty.get(day, ())
    processed_at = _at(day + timedelta(days=1), 20 if rerun else 8)
    graded_at = _at(day + timedelta(days=1), 21 if rerun else 9)
    for index, (game, team, player) in enumerate(everyone):
        features = [round(rng.uniform(0, 30), 1) for _ in range(FEATURE_COUNT)]
        line = round(rng.uniform(5.5, 30.5) * 2) / 2 if index in with_line else 0.0
        features[VEGAS_INDEX] = line
        if line:
            lines[player] = line
            props += [(day, "points", player, book, line) for book in ("draftkings", "fanduel")]
        feature_rows.append(
            (player, day, game.game_id, str(features), FEATURE_COUNT, bool(line), _at(day, 11))
        )
        if final:
            points = rng.randint(0, 38)
            summaries.append(
                (
                    player,
                    game.game_id,
                    day,
                    team,
                    points,
                    round(rng.uniform(4, 40), 1),
                    processed_at,
                )
            )
    out.add("nba_predictions.ml_feature_store_v2", feature_rows)
    out.add("nba_raw.bettingpros_player_points_props", props)
    out.add("nba_analytics.player_game_summary", summaries)
    actual_points = {(row[1], row[0]): row[4] for row in summaries}
    void = {(row[1], row[0]) for row in summaries if row[5] < VOID_UNDER_MINUTES}

    for model in MODELS:
        share = incidents.main_model_share.get(day, 1.0) if model == "catboost_v9" else 1.0
        predicted = everyone[: round(len(everyone) * share)]
        graded_share = incidents.ungraded.get((model, day), 1.0)
        rows, gradable = [], []
        for game, _team, player in predicted:
            source = (
                "ACTUAL_PROP"
                if player in lines
                else rng.choice(("ESTIMATED_AVG", "ESTIMATED_AVG", "ESTIMATED_AVG", "NO_PROP_LINE"))
            )
            line = lines.get(player, round(rng.uniform(5.5, 25.5) * 2) / 2)
            predicted_points = round(line + rng.uniform(-6, 6), 1)
            recommendation = (
                "OVER"
                if predicted_points > line + 1
                else "UNDER"
                if predicted_points < line - 1
                else "PASS"
            )
            rows.append(
                (
                    f"{model}-{game.game_id}-{player}",
                    model,
                    player,
                    day,
                    game.game_id,
                    predicted_points,
                    round(rng.uniform(0.5, 0.95), 3),
                    recommendation,
                    line if source != "NO_PROP_LINE" else None,
                    source,
                    True,
                    "6f195068",
                    "prediction-worker-00188-kq2",
                    _at(day, 17),
                )
            )
            if source != "NO_PROP_LINE":
                gradable.append((game, player, line, predicted_points))
        out.add("nba_predictions.player_prop_predictions", rows)
        if final:
            graded = gradable[: round(len(gradable) * graded_share)]
            out.add(
                "nba_predictions.prediction_accuracy",
                [
                    (
                        player,
                        game.game_id,
                        day,
                        model,
                        line,
                        actual_points[(game.game_id, player)],
                        (actual_points[(game.game_id, player)] > line) == (predicted > line),
                        (game.game_id, player) in void,
                        graded_at,
                    )
                    for game, player, line, predicted in graded
                ],
            )

    out.add(
        "nba_reference.nba_schedule",
        [(game.game_id, day, 3 if final else 1, game.home, game.away) for game, _ in day_games],
    )
    if final:
        share = incidents.bdb_covered_share.get(day, 1.0)
        covered = [game for game, _ in day_games][: round(len(day_games) * share)]
        out.add(
            "nba_raw.bigdataball_play_by_play",
            [
                (game.game_id, f"bdb-{game.game_id}", day, event)
                for game in covered
                for event in range(1, EVENTS_PER_GAME + 1)
            ],
        )
        missing = incidents.phase3_missing.get(day, ())
        empty = incidents.phase3_empty.get(day, ())
        out.add(
            "nba_orchestration.phase_completions",
            [
                (
                    "phase3",
                    day,
                    name,
                    "success",
                    0 if name in empty else len(day_games) * PHASE3_ROWS_PER_GAME[name],
                    _at(day + timedelta(days=1), 7, 30),
                )
                for name in PHASE3_PROCESSORS
                if name not in missing
            ],
        )


def build_database(path: Path, incidents: Incidents | None = None) -> None:
    """Generate the whole demo season into a DuckDB file at `path`."""
    incidents = incidents or Incidents()
    rng = random.Random(SEED)
    games = schedule(rng, incidents)
    con = duckdb.connect(str(path))
    try:
        for name, spec in TABLES.items():
            dataset = name.split(".")[0]
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {dataset}")
            con.execute(f"CREATE TABLE {name} ({spec.columns})")
        with tempfile.TemporaryDirectory(prefix="opsbot-seed-") as scratch:
            out = _Writer(Path(scratch))
            by_day: dict[date, list[tuple[Game, list[tuple[str, str]]]]] = {}
            for game, players in _player_games(rng, games):
                by_day.setdefault(game.game_date, []).append((game, players))
            for day in sorted(by_day):
                if day <= SANDBOX_TODAY:
                    _write_day(out, rng, day, by_day[day], incidents)
                else:
                    out.add(
                        "nba_reference.nba_schedule",
                        [(game.game_id, day, 1, game.home, game.away) for game, _ in by_day[day]],
                    )
            out.load_into(con)
    finally:
        con.close()


def cache_key() -> str:
    digest = hashlib.sha256(duckdb.__version__.encode())
    for module in (demo_season, __import__(__name__, fromlist=["_"])):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    configured = os.environ.get("OPSBOT_CACHE_DIR")
    base = (
        Path(configured)
        if configured
        else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "opsbot"
    )
    return base


def cached_database() -> tuple[Path, bool]:
    """The path of the seeded database, building it on first use; (path, was_built_now)."""
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"sandbox-{cache_key()}.duckdb"
    if path.exists():
        return path, False
    fd, scratch = tempfile.mkstemp(dir=directory, suffix=".building")
    os.close(fd)
    os.unlink(scratch)  # DuckDB creates the file itself
    try:
        build_database(Path(scratch))
        os.replace(scratch, path)  # atomic: a concurrent start sees the whole file or none
    finally:
        for leftover in (Path(scratch), Path(f"{scratch}.wal")):
            leftover.unlink(missing_ok=True)
    return path, True


def open_in_memory() -> tuple[duckdb.DuckDBPyConnection, bool]:
    """A private in-memory copy of the seeded database; (connection, was_built_now)."""
    path, built = cached_database()
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{path}' AS seed (READ_ONLY)")
    con.execute("COPY FROM DATABASE seed TO memory")
    con.execute("DETACH seed")
    return con, built
