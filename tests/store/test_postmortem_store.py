"""Postmortems in the store, on SQLite and PostgreSQL: one per incident however many start it,
edits that do not overwrite each other, messages added once, and every change audited."""

from __future__ import annotations

import threading
from datetime import date, timedelta

from store.database import Database
from store.postmortems import Postmortems
from store.rollouts import Store
from tests.store.conftest import T0, Clock


def _start(postmortems: Postmortems, who: str = "U0DANAONCL") -> tuple[int, bool]:
    stored, created = postmortems.open_or_create(
        subject="rollout:4",
        kind="rollout",
        title="Rollout #4 rolled back",
        severity="SEV4",
        document={"kind": "rollout"},
        incident_start=T0,
        incident_end=T0 + timedelta(minutes=9),
        created_by=who,
    )
    return stored.id, created


def test_replicas_starting_the_same_incident_open_one_postmortem(
    database: Database, clock: Clock
) -> None:
    results: list[tuple[int, bool]] = []
    barrier = threading.Barrier(4)

    def start(who: str) -> None:
        postmortems = Postmortems(database, clock)  # a replica of its own
        barrier.wait()
        results.append(_start(postmortems, who))

    threads = [threading.Thread(target=start, args=(f"U0PERSON0{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len({pid for pid, _ in results}) == 1
    assert sorted(created for _, created in results) == [False, False, False, True]
    starts = [e for e in Store(database, clock).audit_log() if e.action == "postmortem.start"]
    assert len(starts) == 1


def test_an_edit_made_on_an_old_version_is_refused_and_changes_nothing(
    database: Database, clock: Clock
) -> None:
    postmortems = Postmortems(database, clock)
    pid, _ = _start(postmortems)
    first = postmortems.edit(pid, 1, "U0DANAONCL", sections={"summary": "ours"}, severity="SEV3")
    late = postmortems.edit(pid, 1, "U0LEEAPPRV", sections={"summary": "theirs"})
    assert first is not None and late is None
    stored = postmortems.get(pid)
    assert stored is not None and stored.sections == {"summary": "ours"} and stored.version == 2


def test_a_message_joins_the_timeline_once_and_items_are_audited(
    database: Database, clock: Clock
) -> None:
    postmortems = Postmortems(database, clock)
    pid, _ = _start(postmortems)
    added = [
        postmortems.add_event(
            pid,
            message_key="C0DEPLOY01:1770314400.000002",
            at=T0,
            author="U0LEEAPPRV",
            text="errors since the deploy",
            permalink=None,
            added_by=who,
        )
        for who in ("U0DANAONCL", "U0LEEAPPRV")
    ]
    assert added == [True, False]
    item = postmortems.add_item(
        pid, text="a test", owner="U0SAMDEPLY", due=date(2026, 2, 9), actor="U0DANAONCL"
    )
    assert postmortems.close_item(item.id, "U0SAMDEPLY") is not None
    assert postmortems.close_item(item.id, "U0SAMDEPLY") is None  # done once
    actions = [e.action for e in Store(database, clock).audit_log()]
    assert actions == [
        "postmortem.start",
        "postmortem.timeline",
        "postmortem.action_item",
        "postmortem.item_done",
    ]
