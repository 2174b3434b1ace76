"""The store interface on every backend: objects, lists, transactions, log, snapshots, keys."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radarcore.objects import Charge, Customer, Outcome, OutcomeRule, Review
from radarcore.store import (
    MemoryStore,
    ModelRecord,
    PostgresStore,
    Range,
    SqliteStore,
    Store,
    open_store,
)
from radarcore.store._migrations import MIGRATIONS


@pytest.fixture(params=["sqlite", "postgres", "memory"])
def any_store(
    request: pytest.FixtureRequest, store_url_factory: Callable[[str], str]
) -> Iterator[Store]:
    opened = open_store(store_url_factory(request.param))
    yield opened
    opened.close()


def charge(i: int, created: int, **kw: object) -> Charge:
    return Charge(id=f"ch_{i}", created=created, amount=100 + i, currency="usd", **kw)  # type: ignore[arg-type]


def test_put_get_round_trip_with_nested_objects(any_store: Store) -> None:
    original = charge(
        1,
        10,
        outcome=Outcome(
            type="blocked",
            risk_level="highest",
            risk_score=91,
            rule=OutcomeRule(id="r", action="block", predicate=":x: = 1"),
        ),
        ip_address="10.0.0.1",
    )
    any_store.put(original)
    assert any_store.get("ch_1") == original
    assert any_store.get("ch_missing") is None


def test_put_replaces_and_delete_removes(any_store: Store) -> None:
    any_store.put(charge(1, 10))
    any_store.put(charge(1, 10, description="updated"))
    got = any_store.get("ch_1")
    assert isinstance(got, Charge)
    assert got.description == "updated"
    assert any_store.delete("ch_1")
    assert not any_store.delete("ch_1")
    assert any_store.get("ch_1") is None


def test_list_newest_first_with_pages_and_ties(any_store: Store) -> None:
    for i, created in enumerate([5, 7, 7, 3, 7, 9]):
        any_store.put(charge(i, created))
    any_store.put(Customer(id="cus_1", created=100))
    ids = [c.id for c in any_store.list("charge", limit=None)[0]]  # type: ignore[attr-defined]
    assert ids == ["ch_5", "ch_4", "ch_2", "ch_1", "ch_0", "ch_3"]
    page, more = any_store.list("charge", limit=4)
    assert [c.id for c in page] == ids[:4]  # type: ignore[attr-defined]
    assert more
    page, more = any_store.list("charge", limit=4, starting_after="ch_1")
    assert [c.id for c in page] == ids[4:]  # type: ignore[attr-defined]
    assert not more
    # ending_before: the page just newer than the cursor (ties ordered as above), newest first.
    page, more = any_store.list("charge", limit=2, ending_before="ch_0")
    assert [c.id for c in page] == ids[2:4]  # type: ignore[attr-defined]
    assert more
    page, more = any_store.list("charge", limit=4, ending_before="ch_2")
    assert [c.id for c in page] == ids[:2]  # type: ignore[attr-defined]
    assert not more
    assert any_store.list("charge", limit=4, ending_before="ch_5") == ([], False)


def test_list_filters_on_indexed_columns(any_store: Store) -> None:
    any_store.put(Review(id="prv_1", created=1, charge="ch_1", open=True))
    any_store.put(
        Review(
            id="prv_2",
            created=2,
            charge="ch_2",
            open=False,
            reason="approved",
            closed_reason="approved",
        )
    )
    any_store.put(charge(3, 3, ip_address="1.1.1.1", customer="cus_9"))
    assert [r.id for r in any_store.list("review", review_open=True)[0]] == ["prv_1"]  # type: ignore[attr-defined]
    assert [r.id for r in any_store.list("review", charge="ch_2")[0]] == ["prv_2"]  # type: ignore[attr-defined]
    assert [c.id for c in any_store.list("charge", ip_address="1.1.1.1", customer="cus_9")[0]] == [  # type: ignore[attr-defined]
        "ch_3"
    ]
    assert any_store.list("charge", customer=None)[0] == []


def test_unknown_filter_is_rejected(any_store: Store) -> None:
    with pytest.raises(ValueError, match=r"cannot filter objects on \['colour'\]"):
        any_store.list("charge", colour="red")


def test_transaction_commits_all_or_nothing(any_store: Store) -> None:
    any_store.put(charge(0, 1))

    def failing_writes() -> None:
        with any_store.transaction():
            any_store.put(charge(1, 1))
            any_store.put(charge(0, 1, description="changed"))
            any_store.append_event("payment", 1, "ch_1", {"a": 1})
            any_store.save_idempotent_response("k", "f", {"id": "ch_1"})
            with any_store.transaction():
                any_store.delete("ch_0")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing_writes()
    assert any_store.get("ch_1") is None
    got = any_store.get("ch_0")
    assert isinstance(got, Charge)
    assert got.description is None
    assert list(any_store.events()) == []
    assert any_store.idempotent_response("k") is None
    with any_store.transaction():
        any_store.put(charge(1, 1))
        any_store.append_event("payment", 1, "ch_1", {"a": 1})
    assert any_store.get("ch_1") is not None
    assert [e.payment for e in any_store.events()] == ["ch_1"]


def test_event_log_appends_in_order(any_store: Store) -> None:
    seqs = [any_store.append_event("payment", t, f"ch_{t}", {"t": t}) for t in range(5)]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 5
    assert any_store.last_event_seq() == seqs[-1]
    tail = list(any_store.events(after_seq=seqs[2]))
    assert [(e.seq, e.kind, e.created, e.payment, e.payload) for e in tail] == [
        (seqs[3], "payment", 3, "ch_3", {"t": 3}),
        (seqs[4], "payment", 4, "ch_4", {"t": 4}),
    ]


def test_snapshots_keep_the_newest(any_store: Store) -> None:
    assert any_store.latest_snapshot() is None
    any_store.save_snapshot(3, b"\x00three")
    any_store.save_snapshot(7, b"seven\xff")
    assert any_store.latest_snapshot() == (7, b"seven\xff")


def test_idempotency_keys(any_store: Store) -> None:
    assert any_store.idempotent_response("key-1") is None
    any_store.save_idempotent_response("key-1", "fp", {"id": "pi_1", "amount": 5})
    assert any_store.idempotent_response("key-1") == ("fp", {"id": "pi_1", "amount": 5})


def test_meta_values(any_store: Store) -> None:
    assert any_store.get_meta("fingerprint_key") is None
    any_store.set_meta("fingerprint_key", "abc")
    any_store.set_meta("fingerprint_key", "def")
    assert any_store.get_meta("fingerprint_key") == "def"


def test_model_versions_are_kept_once_newest_first(any_store: Store) -> None:
    assert any_store.models() == []
    assert any_store.model_data("rcm_a") is None
    first = ModelRecord("rcm_a", 10, {"n_trees": 3, "training": {"window": [1, 2]}})
    assert any_store.save_model(first, b"\x00model a")
    assert not any_store.save_model(ModelRecord("rcm_a", 99, {}), b"other bytes")

    def failing_write() -> None:
        with any_store.transaction():
            any_store.save_model(ModelRecord("rcm_rolled_back", 11, {}), b"x")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing_write()
    for version in ("rcm_b", "rcm_c"):
        assert any_store.save_model(ModelRecord(version, 20, {}), version.encode())
    assert any_store.model_data("rcm_a") == b"\x00model a"
    assert any_store.model_data("rcm_rolled_back") is None
    assert [m.version for m in any_store.models()] == ["rcm_c", "rcm_b", "rcm_a"]
    assert any_store.models()[-1] == first


def test_webhook_outbox(any_store: Store) -> None:
    def rolled_back() -> None:
        with any_store.transaction():
            any_store.enqueue_webhooks([("evt_0", "we_1", "{}")], due=0.0)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        rolled_back()
    assert any_store.webhook_backlog() == 0
    with any_store.transaction():
        any_store.enqueue_webhooks([("evt_1", "we_1", '{"a":1}'), ("evt_2", "we_1", "{}")], 10.0)
    assert any_store.claim_webhooks(now=5.0, lease=30.0, limit=10) == []
    claimed = any_store.claim_webhooks(now=10.0, lease=30.0, limit=1)
    assert [(d.event_id, d.payload, d.attempts) for d in claimed] == [("evt_1", '{"a":1}', 0)]
    assert [d.event_id for d in any_store.claim_webhooks(now=11.0, lease=30.0, limit=10)] == [
        "evt_2"
    ]
    assert any_store.claim_webhooks(now=20.0, lease=30.0, limit=10) == []  # both leased
    any_store.finish_webhook(claimed[0].id, status="pending", attempts=1, due=50.0, error="500")
    any_store.finish_webhook(claimed[0].id + 1, status="delivered", attempts=1, due=0.0, error=None)
    assert any_store.webhook_backlog() == 1
    again = any_store.claim_webhooks(now=50.0, lease=30.0, limit=10)
    assert [(d.event_id, d.attempts) for d in again] == [("evt_1", 1)]
    any_store.finish_webhook(again[0].id, status="failed", attempts=2, due=0.0, error="gave up")
    assert any_store.webhook_backlog() == 0


def test_data_and_migrations_survive_reopening(
    backend: str, store_url_factory: Callable[[str], str]
) -> None:
    url = store_url_factory(backend)
    first = open_store(url)
    first.put(charge(1, 1))
    first.append_event("label", 2, "ch_1", {"label": "fraudulent"})
    first.close()
    second = open_store(url)
    assert second.get("ch_1") == charge(1, 1)
    assert [e.payload for e in second.events()] == [{"label": "fraudulent"}]
    assert second.schema_version == MIGRATIONS[-1][0]  # type: ignore[attr-defined]
    second.close()


def test_open_store_urls(tmp_path: object) -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
    assert isinstance(open_store("sqlite://"), SqliteStore)
    with pytest.raises(ValueError, match=r"unsupported database URL 'mysql://x'"):
        open_store("mysql://x")


operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.integers(0, 6), st.integers(0, 4)),
        st.tuples(st.just("delete"), st.integers(0, 6), st.just(0)),
    ),
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(operations, st.integers(1, 4), st.integers(0, 6))
def test_sqlite_and_memory_list_the_same(
    ops: list[tuple[str, int, int]], limit: int, cursor: int
) -> None:
    stores: list[Store] = [MemoryStore(), SqliteStore(":memory:")]
    for op, i, created in ops:
        for s in stores:
            if op == "put":
                s.put(charge(i, created))
            else:
                s.delete(f"ch_{i}")
    pages = []
    for s in stores:
        for direction in ("starting_after", "ending_before"):
            objs, more = s.list("charge", limit=limit, **{direction: f"ch_{cursor}"})
            pages.append((direction, [o.id for o in objs], more))  # type: ignore[attr-defined]
        s.close()
    assert pages[:2] == pages[2:]


def test_documents_with_numpy_values_or_non_string_keys_are_encoded() -> None:
    """The plain encoding rejects these; ``encode`` then writes them as ``json`` would (a
    non-string key as a string, numpy values as numbers), and a NaN as ``null`` either way."""
    import numpy as np

    from radarcore.store._base import decode, encode

    assert encode({"a": 1.5, "b": float("nan")}) == b'{"a":1.5,"b":null}'
    document = {1: "one", "score": np.float64(0.25), "row": np.array([1, 2])}
    assert decode(encode(document)) == {"1": "one", "score": 0.25, "row": [1, 2]}


def test_an_older_database_is_upgraded(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT)")
    version, description, statements = MIGRATIONS[0]
    for statement in statements["sqlite"]:
        conn.execute(statement)
    conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, description))
    conn.commit()
    conn.close()
    store = SqliteStore(str(path))
    assert store.schema_version == MIGRATIONS[-1][0]
    store.set_meta("k", "v")
    assert store.get_meta("k") == "v"
    store.close()


def test_the_event_log_keeps_its_entries_when_migrated_to_fewer_pages(tmp_path: Path) -> None:
    """Migration 7 rebuilds SQLite's event log without AUTOINCREMENT and drops its index by
    payment: every entry keeps its seq, appends go on after the largest one, and an append
    writes neither the sequence counter nor that index."""
    import sqlite3

    (log,) = [v for v, description, _ in MIGRATIONS if description.startswith("event log")]
    path = tmp_path / "log.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT)")
    for version, description, statements in MIGRATIONS[: log - 1]:
        for statement in statements["sqlite"]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, description))
    for seq in (1, 2, 5):  # seqs with a gap: each kept as it was
        conn.execute(
            "INSERT INTO events (seq, kind, created, payment, payload) VALUES (?, ?, ?, ?, ?)",
            (seq, "payment", 100 + seq, f"ch_{seq}", f'{{"n": {seq}}}'),
        )
    conn.commit()
    conn.close()
    store = SqliteStore(str(path))
    assert store.schema_version >= log
    assert [(e.seq, e.created, e.payment, e.payload) for e in store.events()] == [
        (seq, 100 + seq, f"ch_{seq}", {"n": seq}) for seq in (1, 2, 5)
    ]
    assert store.append_event("label", 200, "ch_5", {"n": 6}) == 6
    assert store.last_event_seq() == 6
    names = {row[0] for row in store._execute("SELECT name FROM sqlite_master")}
    assert "events_payment" not in names
    assert "sqlite_sequence" not in names or not list(
        store._execute("SELECT * FROM sqlite_sequence WHERE name = 'events'")
    )
    store.close()


def test_lookups_use_the_partial_indexes(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "plan.db"))
    for column, sql in [
        ("objects_charge", "SELECT doc FROM objects WHERE type = ? AND charge = ?"),
        ("objects_value_list", "SELECT doc FROM objects WHERE type = ? AND value_list = ?"),
        ("objects_review_open", "SELECT doc FROM objects WHERE type = ? AND review_open = ?"),
    ]:
        plan = store._conn.execute("EXPLAIN QUERY PLAN " + sql, ("x", "y")).fetchall()
        assert any(column in row[-1] for row in plan), plan
    store.close()


def _card_charge(i: int, created: int, amount: int, level: str | None, last4: str) -> Charge:
    from radarcore.objects import PaymentMethodDetails, PaymentMethodDetailsCard

    return Charge(
        id=f"ch_{i}",
        created=created,
        amount=amount,
        currency="usd",
        outcome=None if level is None else Outcome(type="authorized", risk_level=level),  # type: ignore[arg-type]
        payment_method_details=PaymentMethodDetails(
            card=PaymentMethodDetailsCard(last4=last4, fingerprint=f"fp_{last4}")
        ),
    )


def test_search_columns_and_ranges(any_store: Store) -> None:

    for i, (created, amount, level, last4) in enumerate(
        [(10, 500, "normal", "4242"), (20, 5000, "highest", "4242"), (30, 50000, "highest", "0019")]
    ):
        any_store.put(_card_charge(i, created, amount, level, last4))
    any_store.put(Customer(id="cus_1", created=15))

    def ids(**filters: object) -> list[str]:
        return [c.id for c in any_store.list("charge", limit=None, **filters)[0]]  # type: ignore[attr-defined]

    assert ids(risk_level="highest") == ["ch_2", "ch_1"]
    assert ids(last4="4242") == ["ch_1", "ch_0"]
    assert ids(amount=Range(gte=5000)) == ["ch_2", "ch_1"]
    assert ids(amount=Range(lte=4999)) == ["ch_0"]
    assert ids(amount=Range(gte=500, lte=5000), risk_level="highest") == ["ch_1"]
    assert ids(created=Range(gte=11, lte=30)) == ["ch_2", "ch_1"]
    assert ids(created=Range()) == ["ch_2", "ch_1", "ch_0"]
    page, more = any_store.list("charge", limit=1, starting_after="ch_2", risk_level="highest")
    assert [c.id for c in page] == ["ch_1"]  # type: ignore[attr-defined]
    assert not more


def test_range_filters_are_checked(any_store: Store) -> None:

    with pytest.raises(ValueError, match=r"cannot filter \['email'\] by range"):
        any_store.list("charge", email=Range(gte=1))
    with pytest.raises(TypeError, match="range ends must be integers or None, got '5'"):
        Range(gte="5")  # type: ignore[arg-type]


def test_upgrade_fills_the_search_columns_of_stored_charges(
    backend: str, store_url_factory: Callable[[str], str]
) -> None:
    url = store_url_factory(backend)
    store = open_store(url)
    store.put(_card_charge(1, 5, 1234, "elevated", "0019"))
    assert isinstance(store, SqliteStore | PostgresStore)
    # Undo the search-columns migration by hand, as a database written before it looks.
    for column in ("amount", "risk_level", "last4"):
        store._execute(f"UPDATE objects SET {column} = NULL")
    store._execute("DROP INDEX objects_last4")
    for column in ("amount", "risk_level", "last4"):
        store._execute(f"ALTER TABLE objects DROP COLUMN {column}")
    (search,) = [v for v, description, _ in MIGRATIONS if description.startswith("search")]
    store._execute("DELETE FROM schema_migrations WHERE version = ?", (search,))
    store.close()
    upgraded = open_store(url)
    assert [c.id for c in upgraded.list("charge", risk_level="elevated", last4="0019")[0]] == [  # type: ignore[attr-defined]
        "ch_1"
    ]

    assert len(upgraded.list("charge", amount=Range(gte=1234, lte=1234))[0]) == 1
    upgraded.close()


def _reference_index(obj: object) -> dict[str, object]:
    """The indexed columns read field by field (the oracle of ``index_of``'s per-class plans)."""
    card = getattr(obj, "card", None) or getattr(
        getattr(obj, "payment_method_details", None), "card", None
    )
    billing = getattr(obj, "billing_details", None)
    opened = getattr(obj, "open", None) if getattr(obj, "object", None) == "review" else None
    return {
        "charge": getattr(obj, "charge", None),
        "payment_intent": getattr(obj, "payment_intent", None),
        "customer": getattr(obj, "customer", None),
        "card_fingerprint": getattr(card, "fingerprint", None),
        "email": getattr(obj, "email", None)
        or getattr(obj, "receipt_email", None)
        or getattr(billing, "email", None),
        "ip_address": getattr(obj, "ip_address", None),
        "review_open": None if opened is None else int(opened),
        "value_list": getattr(obj, "value_list", None),
        "alias": getattr(obj, "alias", None),
        "value": getattr(obj, "value", None),
        "amount": getattr(obj, "amount", None),
        "risk_level": getattr(getattr(obj, "outcome", None), "risk_level", None),
        "last4": getattr(card, "last4", None) or None,
    }


def test_index_of_reads_every_object_type_as_its_fields_say() -> None:
    from radarcore.radar import Radar, RadarSettings
    from radarcore.store import INDEX_COLUMNS
    from radarcore.store._base import index_of

    radar = Radar("memory://", settings=RadarSettings(fingerprint_key=b"k" * 32))
    customer = radar.customers.create(email="c@example.com")
    session = radar.radar_sessions.create(ip_address="203.0.113.9", user_agent="UA")
    pm = radar.payment_methods.create(
        type="card",
        card={"number": "4000000000009235", "exp_month": 1, "exp_year": 2031},
        billing_details={"email": "b@example.com"},
    )
    radar.payment_methods.attach(pm.id, customer=customer.id)
    pi = radar.payment_intents.create(
        amount=1200,
        currency="usd",
        payment_method=pm.id,
        customer=customer.id,
        confirm=True,
        radar_options={"session": session.id},
    )
    charge_id = pi.latest_charge
    assert charge_id is not None
    radar.early_fraud_warnings.create(charge=charge_id, fraud_type="card_never_received")
    radar.refunds.create(charge=charge_id, reason="fraudulent")
    reviews = radar.store.list("review", limit=None)[0]
    assert reviews, "the elevated-risk test card opens a review"
    kinds = set()
    for entry in radar.store._rows:  # type: ignore[attr-defined]
        obj = radar.store.get(entry)
        assert obj is not None
        kinds.add(obj.object)  # type: ignore[attr-defined]
        reference = _reference_index(obj)
        assert dict(zip(INDEX_COLUMNS, index_of(obj), strict=True)) == reference, obj
    assert {"charge", "payment_intent", "payment_method", "review", "customer"} <= kinds
    assert {"radar.value_list_item", "radar.early_fraud_warning", "refund"} <= kinds


class _SmallWal(SqliteStore):
    checkpoint_pages = 200
    checkpoint_interval = 0.005
    wal_limit_factor = 10**6  # the checkpointer alone (the writers' backstop has its own test)


class _StalledCheckpointer(SqliteStore):
    checkpoint_pages = 200
    checkpoint_interval = 3600.0  # never gets to run here: only the writers' backstop bounds it


def _wal_pages(path: Path, page_size: int) -> int:
    wal = Path(f"{path}-wal")
    return (wal.stat().st_size - 32) // (page_size + 24) if wal.exists() else 0


def test_sqlite_commits_never_checkpoint_and_the_wal_stays_bounded(tmp_path: Path) -> None:
    """Under continuous writes the checkpointer thread copies the WAL back and restarts it, so
    the WAL file stays near ``checkpoint_pages`` instead of growing with every commit (passive
    checkpoints alone never catch up with a moving end: the WAL then holds all ~15,000 pages
    written here), and every row is kept."""
    path = tmp_path / "busy.db"
    store = _SmallWal(str(path))
    assert store._execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    page_size = store._execute("PRAGMA page_size").fetchone()[0]
    assert page_size == SqliteStore.page_size
    biggest = 0
    for i in range(3000):
        with store.transaction():
            store.put(charge(i, i, description="x" * 3000))
        biggest = max(biggest, _wal_pages(path, page_size))
        time.sleep(0.0001)  # a server's transactions have gaps between them (parsing, sending)
    assert biggest < 10 * _SmallWal.checkpoint_pages
    store.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("radarcore-checkpoint")]
    reopened = SqliteStore(str(path))
    objects, _ = reopened.list("charge", limit=None)
    assert len(objects) == 3000
    reopened.close()


