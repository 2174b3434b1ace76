"""Numbered schema migrations, per dialect. Applied in order; each is recorded in
``schema_migrations`` so a database is upgraded exactly once, whichever process opens it first."""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

_INDEXES = [
    "CREATE INDEX objects_type_created ON objects (type, created)",
    "CREATE INDEX objects_charge ON objects (charge)",
    "CREATE INDEX objects_payment_intent ON objects (payment_intent)",
    "CREATE INDEX objects_customer ON objects (customer)",
    "CREATE INDEX objects_card_fingerprint ON objects (card_fingerprint)",
    "CREATE INDEX objects_email ON objects (email)",
    "CREATE INDEX objects_ip_address ON objects (ip_address)",
    "CREATE INDEX objects_review_open ON objects (type, review_open)",
    "CREATE INDEX objects_value_list ON objects (value_list, value)",
    "CREATE INDEX objects_alias ON objects (alias)",
    "CREATE INDEX events_payment ON events (payment)",
]

# index name -> (columns, the column every query using the index constrains)
_LOOKUPS = {
    "objects_charge": ("charge", "charge"),
    "objects_payment_intent": ("payment_intent", "payment_intent"),
    "objects_customer": ("customer", "customer"),
    "objects_card_fingerprint": ("card_fingerprint", "card_fingerprint"),
    "objects_email": ("email", "email"),
    "objects_ip_address": ("ip_address", "ip_address"),
    "objects_review_open": ("type, review_open", "review_open"),
    "objects_value_list": ("value_list, value", "value_list"),
    "objects_alias": ("alias", "alias"),
}
_PARTIAL_INDEXES = [
    statement
    for name, (columns, constrained) in _LOOKUPS.items()
    for statement in (
        f"DROP INDEX {name}",
        f"CREATE INDEX {name} ON objects ({columns}) WHERE {constrained} IS NOT NULL",
    )
]

_OUTBOX_INDEX = (
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due) WHERE status = 'pending'"
)

_COLUMNS = """
    charge TEXT, payment_intent TEXT, customer TEXT, card_fingerprint TEXT, email TEXT,
    ip_address TEXT, review_open INTEGER, value_list TEXT, alias TEXT, value TEXT,
    doc TEXT NOT NULL
"""

_INTEGER = {"sqlite": "INTEGER", "postgresql": "BIGINT"}
# Existing documents fill the new columns from their own JSON (what index_of would compute).
_SEARCH_BACKFILL = {
    "sqlite": "UPDATE objects SET amount = json_extract(doc, '$.amount'),"
    " risk_level = json_extract(doc, '$.outcome.risk_level'),"
    " last4 = COALESCE(NULLIF(json_extract(doc, '$.payment_method_details.card.last4'), ''),"
    " NULLIF(json_extract(doc, '$.card.last4'), ''))",
    "postgresql": "UPDATE objects SET amount = (doc::jsonb ->> 'amount')::bigint,"
    " risk_level = doc::jsonb #>> '{outcome,risk_level}',"
    " last4 = COALESCE(NULLIF(doc::jsonb #>> '{payment_method_details,card,last4}', ''),"
    " NULLIF(doc::jsonb #>> '{card,last4}', ''))",
}


def _search_columns(dialect: str) -> list[str]:
    return [
        f"ALTER TABLE objects ADD COLUMN amount {_INTEGER[dialect]}",
        "ALTER TABLE objects ADD COLUMN risk_level TEXT",
        "ALTER TABLE objects ADD COLUMN last4 TEXT",
        _SEARCH_BACKFILL[dialect],
        "CREATE INDEX objects_last4 ON objects (last4) WHERE last4 IS NOT NULL",
    ]


