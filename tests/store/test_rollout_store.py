"""Rollout state in the store: one transition per race, locks per service, an audit of each step."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect

from config import StoreConfig
from opsbot.profile import load_profile
from store.database import MIGRATIONS, Database, StoreUnavailable, head_revision
from store.errors import ServiceBusy
from store.location import database_url
from store.rollouts import Store
from store.states import IllegalMove, RolloutState, Seen
from tests.conftest import ROOT
from tests.store.conftest import Clock


def _begin(store: Store, service: str = "prediction-worker") -> Seen:
    rollout = store.begin(
        service=service,
        commit_sha="a" * 40,
        stable_revision=f"{service}-00041-bbd",
        requested_by="U0SAMDEPLY",
    )
    return Seen.of(rollout)


def test_opening_migrates_an_empty_database_and_opening_again_changes_nothing(
    database_url: str,
) -> None:
    first = Database.open(database_url)
    tables = set(inspect(first.engine).get_table_names())
    assert {
        "rollouts",
        "service_locks",
        "audit_log",
        "idempotency_keys",
        "alembic_version",
    } <= tables
    first.close()
    Database.open(database_url).close()  # a second replica starting: already at head


def _opens_with_alembic(url: str) -> bool:
    """Open the store in a fresh process, as a replica starting; whether it imported alembic."""
    script = (
        "import sys; from store.database import Database; "
        f"Database.open({url!r}).close(); print('alembic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip() == "True"


def test_a_replica_restarting_on_a_migrated_store_skips_alembic(database_url: str) -> None:
    assert _opens_with_alembic(database_url)  # the first start migrates
    assert not _opens_with_alembic(database_url)  # a restart finds the schema at the newest


def test_a_store_behind_the_newest_migration_is_still_brought_up_to_date(
    database_url: str,
) -> None:
    from alembic import command
    from alembic.config import Config

    database = Database.open(database_url)
    newest = _columns(database)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")  # as a store left by the previous release
    assert _columns(database) != newest  # the newest migration's tables or columns are gone
    database.close()
    reopened = Database.open(database_url)
    assert _columns(reopened) == newest
    reopened.close()


def _columns(database: Database) -> set[tuple[str, str]]:
    """Every (table, column) of the store's schema."""
    found = inspect(database.engine)
    return {
        (table, column["name"])
        for table in found.get_table_names()
        for column in found.get_columns(table)
    }


def test_the_newest_migration_read_from_the_files_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_a_second_rollout_of_a_service_is_refused_naming_the_active_one(store: Store) -> None:
    first = _begin(store)
    with pytest.raises(ServiceBusy, match=f"rollout #{first.rollout_id} in progress"):
        _begin(store)
    _begin(store, "nba-scrapers")  # another service is free


def test_finishing_a_rollout_frees_its_service(store: Store) -> None:
    seen = _begin(store)
    cancelled = store.transition(
        seen, to=RolloutState.CANCELLED, actor="U0SAMDEPLY", action="deploy.cancel"
    )
    assert cancelled is not None and cancelled.state == "cancelled"
    assert store.lock_holder("prediction-worker") is None
    assert store.active() == []
    _begin(store)


def test_a_transition_from_a_stale_view_does_nothing(store: Store, clock: Clock) -> None:
    seen = _begin(store)
    clock.advance(60)
    moved = store.transition(
        seen,
        to=RolloutState.CANARY,
        actor="U0SAMDEPLY",
        action="deploy.start",
        step=0,
        canary_revision="prediction-worker-00042-new",
    )
    assert moved is not None and moved.version == 2 and moved.updated_at == clock.now
    assert (
        store.transition(
            seen, to=RolloutState.CANCELLED, actor="U0SAMDEPLY", action="deploy.cancel"
        )
        is None
    )
    current = store.get(seen.rollout_id)
    assert (
        current is not None
        and current.state == "canary"
        and current.canary_revision == "prediction-worker-00042-new"
    )


