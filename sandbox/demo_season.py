"""The demo 2025–26 season: schedule, rosters and the incidents planted on documented dates.

Pure data decisions (which day has how many games, what went wrong when); the tables are
written from these by `demo_tables`. docs/sandbox.md lists every incident and the check it trips.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

SEASON_START = date(2025, 10, 21)
SEASON_END = date(2026, 4, 12)
TOTAL_GAMES = 1230
#: The sandbox's "now": Thursday 2026-02-05, 10:00 PT / 13:00 ET, after predictions are generated.
SANDBOX_NOW = datetime(2026, 2, 5, 18, 0, tzinfo=UTC)
SANDBOX_TODAY = date(2026, 2, 5)

TEAMS = [
    "ATL",
    "BOS",
    "BKN",
    "CHA",
    "CHI",
    "CLE",
    "DAL",
    "DEN",
    "DET",
    "GSW",
    "HOU",
    "IND",
    "LAC",
    "LAL",
    "MEM",
    "MIA",
    "MIL",
    "MIN",
    "NOP",
    "NYK",
    "OKC",
    "ORL",
    "PHI",
    "PHX",
    "POR",
    "SAC",
    "SAS",
    "TOR",
    "UTA",
    "WAS",
]
ROSTER_SIZE = 15
ACTIVE_PER_TEAM = 13
MODELS = ("catboost_v9", "catboost_v8", "ensemble_v1", "ensemble_v1_1")
PHASE3_PROCESSORS = (
    "player_game_summary",
    "team_offense_game_summary",
    "team_defense_game_summary",
    "upcoming_player_game_context",
    "upcoming_team_game_context",
)
#: What each phase-3 processor writes for a game: a row per active player, or per team.
PHASE3_ROWS_PER_GAME = {
    "player_game_summary": 2 * ACTIVE_PER_TEAM,
    "team_offense_game_summary": 2,
    "team_defense_game_summary": 2,
    "upcoming_player_game_context": 2 * ACTIVE_PER_TEAM,
    "upcoming_team_game_context": 2,
}
#: Players who played under this many minutes have their props graded void (a stand-in for
#: late scratches): about 5% of a night's graded predictions.
VOID_UNDER_MINUTES = 6.0

OFF_DAYS = {
    date(2025, 11, 27): "Thanksgiving",
    date(2025, 12, 24): "Christmas Eve",
    **{date(2026, 2, 13) + timedelta(days=i): "All-Star break" for i in range(6)},
}
NORMAL_VEGAS_COVERAGE = 0.42


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


@dataclass(frozen=True)
class Incidents:
    """What goes wrong on which game date (see docs/sandbox.md)."""

    vegas_coverage: dict[date, float] = field(
        default_factory=lambda: {
            **{
                d: 0.14 for d in _days(date(2026, 1, 26), date(2026, 2, 1))
            },  # drift: fix not deployed
            date(2026, 2, 2): 0.27,  # partial recovery
        }
    )
    ungraded: dict[tuple[str, date], float] = field(
        default_factory=lambda: {
            **{
                (model, d): 0.0
                for model in ("ensemble_v1", "ensemble_v1_1")
                for d in _days(date(2026, 1, 28), date(2026, 2, 3))
            },
            **{("catboost_v8", d): 0.6 for d in _days(date(2026, 1, 10), date(2026, 1, 16))},
        }
    )
    phase3_missing: dict[date, tuple[str, ...]] = field(
        default_factory=lambda: {
            date(2026, 1, 15): ("team_defense_game_summary", "upcoming_team_game_context"),
            date(2025, 12, 10): PHASE3_PROCESSORS[1:],
        }
    )
    # Processors that reported success having written nothing (record_count 0): the phase-3
    # service ran a bad commit that night (deployed 2026-01-13, rolled back 2026-01-14); a re-run
    # by hand after the rollback rewrote the rows, and the orchestrator records no such re-run.
    phase3_empty: dict[date, tuple[str, ...]] = field(
        default_factory=lambda: {date(2026, 1, 13): ("player_game_summary",)}
    )
    bdb_covered_share: dict[date, float] = field(
        default_factory=lambda: {date(2026, 1, 20): 5 / 9, date(2026, 1, 21): 0.0}
    )
    main_model_share: dict[date, float] = field(
        default_factory=lambda: {date(2026, 1, 8): 0.3, date(2026, 1, 9): 0.0}
    )
    games_on: dict[date, int] = field(
        default_factory=lambda: {
            date(2025, 12, 16): 1,  # NBA Cup final: a one-game slate
            date(2026, 1, 8): 8,
            date(2026, 1, 9): 8,
            date(2026, 1, 20): 9,
            date(2026, 1, 21): 8,
        }
    )


@dataclass(frozen=True)
class Game:
    game_id: str
    game_date: date
    home: str
    away: str


def season_days() -> list[date]:
    return [d for d in _days(SEASON_START, SEASON_END) if d not in OFF_DAYS]


def games_per_day(rng: random.Random, incidents: Incidents) -> dict[date, int]:
    """Between 2 and 13 games a day (fixed on incident dates), 1,230 in all."""
    days = season_days()
    counts = {d: incidents.games_on.get(d, rng.randint(3, 12)) for d in days}
    free = [d for d in days if d not in incidents.games_on]
    while (total := sum(counts.values())) != TOTAL_GAMES:
        day = rng.choice(free)
        step = 1 if total < TOTAL_GAMES else -1
        if 2 <= counts[day] + step <= 13:
            counts[day] += step
    return counts


def schedule(rng: random.Random, incidents: Incidents) -> list[Game]:
    """Each day pairs the teams with the fewest games so far: every team plays 82."""
    played = dict.fromkeys(TEAMS, 0)
    games: list[Game] = []
    for day, count in sorted(games_per_day(rng, incidents).items()):
        order = sorted(TEAMS, key=lambda team: (played[team], rng.random()))[: count * 2]
        rng.shuffle(order)
        for home, away in zip(order[::2], order[1::2], strict=True):
            played[home] += 1
            played[away] += 1
            games.append(Game(f"00225{len(games) + 1:05d}", day, home, away))
    return games


def roster(team: str) -> list[str]:
    """Player lookups of a team (stable, readable, unique)."""
    return [f"{team.lower()}player{number:02d}" for number in range(1, ROSTER_SIZE + 1)]
