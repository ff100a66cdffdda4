"""The sandbox's platform monorepo: the platform's layout (docs/platform.md) and a season on main."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sandbox.demo_tables import cache_dir
from sandbox.git_history import Area, HistorySpec, PinnedCommit, cached_history

VEGAS_FIX_SUBJECT = (
    "fix(phase4): restore Vegas line coverage in ml_feature_store_v2 "
    "(read BettingPros lines for every player)"
)
VEGAS_FIX_AT = datetime(2026, 2, 2, 20, 14, tzinfo=UTC)
PHASE4_DEPLOYED_AT = datetime(2026, 1, 26, 19, 0, tzinfo=UTC)  # the code phase 4 kept running

PLATFORM_AREAS = (
    Area("predictions/worker", 8, "worker"),
    Area("predictions/coordinator", 5, "coordinator"),
    Area("predictions/shared", 4, "predictions"),
    Area("shared", 10, "shared"),
    Area("scrapers", 12, "scrapers"),
    Area("data_processors/raw", 10, "phase2"),
    Area("data_processors/analytics", 10, "phase3"),
    Area(
        "data_processors/precompute",
        30,
        "phase4",
        ("main.py", "config.py", "ml_feature_store/builder.py", "ml_feature_store/vegas_lines.py"),
    ),
    Area("data_processors/grading/nba", 7, "grading"),
    Area("schemas/bigquery", 3, "schema", ("predictions.sql", "analytics.sql", "raw.sql")),
    Area("ml/training", 6, "training"),
    Area("docs", 5, "docs", ("runbook.md", "architecture.md", "deploy.md")),
    Area("bin", 4, "bin", ("deploy-service.sh", "check-drift.sh")),
)

PLATFORM_HISTORY = HistorySpec(
    areas=PLATFORM_AREAS,
    start=datetime(2025, 9, 15, 16, 0, tzinfo=UTC),
    end=datetime(2026, 2, 5, 17, 30, tzinfo=UTC),
    commits=6500,
    seed=20260205,
    ramp=0.7,
    pinned=(
        PinnedCommit(
            VEGAS_FIX_AT,
            "data_processors/precompute/ml_feature_store/vegas_lines.py",
            VEGAS_FIX_SUBJECT,
            author=2,
        ),
    ),
    extra_files=("README.md",),
)


def platform_repo() -> tuple[Path, bool]:
    """The demo monorepo's checkout in the cache (built on first use); (path, built now)."""
    return cached_history(cache_dir(), "platform-repo", PLATFORM_HISTORY)