#: ``(version, description, {dialect: statements})``
MIGRATIONS: list[tuple[int, str, dict[str, list[str]]]] = [
    (
        1,
        "objects, event log, velocity snapshots, idempotency keys",
        {
            "sqlite": [
                f"CREATE TABLE objects (id TEXT PRIMARY KEY, type TEXT NOT NULL,"
                f" created INTEGER NOT NULL, {_COLUMNS})",
                "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
                " created INTEGER NOT NULL, payment TEXT NOT NULL, payload TEXT NOT NULL)",
                "CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, state BLOB NOT NULL)",
                "CREATE TABLE idempotency_keys (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,"
                " response TEXT NOT NULL)",
                *_INDEXES,
            ],
            "postgresql": [
                f"CREATE TABLE objects (id TEXT PRIMARY KEY, pos BIGSERIAL, type TEXT NOT NULL,"
                f" created BIGINT NOT NULL, {_COLUMNS})",
                "CREATE TABLE events (seq BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL,"
                " created BIGINT NOT NULL, payment TEXT NOT NULL, payload TEXT NOT NULL)",
                "CREATE TABLE snapshots (seq BIGINT PRIMARY KEY, state BYTEA NOT NULL)",
                "CREATE TABLE idempotency_keys (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL,"
                " response TEXT NOT NULL)",
                *_INDEXES,
            ],
        },
    ),
    (
        2,
        "engine metadata (keys and settings that must outlive a process)",
        {
            "sqlite": ["CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"],
            "postgresql": ["CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"],
        },
    ),
    (
        3,
        "partial lookup indexes (rows without the value stay out, so writes touch fewer pages)",
        {dialect: _PARTIAL_INDEXES for dialect in ("sqlite", "postgresql")},
    ),
    (
        4,
        "webhook outbox: one row per (event, endpoint), written with the objects it announces",
        {
            "sqlite": [
                "CREATE TABLE webhook_deliveries (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                " event_id TEXT NOT NULL, endpoint TEXT NOT NULL, payload TEXT NOT NULL,"
                " status TEXT NOT NULL, attempts INTEGER NOT NULL, due REAL NOT NULL,"
                " last_error TEXT)",
                _OUTBOX_INDEX,
            ],
            "postgresql": [
                "CREATE TABLE webhook_deliveries (id BIGSERIAL PRIMARY KEY,"
                " event_id TEXT NOT NULL, endpoint TEXT NOT NULL, payload TEXT NOT NULL,"
                " status TEXT NOT NULL, attempts INTEGER NOT NULL, due DOUBLE PRECISION NOT NULL,"
                " last_error TEXT)",
                _OUTBOX_INDEX,
            ],
        },
    ),
    (
        5,
        "search columns: amount, risk level and card last 4 (the dashboard's payment search)",
        {dialect: _search_columns(dialect) for dialect in ("sqlite", "postgresql")},
    ),
    (
        6,
        "risk model versions (the model files and their metadata)",
        {
            "sqlite": [
                "CREATE TABLE models (version TEXT PRIMARY KEY, created INTEGER NOT NULL,"
                " metadata TEXT NOT NULL, data BLOB NOT NULL)"
            ],
            "postgresql": [
                "CREATE TABLE models (version TEXT PRIMARY KEY, pos BIGSERIAL,"
                " created BIGINT NOT NULL, metadata TEXT NOT NULL, data BYTEA NOT NULL)"
            ],
        },
    ),
    (
        7,
        "event log: fewer pages per append (no index by payment, which no query reads; on"
        " SQLite no AUTOINCREMENT, whose counter row was rewritten by every append: the log is"
        " never deleted from, so the next seq is still always the largest plus one)",
        {
            "sqlite": [
                "CREATE TABLE events_appended (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
                " created INTEGER NOT NULL, payment TEXT NOT NULL, payload TEXT NOT NULL)",
                "INSERT INTO events_appended (seq, kind, created, payment, payload)"
                " SELECT seq, kind, created, payment, payload FROM events",
                "DROP TABLE events",
                "ALTER TABLE events_appended RENAME TO events",
            ],
            "postgresql": ["DROP INDEX events_payment"],
        },
    ),
]