def test_writers_bound_the_wal_when_the_checkpointer_falls_behind(tmp_path: Path) -> None:
    """With the checkpointer stalled, every ``_WAL_CHECK_EVERY`` commits a writer finds the WAL
    past ``wal_limit_factor * checkpoint_pages`` and restarts it itself (without the backstop
    the WAL would hold all ~15,000 pages written here); every row is kept."""
    path = tmp_path / "stalled.db"
    store = _StalledCheckpointer(str(path))
    page_size = store._execute("PRAGMA page_size").fetchone()[0]
    biggest = 0
    for i in range(3000):
        with store.transaction():
            store.put(charge(i, i, description="x" * 3000))
        biggest = max(biggest, _wal_pages(path, page_size))
    limit = store.wal_limit_factor * store.checkpoint_pages
    assert limit < biggest < 2 * limit  # it grew past the limit, and no further than one check
    store.close()
    reopened = SqliteStore(str(path))
    objects, _ = reopened.list("charge", limit=None)
    assert len(objects) == 3000
    reopened.close()


def test_an_unclosed_sqlite_store_ends_its_checkpointer(tmp_path: Path) -> None:
    def checkpointers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("radarcore-checkpoint")]

    store = SqliteStore(str(tmp_path / "dropped.db"))
    assert len(checkpointers()) == 1
    store._conn.close()  # the store itself leaves these to the garbage collector, which warns
    store._lock_file.close()  # type: ignore[union-attr]
    del store
    gc.collect()
    deadline = time.monotonic() + 5
    while checkpointers() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not checkpointers()


