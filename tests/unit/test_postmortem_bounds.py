"""The pure rules bounding a draft's sources (issue 31, items 1, 3 and 4): a rollout's own
traffic changes, when a revision had traffic, what ran during a data incident, and whose
grading backfills are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.cloud_logging import TrafficChange
from adapters.cloudrun_model import Revision
from commands.postmortem.bounds import backfills_concern, own_changes, traffic_spans
from commands.postmortem.causes import ran_during

T0 = datetime(2026, 2, 5, 18, 0, tzinfo=UTC)
STABLE, MINE, NEXT = "svc-00001-aaa", "svc-canary-2-abc", "svc-canary-3-abc"


def _at(minutes: float, split: dict[str, int]) -> TrafficChange:
    return TrafficChange(T0 + timedelta(minutes=minutes), "opsbot@x", split)


def test_a_rollouts_own_changes_are_its_window_and_revisions_only() -> None:
    changes = [
        _at(-0.02, {STABLE: 100}),  # the previous rollout's restore, a second before this began
        _at(0.1, {STABLE: 100, MINE: 0}),  # this canary created (tagged, 0%)
        _at(0.2, {STABLE: 90, MINE: 10}),
        _at(10, {STABLE: 100}),  # this rollback
        _at(10.5, {STABLE: 90, NEXT: 10}),  # the next rollout, 30 s later
    ]
    own = own_changes(changes, {STABLE, MINE}, T0, T0 + timedelta(minutes=10), first_of=MINE)
    assert [c.split for c in own] == [{STABLE: 100, MINE: 0}, {STABLE: 90, MINE: 10}, {STABLE: 100}]


def test_a_revision_had_traffic_from_the_change_giving_it_some_to_the_one_taking_it_all() -> None:
    changes = [
        _at(0, {STABLE: 100, MINE: 0}),
        _at(1, {STABLE: 90, MINE: 10}),
        _at(9, {STABLE: 100}),
    ]
    assert traffic_spans(changes, MINE, T0 + timedelta(minutes=12)) == [
        (T0 + timedelta(minutes=1), T0 + timedelta(minutes=9))
    ]
    assert traffic_spans(changes[:2], MINE, T0 + timedelta(minutes=12)) == [
        (T0 + timedelta(minutes=1), T0 + timedelta(minutes=12))
    ]


def _revision(name: str, created: datetime) -> Revision:
    return Revision(name, "svc", created, f"img:{name}", {"commit-sha": name[-3:]})


def test_what_ran_during_an_incident_is_never_a_revision_given_traffic_after_it() -> None:
    """Item 3: deployed on 02-05, after a 01-26..02-03 incident: 01-26's revision ran it."""
    started, until = datetime(2026, 1, 26, 5, tzinfo=UTC), datetime(2026, 2, 3, 5, tzinfo=UTC)
    old = _revision("svc-00076-355", datetime(2026, 1, 26, 19, tzinfo=UTC))
    new = _revision("svc-00099-new", datetime(2026, 2, 5, 18, tzinfo=UTC))
    history = [TrafficChange(old.created, "", {old.name: 100})]
    assert ran_during(history, [old, new], started, until) == [(old, old.created)]
    assert ran_during(None, [old, new], started, until) == [(old, old.created)]  # unreadable
    before = TrafficChange(datetime(2026, 1, 14, tzinfo=UTC), "", {"svc-00075-aaa": 100})
    older = _revision("svc-00075-aaa", before.at)
    assert ran_during([before, *history], [older, old, new], started, until) == [
        (older, before.at),
        (old, old.created),
    ]


def test_grading_backfills_belong_only_to_incidents_about_grading() -> None:
    assert backfills_concern(["grading_completeness", "vegas_line_coverage"])
    assert not backfills_concern(["vegas_line_coverage"])
    assert not backfills_concern([None])  # a service without a data check
