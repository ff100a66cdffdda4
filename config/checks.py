"""The warehouse checks' thresholds ([checks.*] in opsbot.toml): floors, baselines, volumes.

Each number's reason is in opsbot.toml beside it and in docs/commands.md ("opsbot health").
"""

from __future__ import annotations

from string import Template
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field, model_validator

from config.common import Strict

Percent = Annotated[float, Field(ge=0, le=100)]
Share = Annotated[float, Field(gt=0, le=1)]


def action_template(fields: tuple[str, ...]) -> Any:
    """A suggested command whose $placeholders must be among `fields`."""

    def validate(value: str | None) -> str | None:
        if value is None:
            return None
        try:
            Template(value).substitute({name: "x" for name in fields})
        except (KeyError, ValueError) as exc:
            raise ValueError(f"unknown placeholder {exc}; allowed: ${', $'.join(fields)}") from exc
        return value

    return AfterValidator(validate)


class FloorThresholds(Strict):
    ok_min: Percent
    warn_min: Percent

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.warn_min > self.ok_min:
            raise ValueError("warn_min must not exceed ok_min")
        return self


class VolumeBaseline(Strict):
    """A volume's own baseline: the median over the previous game days that had it."""

    baseline_game_days: int = Field(default=28, ge=3)
    baseline_min_game_days: int = Field(default=7, ge=1)

    @model_validator(mode="after")
    def _baseline_reachable(self) -> Self:
        if self.baseline_min_game_days > self.baseline_game_days:
            raise ValueError(
                "baseline_min_game_days must not exceed baseline_game_days: "
                "no baseline could ever be taken"
            )
        return self


class VegasLineCoverageConfig(FloorThresholds):
    ok_min: Percent = 35.0
    warn_min: Percent = 20.0
    line_feature_index: int = Field(default=25, ge=0)
    baseline_game_days: int = Field(default=28, ge=3)
    baseline_min_game_days: int = Field(default=7, ge=1)
    baseline_warn_drop: float = Field(default=0.25, gt=0, lt=1)
    baseline_critical_drop: float = Field(default=0.5, gt=0, lt=1)
    features_hour: int = Field(default=10, ge=0, le=23)  # ET: today's features are due by then
    action: Annotated[str | None, action_template(("date",))] = None


class GradingCompletenessConfig(FloorThresholds, VolumeBaseline):
    ok_min: Percent = 80.0
    warn_min: Percent = 50.0
    lookback_days: int = Field(default=7, ge=1, le=60)
    gradable_line_sources: list[str] = Field(
        default_factory=lambda: ["ACTUAL_PROP", "ESTIMATED_AVG"]
    )
    # A date's voided share (of its graded rows), in points above the model's baseline (the
    # median of its graded dates before the window): scratches move it a few points a night.
    voided_warn_points: Percent = 20.0
    voided_critical_points: Percent = 50.0
    action: Annotated[str | None, action_template(("date",))] = None

    @model_validator(mode="after")
    def _voided_ordered(self) -> Self:
        if self.voided_warn_points > self.voided_critical_points:
            raise ValueError("voided_warn_points must not exceed voided_critical_points")
        return self


class Phase3CompletionConfig(VolumeBaseline):
    phase: str = "phase3"
    success_status: str = "success"
    expected_processors: list[str] = Field(
        default_factory=lambda: [
            "player_game_summary",
            "team_offense_game_summary",
            "team_defense_game_summary",
            "upcoming_player_game_context",
            "upcoming_team_game_context",
        ],
        min_length=1,
    )
    warn_min: int = Field(default=3, ge=0)
    # Rows a processor writes per game, as the slate implies (a processor left out is judged
    # by its baseline alone); its record_count is judged against this and against its baseline.
    rows_per_game: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: {
            "player_game_summary": 26.0,  # one row per active player (13 a team)
            "team_offense_game_summary": 2.0,  # one per team
            "team_defense_game_summary": 2.0,
            "upcoming_player_game_context": 26.0,
            "upcoming_team_game_context": 2.0,
        }
    )
    volume_warn_share: Share = 0.5  # below this share of the expected rows: WARN
    volume_critical_share: Share = 0.1  # below this (a success that wrote ~nothing): CRITICAL
    action: Annotated[str | None, action_template(("date", "missing"))] = None

    @model_validator(mode="after")
    def _volume_ordered(self) -> Self:
        if self.volume_critical_share > self.volume_warn_share:
            raise ValueError("volume_critical_share must not exceed volume_warn_share")
        return self


class RecentPredictionsConfig(FloorThresholds):
    """Shares of the slate's expected predictions: games × players_per_game, both ways."""

    model: str = "catboost_v9"  # the main model: its share is the check's value
    other_models: list[str] = Field(default_factory=list)  # judged the same way, each
    ok_min: Percent = 80.0
    warn_min: Percent = 25.0
    players_per_game: int = Field(default=26, ge=1)  # 13 active players a team
    # Active rows per predicted player above this WARN: a re-run left its first rows active.
    max_rows_per_player: float = Field(default=1.2, ge=1)
    generation_hour: int = Field(default=12, ge=0, le=23)
    action: Annotated[str | None, action_template(("date", "model"))] = None


class BdbCoverageConfig(FloorThresholds, VolumeBaseline):
    ok_min: Percent = 90.0
    warn_min: Percent = 50.0
    # A final game counts as covered with at least this share of the median game's events
    # (over the baseline's game days); fewer is a partial feed, counted as not covered.
    partial_events_share: Share = 0.5
    action: Annotated[str | None, action_template(("date", "missing"))] = None


class ChecksConfig(Strict):
    vegas_line_coverage: VegasLineCoverageConfig = VegasLineCoverageConfig()
    grading_completeness: GradingCompletenessConfig = GradingCompletenessConfig()
    phase3_completion: Phase3CompletionConfig = Phase3CompletionConfig()
    recent_predictions: RecentPredictionsConfig = RecentPredictionsConfig()
    bdb_coverage: BdbCoverageConfig = BdbCoverageConfig()