def test_the_memory_store_keeps_documents_across_prefaulted_arena_regions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from radarcore.store import memory

    monkeypatch.setattr(memory, "_ARENA_BYTES", 8192)
    store = MemoryStore()
    regions = store._documents._regions
    written: dict[str, Charge] = {}

    def put(i: int, description: str) -> None:
        written[f"ch_{i}"] = charge(i, i, description=description)
        store.put(written[f"ch_{i}"])

    def fill_region() -> None:
        count = len(regions)
        while len(regions) == count:
            put(len(written), "x" * (len(written) % 300))

    deadline = time.monotonic() + 10
    fill_region()
    while not any(region.obj.prefaulted for region in regions[1:]):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the background thread prepared no region"
        time.sleep(0.01)
        fill_region()
    put(len(written), "z" * 20_000)  # larger than a region: a region of its own
    assert regions[-1].nbytes > 20_000
    put(len(written), "after")

    def rolled_back() -> None:
        with store.transaction():
            put(len(written), "rolled back")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        rolled_back()
    del written[f"ch_{len(written) - 1}"]
    seq = store.append_event("payment", 1, "ch_0", {"event": {"id": "ch_0"}, "note": "n" * 9000})
    for object_id, original in written.items():
        assert store.get(object_id) == original
    assert store.get(f"ch_{len(written)}") is None
    page, _ = store.list("charge", limit=None)
    assert sorted(c.id for c in page) == sorted(written)  # type: ignore[attr-defined]
    assert [(e.seq, e.payload["note"]) for e in store.events()] == [(seq, "n" * 9000)]
    store.save_idempotent_response("key", "fp", {"ok": True})
    assert store.idempotent_response("key") == ("fp", {"ok": True})