def test_twenty_concurrent_identical_promotions_make_one_step(store: Store) -> None:
    canary = store.transition(
        _begin(store), to=RolloutState.CANARY, actor="U0SAMDEPLY", action="deploy.start"
    )
    assert canary is not None
    seen = Seen.of(canary)
    results: list[bool] = []
    start = threading.Barrier(20)

    def promote() -> None:
        start.wait()
        moved = store.transition(
            seen, to=RolloutState.CANARY, actor="U0LEEAPPRV", action="deploy.promote", step=1
        )
        results.append(moved is not None)

    threads = [threading.Thread(target=promote) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [False] * 19 + [True]
    final = store.get(seen.rollout_id)
    assert final is not None and final.step == 1 and final.version == seen.version + 1
    promotions = [e for e in store.audit_log(seen.rollout_id) if e.action == "deploy.promote"]
    assert len(promotions) == 1 and promotions[0].actor == "U0LEEAPPRV"


def test_two_replicas_on_one_database_never_both_act(database_url: str, clock: Clock) -> None:
    one, two = Database.open(database_url), Database.open(database_url)
    try:
        replica_a, replica_b = Store(one, clock), Store(two, clock)
        seen = _begin(replica_a)
        a = replica_a.transition(
            seen, to=RolloutState.CANCELLED, actor="bot-a", action="deploy.cancel"
        )
        b = replica_b.transition(
            seen, to=RolloutState.CANCELLED, actor="bot-b", action="deploy.cancel"
        )
        assert (a is None) != (b is None)
        assert [r.id for r in replica_b.active()] == []
    finally:
        one.close()
        two.close()


def test_an_idempotency_key_acts_once_across_replicas(database_url: str, clock: Clock) -> None:
    one, two = Database.open(database_url), Database.open(database_url)
    try:
        assert Store(one, clock).first_time("block_actions:1700000000.123:promote")
        assert not Store(two, clock).first_time("block_actions:1700000000.123:promote")
    finally:
        one.close()
        two.close()


def test_a_delivery_one_replica_acknowledged_is_seen_by_the_other(
    database_url: str, clock: Clock
) -> None:
    one, two = Database.open(database_url), Database.open(database_url)
    try:
        assert not Store(two, clock).seen("delivery:trigger:1.2.3")  # reading records nothing
        assert not Store(two, clock).seen("delivery:trigger:1.2.3")
        Store(one, clock).remember(["delivery:trigger:1.2.3", "delivery:trigger:1.2.3"])
        assert Store(two, clock).seen("delivery:trigger:1.2.3")
        assert not Store(two, clock).seen("delivery:trigger:1.2.4")
    finally:
        one.close()
        two.close()


def test_the_audit_log_says_who_did_what_with_which_arguments(store: Store) -> None:
    seen = _begin(store)
    store.record(
        "U0DANAONCL",
        "deploy.refused",
        service="prediction-worker",
        arguments={"why": "no deployer role"},
        result="refused",
    )
    store.transition(
        seen,
        to=RolloutState.CANCELLED,
        actor="U0SAMDEPLY",
        action="deploy.cancel",
        reason="changed my mind",
    )
    entries = [(e.actor, e.action, e.result) for e in store.audit_log()]
    assert entries == [
        ("U0SAMDEPLY", "deploy.begin", "ok"),
        ("U0DANAONCL", "deploy.refused", "refused"),
        ("U0SAMDEPLY", "deploy.cancel", "ok"),
    ]
    assert store.audit_log(seen.rollout_id)[-1].arguments == {
        "from": "checklist",
        "to": "cancelled",
        "reason": "changed my mind",
    }


def test_an_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StoreUnavailable, match="cannot open the store"):
        Database.open("postgresql://nobody@127.0.0.1:9/none?connect_timeout=2")


def test_the_bot_uses_database_url_or_else_the_profiles_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile_path = tmp_path / "opsbot.toml"
    profile = load_profile(ROOT / "opsbot.toml")
    relative = profile.model_copy(update={"store": StoreConfig(sqlite_path="state/opsbot.db")})
    monkeypatch.delenv("DATABASE_URL", raising=False)
    Database.open(database_url(relative.store, profile_path.parent)).close()
    assert (tmp_path / "state" / "opsbot.db").is_file()  # relative to the profile's directory
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/from-env.db")
    Database.open(database_url(relative.store, profile_path.parent)).close()
    assert (tmp_path / "from-env.db").is_file()


def test_the_store_refuses_a_move_its_state_table_does_not_allow(
    database_url: str, clock: Clock
) -> None:
    """A checklist never jumps to rolled back, and an ended rollout never moves again."""
    database = Database.open(database_url)
    try:
        store = Store(database, clock)
        seen = _begin(store)
        with pytest.raises(IllegalMove, match="from checklist to rolled_back"):
            store.transition(seen, to=RolloutState.ROLLED_BACK, actor="bot", action="x")
        ended = store.transition(seen, to=RolloutState.CANCELLED, actor="bot", action="cancel")
        assert ended is not None
        with pytest.raises(IllegalMove, match="from cancelled to canary"):
            store.transition(Seen.of(ended), to=RolloutState.CANARY, actor="bot", action="x")
        still = store.get(seen.rollout_id)
        assert still is not None and still.state is RolloutState.CANCELLED
    finally:
        database.close()
