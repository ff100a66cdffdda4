"""The deploy messages stay inside Slack's limits and only offer the buttons that apply."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.cloud_logging import LogLine
from adapters.git import CommitInfo
from adapters.monitoring import RevisionMetrics
from bot.views.deploy import checklist_view, rollout_view
from commands.deploy.checklist import Checklist
from commands.deploy.verdict import judge, judge_output
from config import DeployConfig
from store.states import RolloutState
from store.views import RolloutView

NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)
POLICY = DeployConfig()


def _rollout(state: str, step: int = 0, reason: str | None = None) -> RolloutView:
    return RolloutView(
        id=7,
        service="alpha",
        commit_sha="a" * 40,
        stable_revision="alpha-00001-aaa",
        canary_revision="alpha-canary-7-aaaaaaa",
        state=RolloutState(state),
        step=step,
        failures=0,
        requested_by="U0SAMDEPLY",
        approvals=(),
        reason=reason,
        slack_channel=None,
        slack_ts=None,
        created_at=NOW,
        updated_at=NOW,
        step_started_at=NOW,
        data_baseline=None,
        ending=None,
        version=3,
    )


def _actions(blocks: Sequence[object]) -> list[str]:
    found = []
    for block in blocks:
        for element in getattr(block, "elements", None) or []:
            if getattr(element, "action_id", None):
                found.append(element.action_id)
    return found


def test_a_canary_offers_promote_promote_to_100_and_roll_back_each_with_a_confirm() -> None:
    _, blocks = rollout_view(_rollout("canary"), POLICY)
    assert _actions(blocks) == ["rollout.promote", "rollout.promote_full", "rollout.roll_back"]
    for block in blocks:
        block.validate_json()
        for element in getattr(block, "elements", None) or []:
            if getattr(element, "action_id", None):
                assert element.confirm is not None


def test_a_watched_rollout_can_only_be_rolled_back_and_an_ended_one_has_no_buttons() -> None:
    assert _actions(rollout_view(_rollout("watch", step=2), POLICY)[1]) == ["rollout.roll_back"]
    assert _actions(rollout_view(_rollout("rolled_back", reason="x" * 5000), POLICY)[1]) == []


def test_the_analysis_shows_both_revisions_and_the_error_lines_within_limits() -> None:
    canary = RevisionMetrics("c", 600, 72, 900.0)
    stable = RevisionMetrics("s", 5400, 11, 160.0)
    lines = [LogLine(NOW, "ERROR", "KeyError " * 400)] * 5
    _, blocks = rollout_view(
        _rollout("canary"), POLICY, judge(canary, stable, POLICY, errors=lines)
    )
    rendered = str([b.to_dict() for b in blocks])
    assert (
        "canary         600   12.0%      900" in rendered
        and "stable        5400    0.2%      160" in rendered
    )
    for block in blocks:
        block.validate_json()


def _checklist(commit: CommitInfo, **changes: Any) -> Checklist:
    found: dict[str, Any] = {
        "service": "alpha",
        "commit": commit,
        "stable_revision": "alpha-00001-aaa",
        "deployed": "aaaaaaa",
        "shipped_count": 0,
        "shipped": [],
        "schema_changes": [],
        "freeze": None,
        "active_rollout": None,
        "already_deployed": False,
    }
    return Checklist(**(found | changes))


def test_a_checklist_of_many_commits_says_how_many_more() -> None:
    commit = CommitInfo("b" * 40, "Dana", NOW, "feat: <big> & bold")
    checklist = _checklist(
        commit,
        shipped_count=202,
        shipped=[commit] * 10,
        schema_changes=["schemas/x.sql: ALTER TABLE t ADD COLUMN c INT64"],
    )
    _, blocks = checklist_view(checklist, [])
    rendered = str([b.to_dict() for b in blocks])
    assert (
        "_and 192 more_" in rendered
        and "feat: &lt;big&gt; &amp; bold" in rendered
        and "ALTER TABLE" in rendered
    )
    assert _actions(blocks) == ["deploy.start", "deploy.cancel"]
    assert _actions(checklist_view(checklist, ["deploy freeze: games on"])[1]) == []


def test_a_checklist_whose_serving_commit_is_unknown_warns_instead_of_counting_zero() -> None:
    commit = CommitInfo("b" * 40, "Dana", NOW, "fix: retry")
    checklist = _checklist(commit, deployed="0badc0de", shipped_count=None)
    rendered = str([b.to_dict() for b in checklist_view(checklist, [])[1]])
    assert ":warning: *Ships* unknown: alpha-00001-aaa runs an unknown commit" in rendered
    assert "its label 0badc0de is not a commit in the repository" in rendered
    assert "0 commits" not in rendered


def test_a_passing_canarys_output_is_shown_and_a_failing_one_is_a_reason() -> None:
    canary, stable = RevisionMetrics("c", 600, 1, 160.0), RevisionMetrics("s", 5400, 11, 160.0)
    for written, shown in (
        (590, "output: the canary wrote 590"),
        (0, "• output: the canary wrote 0"),
    ):
        output = judge_output(written, 600, 5400, 5400, POLICY.min_output_share)
        _, blocks = rollout_view(
            _rollout("canary"), POLICY, judge(canary, stable, POLICY, output=output)
        )
        assert str([b.to_dict() for b in blocks]).count(shown) == 1


def _read(blocks: Sequence[Any]) -> str:
    """The texts a person reads in the blocks (not button values)."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for key, child in node.items():
                if key != "value":
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk([b.to_dict() for b in blocks])
    return "\n".join(found)


def test_a_checklist_shows_a_full_sha_label_as_short_as_every_other_commit() -> None:
    """Issue 31 (15): one checklist showed the serving commit in 40 characters, another in 8."""
    commit = CommitInfo("b" * 40, "Dana", NOW, "fix: retry")
    label = "80414dbe" + "c" * 32
    for checklist in (
        _checklist(commit, deployed=label, shipped_count=1),
        _checklist(commit, deployed=label, shipped_count=None),
    ):
        rendered = _read(checklist_view(checklist, [])[1])  # a button's value is for machines
        assert "`bbbbbbbb`" in rendered and "80414dbe" in rendered
        assert label not in rendered and "b" * 9 not in rendered
    counted = str([b.to_dict() for b in checklist_view(_checklist(commit, shipped_count=1), [])[1]])
    assert "*Ships* 1 commit touching the service" in counted  # not "1 commits"


def test_an_ended_rollout_says_its_state_in_words() -> None:
    text, blocks = rollout_view(_rollout("rolled_back", reason="2 failing analyses"), POLICY)
    assert text == "Deploy alpha aaaaaaaa: rolled back"
    assert "rolled_back" not in str([b.to_dict() for b in blocks])
