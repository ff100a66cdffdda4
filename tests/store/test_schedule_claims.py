"""Claims on scheduled runs: a holder that renews keeps its run, one that went silent (killed) loses
it to exactly one taker, and a holder that lost its claim can record nothing more (issue 30, 4)."""

from __future__ import annotations

import threading
from datetime import timedelta

from commands.schedule.claims import Held, heartbeat
from store.database import Database
from store.schedule_runs import ScheduleRuns
from store.schedule_views import SILENCE_S, Outcome, RunView
from tests.store.conftest import T0, Clock

JOB = "drift-digest"
SLOT = T0  # 10:00 PT


def _killed_holder(runs: ScheduleRuns, name: str = "replica-a:41") -> RunView:
    """The slot claimed by a replica that is then killed: its row stays `running`, unrenewed."""
    claimed = runs.claim(JOB, SLOT, by=name, trigger="scheduler")
    assert claimed is not None
    return claimed


def test_a_holder_that_renews_keeps_its_run_and_one_that_went_silent_is_taken_over(
    database: Database, clock: Clock
) -> None:
    runs = ScheduleRuns(database, clock)  # the shipped lease: 600 s
    holder = _killed_holder(runs)
    clock.advance(20)
    renewed = runs.renew(holder)  # its heartbeat
    assert renewed is not None

    clock.advance(25)  # 45 s after the claim, 25 s after the renewal
    refused = runs.claim(JOB, SLOT, by="replica-b:7", trigger="catch-up")
    clock.advance(SILENCE_S)  # then silent past the window: it died
    taken = runs.claim(JOB, SLOT, by="replica-b:7", trigger="catch-up")

    assert refused is None
    assert taken is not None and taken.took_over == "replica-a:41"
    assert runs.renew(renewed) is None  # the killed holder's claim is gone for good
    assert runs.finish(renewed, outcome=Outcome.FULL, summary="late") is False
    shown = runs.slot(JOB, SLOT)
    assert shown is not None and shown.claimed_by == "replica-b:7"


def test_a_taken_over_run_keeps_what_its_dead_holder_recorded(
    database: Database, clock: Clock
) -> None:
    runs = ScheduleRuns(database, clock)
    holder = _killed_holder(runs)
    posting = runs.posting(holder)
    assert posting is not None
    posted = runs.record_post(posting, "channel", "C0DEPLOYAL", "1770314400.000100")
    assert posted is not None  # killed right after: the critical channel's part never posted

    clock.advance(SILENCE_S + 1)
    taken = runs.claim(JOB, SLOT, by="replica-b:7", trigger="takeover")

    assert taken is not None and taken.began_posting
    assert taken.parts == {"channel": ("C0DEPLOYAL", "1770314400.000100")}
    assert runs.record_post(posted, "critical", "C0APPERROR", "1770314400.000200") is None
    assert runs.finish(taken, outcome=Outcome.FULL, summary="3 services behind")
    ended = runs.slot(JOB, SLOT)
    assert ended is not None and ended.posted == (("C0DEPLOYAL", "1770314400.000100"),)


def test_two_replicas_racing_to_take_over_a_dead_claim_get_it_once(
    database_url: str, clock: Clock
) -> None:
    """Eight takers, each with its own connection pool, released at once (SQLite, PostgreSQL)."""
    databases = [Database.open(database_url) for _ in range(8)]
    try:
        _killed_holder(ScheduleRuns(databases[0], clock))
        clock.advance(SILENCE_S + 1)
        start = threading.Barrier(len(databases))
        won: list[RunView] = []

        def take(index: int) -> None:
            start.wait(timeout=30)
            taken = ScheduleRuns(databases[index], clock).claim(
                JOB, SLOT, by=f"replica-{index}", trigger="takeover"
            )
            if taken is not None:
                won.append(taken)

        threads = [threading.Thread(target=take, args=(i,)) for i in range(len(databases))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert len(won) == 1
        shown = ScheduleRuns(databases[0], clock).slot(JOB, SLOT)
        assert shown is not None and shown.claimed_by == won[0].claimed_by
    finally:
        for opened in databases:
            opened.close()


def test_the_heartbeat_renews_the_claim_while_the_run_works(
    database: Database, clock: Clock
) -> None:
    renewed = threading.Event()

    class Watched(ScheduleRuns):
        def renew(self, run: RunView) -> RunView | None:
            moved = super().renew(run)
            renewed.set()
            return moved

    runs = Watched(database, clock)
    held = Held(runs, _killed_holder(runs))
    clock.advance(5)
    with heartbeat(held, every_s=0.01):
        assert renewed.wait(timeout=10)
    shown = runs.slot(JOB, SLOT)
    assert shown is not None and shown.claimed_at == SLOT + timedelta(seconds=5)


def test_a_hung_holder_stops_renewing_after_the_lease_so_its_run_is_taken_over(
    database: Database, clock: Clock
) -> None:
    runs = ScheduleRuns(database, clock, lease_s=600)
    held = Held(runs, _killed_holder(runs))
    clock.advance(590)
    assert held.beat() is True  # still within the lease: renewed
    clock.advance(10)
    assert held.beat() is False  # 600 s held: let lapse
    clock.advance(SILENCE_S + 1)

    assert runs.claim(JOB, SLOT, by="replica-b:7", trigger="takeover") is not None
