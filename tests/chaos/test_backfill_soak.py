"""The backfill and schedule soak (bench/chaos_backfills.py, issue 30), and its invariants.

Every invariant is first shown able to fail: each function of bench/chaos_backfill_invariants.py
is fed a hand-made state that breaks it (and one that keeps it). These run with the suite.

The soak itself is slow: `pytest -m chaos -n 0 tests/chaos/test_backfill_soak.py`; it needs
OPSBOT_TEST_DATABASE_URL. OPSBOT_CHAOS_BACKFILL_SEEDS (comma-separated) and
OPSBOT_CHAOS_BACKFILLS choose the schedules.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from bench.chaos_backfill_invariants import (
    JobWatch,
    PostNowAnswer,
    Trigger,
    all_dates_ended,
    dates_driven,
    nothing_went_wrong,
    one_message_each,
    one_step_per_click,
    post_now_said_truly,
    published_as_recorded,
    slots_posted_once,
    versions_forward,
)
from bench.chaos_backfill_replica import REPUBLISH_AFTER_S, soak_profile
from bench.chaos_backfill_soak import END_BOUND_S, STALE_S, TIMEOUT_S
from bot.regrade_tasks import driver_lease
from opsbot.profile import load_profile
from sandbox.slack_objects import BOT_USER
from sandbox.slack_workspace import Workspace
from store.backfill_views import BackfillDateView, BackfillState, BackfillView, DateState
from store.postmortem_views import PostmortemView
from store.schedule_views import Outcome, RunView
from tests.conftest import ROOT

SEEDS = [int(s) for s in os.environ.get("OPSBOT_CHAOS_BACKFILL_SEEDS", "1").split(",") if s.strip()]
BACKFILLS = int(os.environ.get("OPSBOT_CHAOS_BACKFILLS", "3"))
T0 = datetime(2026, 2, 5, 18, 0, tzinfo=UTC)
DANA = "U0DANAONCL"


@pytest.mark.chaos
@pytest.mark.parametrize("seed", SEEDS)
def test_every_backfill_and_schedule_invariant_holds_under_a_seeded_schedule(seed: int) -> None:
    base = os.environ.get("OPSBOT_TEST_DATABASE_URL")
    if not base:
        pytest.skip(
            "OPSBOT_TEST_DATABASE_URL is not set (.ci/run sets it): the soak needs PostgreSQL"
        )
    from bench.chaos_backfills import run

    violations = run(seed, BACKFILLS, base)
    assert not violations, "\n".join(str(v) for v in violations)


# -- hand-made states ---------------------------------------------------------------------------


def _day(n: int, state: DateState, correlation: str = "") -> BackfillDateView:
    return BackfillDateView(
        id=n,
        game_date=f"2026-01-{10 + n:02d}",
        state=state,
        correlation_id=correlation or f"c{n}",
        published_at=None if state in (DateState.QUEUED, DateState.CANCELED) else T0,
        completed_at=None,
        graded_count=None,
        mae=None,
        detail="",
    )


def _backfill(
    *days: BackfillDateView,
    state: BackfillState = BackfillState.DONE,
    updated: datetime = T0,
    where: tuple[str | None, str | None] = (None, None),
) -> BackfillView:
    return BackfillView(
        id=7,
        requested_by=DANA,
        reason="",
        include_graded=True,
        state=state,
        estimate_bytes=0,
        slack_channel=where[0],
        slack_ts=where[1],
        created_at=T0,
        updated_at=updated,
        dates=days,
    )


def _run(
    slot: datetime,
    outcome: Outcome,
    posted: tuple[tuple[str, str], ...] = (),
    *,
    manual: bool = False,
    missed: tuple[datetime, ...] = (),
) -> RunView:
    return RunView(
        id=1,
        job="drift-digest",
        fire_time=slot,
        manual=manual,
        trigger="scheduler",
        claimed_by="vm:1234",
        claimed_at=slot,
        finished_at=None if outcome is Outcome.RUNNING else slot,
        outcome=outcome,
        summary="",
        fingerprint=None,
        posted=posted,
        missed=missed,
    )


def _postmortem(version: int, status: str = "draft", ts: str | None = None) -> PostmortemView:
    return PostmortemView(
        id=3,
        subject="date:2026-01-28",
        kind="date",
        title="t",
        severity="SEV2",
        status=status,
        document={},
        sections={},
        incident_start=T0,
        incident_end=None,
        created_by=DANA,
        created_at=T0,
        updated_at=T0,
        slack_channel="C0CANARY01" if ts else None,
        slack_ts=ts,
        version=version,
    )


# -- 1 ------------------------------------------------------------------------------------------


def test_1_a_date_recorded_published_with_no_trigger_is_reported() -> None:
    backfill = _backfill(_day(1, DateState.DONE), _day(2, DateState.TIMED_OUT))
    found = published_as_recorded([backfill], [Trigger("c1", "2026-01-11", 10.0)], [])
    assert [v.invariant for v in found] == [1]
    assert "2026-01-12 (timed_out): recorded published, 0 triggers" in found[0].detail


def test_1_a_second_trigger_is_reported_unless_a_kill_came_between() -> None:
    backfill = _backfill(_day(1, DateState.DONE))
    twice = [Trigger("c1", "2026-01-11", 10.0), Trigger("c1", "2026-01-11", 14.0)]
    assert "published 2x" in published_as_recorded([backfill], twice, [])[0].detail
    assert published_as_recorded([backfill], twice, [12.0]) == []
    assert published_as_recorded([backfill], twice, [20.0]) != []


def test_1_a_canceled_date_that_was_published_is_reported() -> None:
    backfill = _backfill(_day(1, DateState.CANCELED), state=BackfillState.CANCELED)
    found = published_as_recorded([backfill], [Trigger("c1", "2026-01-11", 1.0)], [])
    assert "canceled, yet published" in found[0].detail


def test_1_a_date_left_in_flight_after_the_bound_is_reported() -> None:
    running = _backfill(
        _day(1, DateState.DONE), _day(2, DateState.PUBLISHED), state=BackfillState.RUNNING
    )
    assert "2026-01-12 published" in all_dates_ended([running], END_BOUND_S)[0].detail
    stuck = _backfill(_day(1, DateState.DONE), state=BackfillState.RUNNING)
    assert "yet running" in all_dates_ended([stuck], END_BOUND_S)[0].detail
    assert all_dates_ended([_backfill(_day(1, DateState.DONE))], END_BOUND_S) == []


# -- 2 ------------------------------------------------------------------------------------------


def test_2_a_backfill_with_no_message_and_no_dm_is_reported() -> None:
    ws = Workspace()
    backfill = _backfill(_day(1, DateState.DONE))
    assert "was not told where to look" in one_message_each(ws, [backfill])[0].detail
    ws.post(DANA, "Backfill #7 could not post in #nba-alerts: follow it here", None, BOT_USER.id)
    assert one_message_each(ws, [backfill]) == []


def test_2_two_messages_or_a_stale_one_are_reported() -> None:
    ws = Workspace()
    stale = ws.post("#nba-alerts", "Regrade backfill #7: 0/1 ended (running)", None, BOT_USER.id)
    backfill = _backfill(_day(1, DateState.DONE), where=(stale.channel, stale.ts))
    assert "is 1/1 ended (done)" in one_message_each(ws, [backfill])[0].detail
    ws.update(stale.channel, stale.ts, "Regrade backfill #7: 1/1 ended (done)", None)
    assert one_message_each(ws, [backfill]) == []
    ws.post("#nba-alerts", "Regrade backfill #7: 1/1 ended (done)", None, BOT_USER.id)
    assert "has 2 messages" in one_message_each(ws, [backfill])[0].detail


def test_2_a_message_the_store_does_not_name_is_reported() -> None:
    ws = Workspace()
    ws.post("#nba-alerts", "Regrade backfill #7: 1/1 ended (done)", None, BOT_USER.id)
    found = one_message_each(ws, [_backfill(_day(1, DateState.DONE))])
    assert "is not the one recorded" in found[0].detail


# -- 3 ------------------------------------------------------------------------------------------


def test_3_a_running_backfill_holding_dates_that_nothing_pumps_is_reported() -> None:
    held = _backfill(
        _day(1, DateState.PUBLISHED),
        _day(2, DateState.QUEUED),
        state=BackfillState.RUNNING,
        updated=T0,
    )
    found = dates_driven([held], T0 + timedelta(seconds=STALE_S + 1), STALE_S)
    assert [v.invariant for v in found] == [3] and "2026-01-11, 2026-01-12" in found[0].detail
    assert dates_driven([held], T0 + timedelta(seconds=STALE_S - 1), STALE_S) == []


def test_the_soaks_bounds_leave_its_replicas_their_own_windows() -> None:
    """The soak's replicas wait out short windows (opsbot.toml keeps 60 s and 30 s), and its
    bounds come from them: invariant 3 reports a backfill undriven only past the time a replica
    takes to drive a dead driver's backfill again (its lease, a quarter lease for its watch to
    look, a round), and a date a kill left unconfirmed is sent again within invariant 1's end
    bound. Before, 3's bound (20 s) was shorter than the replicas' driver lease (60 s)."""
    shipped = load_profile(ROOT / "opsbot.toml").regrade
    assert (shipped.driver_lease_s, shipped.republish_after_s) == (60.0, 30.0)
    soak = soak_profile(load_profile(ROOT / "opsbot.toml")).regrade
    lease = driver_lease(soak).total_seconds()
    assert lease < driver_lease(shipped).total_seconds()
    assert lease * 1.25 + soak.poll_s <= STALE_S
    assert soak.republish_after_s == REPUBLISH_AFTER_S < STALE_S
    assert END_BOUND_S >= TIMEOUT_S + STALE_S


# -- 4 ------------------------------------------------------------------------------------------


def _watch(ws: Workspace, *slots: datetime) -> JobWatch:
    return JobWatch("drift-digest", "Drift digest", (ws.channel("#deployment-alerts").id,), slots)


def test_4_a_slot_left_running_by_a_dead_claimer_is_reported() -> None:
    ws = Workspace()
    slot = T0 + timedelta(minutes=1)
    found = slots_posted_once(ws, _watch(ws, slot), [_run(slot, Outcome.RUNNING)])
    assert "never posted: left running by vm:1234" in found[0].detail
    assert "never claimed" in slots_posted_once(ws, _watch(ws, slot), [])[0].detail
    assert slots_posted_once(ws, _watch(ws, slot), [_run(slot, Outcome.QUIET)]) == []


def test_4_a_slot_caught_up_by_a_later_run_counts_as_run() -> None:
    ws = Workspace()
    late, caught = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    posted = ws.post("#deployment-alerts", "Drift digest: 3 behind", None, BOT_USER.id)
    runs = [_run(caught, Outcome.FULL, ((posted.channel, posted.ts),), missed=(late,))]
    assert slots_posted_once(ws, _watch(ws, late, caught), runs) == []


def test_4_a_digest_posted_twice_for_one_slot_is_reported() -> None:
    ws = Workspace()
    slot = T0 + timedelta(minutes=1)
    first = ws.post("#deployment-alerts", "Drift digest: 3 behind", None, BOT_USER.id)
    ws.post("#deployment-alerts", "Drift digest: 3 behind", None, BOT_USER.id)
    runs = [_run(slot, Outcome.FULL, ((first.channel, first.ts),))]
    found = slots_posted_once(ws, _watch(ws, slot), runs)
    assert len(found) == 1 and "posted, no run recorded it" in found[0].detail


def test_4_a_recorded_post_missing_from_slack_is_reported() -> None:
    ws = Workspace()
    slot = T0 + timedelta(minutes=1)
    runs = [_run(slot, Outcome.FULL, (("C0DEPLOY01", "1.000001"),))]
    assert "not in Slack" in slots_posted_once(ws, _watch(ws, slot), runs)[0].detail


def test_4_already_posted_is_said_only_of_a_manual_post_that_exists() -> None:
    """Issue 30's defect 4: "already posted this minute" while the claim's holder had died."""
    ws = Workspace()
    minute = T0 + timedelta(minutes=3)
    said = PostNowAnswer(
        "drift-digest", (minute,), "drift-digest: already posted this minute (by another click)"
    )
    watches = {"drift-digest": _watch(ws)}
    dead = {"drift-digest": [_run(minute, Outcome.RUNNING, manual=True)]}
    assert "manual 18:03 running" in post_now_said_truly([said], dead, ws, watches)[0].detail
    posted = ws.post("#deployment-alerts", "Drift digest: 3 behind", None, BOT_USER.id)
    done = {
        "drift-digest": [_run(minute, Outcome.FULL, ((posted.channel, posted.ts),), manual=True)]
    }
    assert post_now_said_truly([said], done, ws, watches) == []


def test_4_already_posted_holds_of_a_post_whose_run_died_before_recording_it() -> None:
    ws = Workspace()
    minute = T0 + timedelta(minutes=3)
    ws.clock = lambda: (minute + timedelta(seconds=20)).timestamp()
    ws.post("#deployment-alerts", "Drift digest: 3 behind", None, BOT_USER.id)
    said = PostNowAnswer("drift-digest", (minute,), "drift-digest: already posted this minute")
    dead = {"drift-digest": [_run(minute, Outcome.RUNNING, manual=True)]}
    assert post_now_said_truly([said], dead, ws, {"drift-digest": _watch(ws)}) == []


# -- 5 ------------------------------------------------------------------------------------------


def test_5_a_version_that_goes_back_is_reported() -> None:
    assert "from v3 to v2" in versions_forward([(1.0, 3), (2.0, 2)])[0].detail
    assert versions_forward([(1.0, 1), (2.0, 1), (3.0, 2)]) == []


def test_5_a_double_click_that_flips_twice_is_reported() -> None:
    """Issue 30's defect 5: Mark final clicked twice on v2 went to v4."""
    ws = Workspace()
    message = ws.post("#canary-alerts", "Postmortem (draft): t — SEV2", None, BOT_USER.id)
    flipped = _postmortem(4, "draft", message.ts)
    found = one_step_per_click(flipped, {1, 2}, 3, ws)
    assert "took 3 steps (v4) from clicks drawn on 2 versions" in found[0].detail
    assert one_step_per_click(_postmortem(3, "draft", message.ts), {1, 2}, 2, ws) == []


