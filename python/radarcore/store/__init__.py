"""Persistence: one :class:`Store` interface, SQLite (WAL) by default, PostgreSQL by URL.

``open_store(url)`` picks the backend from the URL:

* ``sqlite:///path/to/radar.db`` (or a plain path): SQLite in WAL mode;
* ``postgresql://user@host:port/dbname``: PostgreSQL through psycopg 3;
* ``memory://``: in memory, nothing persisted (benchmarks, throwaway engines).

>>> store = open_store("memory://")
>>> from radarcore.objects import Customer
>>> store.put(Customer(id="cus_1", created=1, email="a@example.com"))
>>> store.get("cus_1").email
'a@example.com'
"""

from __future__ import annotations

from radarcore.store._base import (
    INDEX_COLUMNS,
    Event,
    ModelRecord,
    Range,
    Store,
    WebhookDelivery,
)
from radarcore.store.memory import MemoryStore
from radarcore.store.sql import PostgresStore, SqliteStore

__all__ = [
    "INDEX_COLUMNS",
    "Event",
    "MemoryStore",
    "ModelRecord",
    "PostgresStore",
    "Range",
    "SqliteStore",
    "Store",
    "WebhookDelivery",
    "open_store",
]


def open_store(url: str) -> Store:
    """Open (creating and migrating as needed) the store named by ``url``."""
    if url.startswith("memory://"):
        return MemoryStore()
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://").removeprefix("/")
        return SqliteStore(path or ":memory:")
    if "://" in url:
        raise ValueError(
            f"unsupported database URL {url!r}: use sqlite:///path, postgresql://... or memory://"
        )
    return SqliteStore(url)
