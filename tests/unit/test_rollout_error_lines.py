"""A bad canary's rollout message says each ERROR line once, with how often and when (issue 31: 8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.cloud_logging import LogLine
from adapters.monitoring import RevisionMetrics
from bot.views.deploy import rollout_view
from commands.deploy.verdict import Verdict, judge
from config import DeployConfig
from store.states import RolloutState
from store.views import RolloutView

POLICY = DeployConfig()
FIRST = datetime(2026, 2, 5, 18, 14, 5, tzinfo=UTC)
KEY_ERROR = "KeyError: 'bookmaker_id' in scrapers/odds_api/normalise.py:88"
TIMEOUT = "TimeoutError: odds API did not answer in 10 s"


def _canary() -> RolloutView:
    return RolloutView(
        id=4,
        service="nba-scrapers",
        commit_sha="b" * 40,
        stable_revision="nba-scrapers-00055-aaa",
        canary_revision="nba-scrapers-canary-4",
        state=RolloutState.CANARY,
        step=0,
        failures=1,
        requested_by="U0SAMDEPLY",
        approvals=(),
        reason=None,
        slack_channel=None,
        slack_ts=None,
        created_at=FIRST,
        updated_at=FIRST,
        step_started_at=FIRST,
        data_baseline=None,
        ending=None,
        version=3,
    )


def _bad_canary_text() -> str:
    """The rollout message after a failing analysis that read 4 identical lines and 1 other."""
    lines = [  # newest first, as the analysis reads them
        LogLine(FIRST + timedelta(seconds=225), "ERROR", KEY_ERROR),
        LogLine(FIRST + timedelta(seconds=150), "ERROR", TIMEOUT),
        LogLine(FIRST + timedelta(seconds=120), "ERROR", KEY_ERROR),
        LogLine(FIRST + timedelta(seconds=60), "ERROR", KEY_ERROR),
        LogLine(FIRST, "ERROR", KEY_ERROR),
    ]
    canary = RevisionMetrics("c", 600, 72, 900.0)
    stable = RevisionMetrics("s", 5400, 11, 160.0)
    analysis = judge(canary, stable, POLICY, errors=lines)
    assert analysis.verdict is Verdict.FAIL
    _, blocks = rollout_view(_canary(), POLICY, analysis)
    for block in blocks:
        block.validate_json()
    return "\n".join(str(block.to_dict()) for block in blocks)


def test_a_bad_canarys_identical_error_lines_are_said_once_with_count_and_first_and_last_time() -> (
    None
):
    """The message listed the same KeyError 4 times, one line each."""
    text = _bad_canary_text()
    assert text.count("bookmaker_id") == 1
    assert f"ERROR, 4 times from 18:14:05 to 18:17:50 UTC: {KEY_ERROR}" in text
    assert f"ERROR: {TIMEOUT}" in text  # a line seen once is said once, without a count
    assert text.index("bookmaker_id") < text.index("TimeoutError")  # in the order first logged
    assert "the newest 5 lines of the analysed window" in text  # a sample, not every line