def test_5_an_unaudited_step_or_a_stale_message_is_reported() -> None:
    ws = Workspace()
    message = ws.post("#canary-alerts", "Postmortem (draft): t — SEV2", None, BOT_USER.id)
    assert (
        "2 steps, 1 audit entries"
        in one_step_per_click(_postmortem(3, "draft", message.ts), {1, 2}, 1, ws)[0].detail
    )
    stale = one_step_per_click(_postmortem(2, "final", message.ts), {1}, 1, ws)
    assert "is final v2; its message" in stale[0].detail


# -- 6 ------------------------------------------------------------------------------------------


def test_6_something_went_wrong_is_reported() -> None:
    ws = Workspace()
    ws.post("#nba-alerts", "Regrade: something went wrong (ref 1a2b)", None, BOT_USER.id, DANA)
    assert [v.invariant for v in nothing_went_wrong(ws)] == [6]


def test_6_a_button_of_the_bots_refused_where_it_showed_it_is_reported() -> None:
    """Seed 1: Retry failed on a backfill's message posted in its starter's DM was refused."""
    ws = Workspace()
    ws.post(DANA, ":no_entry: opsbot answers in #nba-alerts; run it there", None, BOT_USER.id, DANA)
    assert "opsbot answers in" in nothing_went_wrong(ws)[0].detail


def test_a_person_clicks_the_button_they_saw_even_if_the_message_was_redrawn_meanwhile() -> None:
    """Seed 4 at N=30: the soak saw a Cancel button, the backfill ended and its message was
    redrawn without it, and building the click from the live message crashed the soak
    (`action_not_found`). Slack sends the click of what the person saw."""
    from bench.chaos_backfill_people import as_seen, has_button
    from sandbox.slack_payloads import block_actions

    ws = Workspace()
    cancel = {"type": "actions", "elements": [_button("backfill_cancel")]}
    posted = ws.post("C0HEALTH01", "1/2 ended (running)", [cancel], BOT_USER.id)
    seen = as_seen(ws.find(posted.channel, posted.ts))
    assert has_button(seen, "backfill_cancel")
    ws.update(posted.channel, posted.ts, "2/2 ended (done)", [_section("done")])

    payload = block_actions(ws, DANA, seen, "backfill_cancel", None, "http://127.0.0.1/r")
    assert payload["actions"][0]["action_id"] == "backfill_cancel"
    assert not has_button(ws.find(posted.channel, posted.ts), "backfill_cancel")


def _button(action_id: str) -> dict[str, object]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": "Cancel"},
        "value": "1",
    }


def _section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}
