"""SQL stores: SQLite (WAL, the embedded default) and PostgreSQL (psycopg 3), one code path.

The two differ only in connection handling, placeholders and the insertion-order column; the
statements are otherwise the same.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from radarcore.objects import StripeObject
from radarcore.store._base import (
    INDEX_COLUMNS,
    Event,
    ModelRecord,
    Range,
    Store,
    WebhookDelivery,
    check_filters,
    created_of,
    decode,
    decode_object,
    encode,
    index_plan,
)
from radarcore.store._migrations import MIGRATIONS

__all__ = ["PostgresStore", "SqlStore", "SqliteStore"]

logger = logging.getLogger("radarcore.store")

_UPSERTS: dict[type, str] = {}


def _upsert(cls: type[StripeObject]) -> str:
    """The statement writing a ``cls`` object: its index columns are bound, the ones the class
    has no field for are set to NULL in the statement itself (binding ``None`` costs Python's
    sqlite3 module a failed adapter lookup per value, with an exception message formatted)."""
    statement = _UPSERTS.get(cls)
    if statement is None:
        columns = ("id", "type", "created", *index_plan(cls).columns, "doc")
        updates = [f"{c} = excluded.{c}" for c in columns[1:]]
        updates += [f"{c} = NULL" for c in INDEX_COLUMNS if c not in columns]
        statement = _UPSERTS[cls] = (
            f"INSERT INTO objects ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)}) ON CONFLICT (id) DO UPDATE SET "
            + ", ".join(updates)
        )
    return statement


class SqlStore(Store):
    """Shared implementation; subclasses supply the connection and the dialect."""

    dialect: str
    position_column: str

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.RLock()
        self._depth = 0
        self._migrate()

    # --- dialect hooks -------------------------------------------------------------------------

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def _lock_migrations(self) -> None:
        """Serialise concurrent migrators (inside the migration transaction)."""

    def _tables(self) -> set[str]:
        raise NotImplementedError

    # --- transactions --------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._begin()
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                self._rollback()
                raise
            self._depth = 0
            self._commit()

    def _migrate(self) -> None:
        with self.transaction():
            self._lock_migrations()
            if "schema_migrations" not in self._tables():
                self._execute(
                    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
                    " description TEXT NOT NULL)"
                )
            applied = {row[0] for row in self._execute("SELECT version FROM schema_migrations")}
            for version, description, statements in MIGRATIONS:
                if version in applied:
                    continue
                for statement in statements[self.dialect]:
                    self._execute(statement)
                self._execute(
                    "INSERT INTO schema_migrations (version, description) VALUES (?, ?)",
                    (version, description),
                )

    @property
    def schema_version(self) -> int:
        """The newest migration applied to this database."""
        with self._lock:
            row = self._execute("SELECT MAX(version) FROM schema_migrations").fetchone()
        return int(row[0])

    # --- objects -------------------------------------------------------------------------------

    def put(self, obj: StripeObject) -> None:
        cls = type(obj)
        params = (
            obj.id,  # type: ignore[attr-defined]
            obj.object,  # type: ignore[attr-defined]
            created_of(obj),
            *index_plan(cls).values(obj),
            encode(obj).decode(),
        )
        with self._lock:
            self._execute(_UPSERTS.get(cls) or _upsert(cls), params)

    def document(self, object_id: str) -> str | None:
        with self._lock:
            row = self._execute("SELECT doc FROM objects WHERE id = ?", (object_id,)).fetchone()
        return None if row is None else str(row[0])

    def delete(self, object_id: str) -> bool:
        with self._lock:
            cursor = self._execute("DELETE FROM objects WHERE id = ?", (object_id,))
            return bool(cursor.rowcount)

    def list(
        self,
        object_type: str,
        *,
        limit: int | None = 10,
        starting_after: str | None = None,
        ending_before: str | None = None,
        **filters: Any,
    ) -> tuple[list[StripeObject], bool]:
        check_filters(filters)
        pos = self.position_column
        where = ["type = ?"]
        params: list[Any] = [object_type]
        for column, value in filters.items():
            if isinstance(value, Range):
                for op, end in ((">=", value.gte), ("<=", value.lte)):
                    if end is not None:
                        where.append(f"{column} {op} ?")
                        params.append(end)
                if value.gte is None and value.lte is None:
                    where.append(f"{column} IS NOT NULL")
            elif value is None:
                where.append(f"{column} IS NULL")
            else:
                where.append(f"{column} = ?")
                params.append(int(value) if isinstance(value, bool) else value)
        order = "DESC"
        with self._lock:
            for cursor, op in ((starting_after, "<"), (ending_before, ">")):
                if cursor is None:
                    continue
                cursor_row = self._execute(
                    f"SELECT created, {pos} FROM objects WHERE id = ?", (cursor,)
                ).fetchone()
                if cursor_row is not None:
                    where.append(f"(created {op} ? OR (created = ? AND {pos} {op} ?))")
                    params += [cursor_row[0], cursor_row[0], cursor_row[1]]
                    if op == ">":
                        # The page just newer than the cursor: read upwards from it.
                        order = "ASC"
            sql = (
                f"SELECT doc FROM objects WHERE {' AND '.join(where)}"
                f" ORDER BY created {order}, {pos} {order}"
            )
            if limit is not None:
                sql += " LIMIT ?"
                params.append(limit + 1)
            rows = self._execute(sql, params).fetchall()
        has_more = limit is not None and len(rows) > limit
        rows = rows[:limit] if limit is not None else rows
        if order == "ASC":
            rows.reverse()
        return [decode_object(row[0]) for row in rows], has_more

    # --- event log and snapshots ---------------------------------------------------------------

    def append_event(self, kind: str, created: int, payment: str, payload: dict[str, Any]) -> int:
        with self._lock:
            row = self._execute(
                "INSERT INTO events (kind, created, payment, payload) VALUES (?, ?, ?, ?)"
                " RETURNING seq",
                (kind, created, payment, encode(payload).decode()),
            ).fetchone()
        return int(row[0])

    def events(self, after_seq: int = 0) -> Iterator[Event]:
        with self._lock:
            rows = self._execute(
                "SELECT seq, kind, created, payment, payload FROM events WHERE seq > ?"
                " ORDER BY seq",
                (after_seq,),
            ).fetchall()
        for seq, kind, created, payment, payload in rows:
            yield Event(int(seq), kind, int(created), payment, decode(payload))

    def last_event_seq(self) -> int:
        with self._lock:
            row = self._execute("SELECT MAX(seq) FROM events").fetchone()
        return 0 if row[0] is None else int(row[0])

    def save_snapshot(self, seq: int, state: bytes) -> None:
        with self.transaction():
            self._execute(
                "INSERT INTO snapshots (seq, state) VALUES (?, ?) ON CONFLICT (seq) DO UPDATE"
                " SET state = excluded.state",
                (seq, state),
            )
            self._execute("DELETE FROM snapshots WHERE seq < ?", (seq,))

    def latest_snapshot(self) -> tuple[int, bytes] | None:
        with self._lock:
            row = self._execute(
                "SELECT seq, state FROM snapshots ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    # --- idempotency ---------------------------------------------------------------------------

    def idempotent_response(self, key: str) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            row = self._execute(
                "SELECT fingerprint, response FROM idempotency_keys WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else (row[0], decode(row[1]))

    def save_idempotent_response(
        self, key: str, fingerprint: str, response: dict[str, Any]
    ) -> None:
        with self._lock:
            self._execute(
                "INSERT INTO idempotency_keys (key, fingerprint, response) VALUES (?, ?, ?)",
                (key, fingerprint, encode(response).decode()),
            )

    # --- model versions ------------------------------------------------------------------------

    def save_model(self, record: ModelRecord, data: bytes) -> bool:
        with self._lock:
            cursor = self._execute(
                "INSERT INTO models (version, created, metadata, data) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (version) DO NOTHING",
                (
                    record.version,
                    record.created,
                    encode(record.metadata).decode(),
                    bytes(data),
                ),
            )
            return bool(cursor.rowcount)

    def model_data(self, version: str) -> bytes | None:
        with self._lock:
            row = self._execute("SELECT data FROM models WHERE version = ?", (version,)).fetchone()
        return None if row is None else bytes(row[0])

    def models(self) -> Sequence[ModelRecord]:
        with self._lock:
            rows = self._execute(
                "SELECT version, created, metadata FROM models"
                f" ORDER BY created DESC, {self.position_column} DESC"
            ).fetchall()
        return [ModelRecord(str(v), int(c), decode(m)) for v, c, m in rows]

    # --- webhook outbox ------------------------------------------------------------------------

    def enqueue_webhooks(self, deliveries: Sequence[tuple[str, str, str]], due: float) -> None:
        with self._lock:
            for event_id, endpoint, payload in deliveries:
                self._execute(
                    "INSERT INTO webhook_deliveries (event_id, endpoint, payload, status,"
                    " attempts, due) VALUES (?, ?, ?, 'pending', 0, ?)",
                    (event_id, endpoint, payload, due),
                )

    def claim_webhooks(self, now: float, lease: float, limit: int) -> Sequence[WebhookDelivery]:
        with self.transaction():
            rows = self._execute(
                "SELECT id, event_id, endpoint, payload, attempts FROM webhook_deliveries"
                " WHERE status = 'pending' AND due <= ? ORDER BY due, id LIMIT ?",
                (now, limit),
            ).fetchall()
            for row in rows:
                self._execute(
                    "UPDATE webhook_deliveries SET due = ? WHERE id = ?", (now + lease, row[0])
                )
        return [WebhookDelivery(int(r[0]), r[1], r[2], r[3], int(r[4])) for r in rows]

    def finish_webhook(
        self, delivery_id: int, *, status: str, attempts: int, due: float, error: str | None
    ) -> None:
        with self._lock:
            self._execute(
                "UPDATE webhook_deliveries SET status = ?, attempts = ?, due = ?, last_error = ?"
                " WHERE id = ?",
                (status, attempts, due, error, delivery_id),
            )

    def webhook_backlog(self) -> int:
        with self._lock:
            row = self._execute(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'"
            ).fetchone()
        return int(row[0])

    # --- metadata ------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
                " SET value = excluded.value",
                (key, value),
            )


class SqliteStore(SqlStore):
    """SQLite in WAL mode (``synchronous=NORMAL``: a committed transaction survives a process
    crash; only a power loss can lose the last ones). ``path`` may be ``":memory:"``.

    Every transaction is a write transaction (``BEGIN IMMEDIATE``). Processes sharing the file
    queue for it on an advisory lock on ``<path>.lock`` first: a blocked ``flock`` wakes as soon
    as the holder commits, where SQLite's own busy handler polls with sleeps of up to 100 ms.

    Commits never checkpoint (``wal_autocheckpoint=0``): a checkpoint syncs the WAL and the
    database, tens of milliseconds on a virtual disk once thousands of pages are dirty, and a
    commit that ran one held the write lock all that time. A :class:`_Checkpointer` thread with
    its own connection does it instead, off the write lock, see there."""

    page_size = 4096
    """Page size of a new database file (an existing one keeps its own). A payment's commit
    writes one WAL frame per page it changed, most of them index pages changed by one small
    entry each. 2 KB pages make the WAL 38 % smaller (54 against 87 KB per payment) at no more
    CPU in process, but a commit then writes 27 frames instead of 22, and the server's p99 with
    two workers rose from 9.2-10.8 ms to 12.8-14.2 ms (``bench/bench_server.py``, alternated),
    so new databases keep SQLite's default of 4 KB."""

    checkpoint_pages = 10_000
    """WAL size (pages) past which the checkpointer makes the next writer restart the WAL."""

    checkpoint_interval = 0.05
    """Seconds between the checkpointer's passes."""

    wal_limit_factor = 4
    """The writers' backstop: a commit that finds the WAL past ``wal_limit_factor *
    checkpoint_pages`` pages (it looks every ``_WAL_CHECK_EVERY`` commits) checkpoints and
    restarts it itself, still holding the write lock, so the WAL stays bounded even when the
    checkpointer falls behind (a disk slower than the writes, a starved thread)."""

    _WAL_CHECK_EVERY = 64

    dialect = "sqlite"
    position_column = "rowid"

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA page_size={self.page_size}")  # a new database's only
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        self._cursor = self._conn.cursor()
        self._lock_file = None if path == ":memory:" else open(f"{path}.lock", "a+b")  # noqa: SIM115
        self._wal_path = None if path == ":memory:" else f"{path}-wal"
        frame = self._conn.execute("PRAGMA page_size").fetchone()[0] + 24
        self._wal_limit_bytes = 32 + frame * self.wal_limit_factor * self.checkpoint_pages
        self._commits = 0
        self._checkpointer = None
        super().__init__(f"sqlite:///{path}")
        if path != ":memory:":
            self._checkpointer = _Checkpointer(
                path, self.checkpoint_pages, self.checkpoint_interval
            )
            self._checkpointer.start()
            # a store dropped without close() still ends its thread
            weakref.finalize(self, self._checkpointer.stopping.set)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        # One cursor for every statement (callers read each result before the next statement,
        # under the store's lock): creating a cursor per statement cost ~3 µs per payment.
        return self._cursor.execute(sql, params)

    def _begin(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        try:
            self._execute("BEGIN IMMEDIATE")
        except BaseException:
            self._unlock()
            raise

    def _unlock(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def _commit(self) -> None:
        try:
            self._execute("COMMIT")
            self._commits += 1
            if self._commits % self._WAL_CHECK_EVERY == 0:
                self._bound_wal()
        finally:
            self._unlock()

    def _bound_wal(self) -> None:
        """The backstop of :attr:`wal_limit_factor` (under the write lock, after a commit)."""
        if self._wal_path is None:
            return
        try:
            size = os.stat(self._wal_path).st_size
        except OSError:  # no WAL file (nothing written yet), or it cannot be read: no backstop
            return
        if size > self._wal_limit_bytes:
            try:  # the commit has happened: a failed checkpoint must not look like a failed commit
                self._execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
            except sqlite3.Error:
                logger.exception("backstop checkpoint of %s failed", self._wal_path)

    def _rollback(self) -> None:
        try:
            self._execute("ROLLBACK")
        finally:
            self._unlock()

    def _tables(self) -> set[str]:
        rows = self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self._conn.close()
        if self._lock_file is not None:
            self._lock_file.close()


class _Checkpointer(threading.Thread):
    """Checkpoints one SQLite database's WAL from a thread, so that no commit waits for one.

    Every ``interval`` seconds in which something was committed it runs a PASSIVE checkpoint,
    which copies the committed WAL frames into the database without taking the write lock
    (writers go on appending meanwhile). Such checkpoints alone never let the WAL file restart
    under continuous writes: a restart needs every frame copied when the next writer begins,
    and the end keeps moving, so the WAL grows without bound. So once it holds ``pages`` pages,
    the thread syncs the database file itself, repeats the passive checkpoint until only a few
    frames are left, and then runs the last one holding the writers' lock on ``<path>.lock``:
    it copies and syncs only those frames (about a millisecond), and the next writer starts the
    WAL from its beginning. The syncs SQLite makes are unchanged (the WAL before copying, the
    database before a restart), so durability is what ``synchronous=NORMAL`` gives.

    It holds no reference to the store; :meth:`stop` ends it (``SqliteStore.close``), and so
    does setting :attr:`stopping` (when the store is collected unclosed)."""

    _SMALL = 64  # frames left to copy under the lock

    def __init__(self, path: str, pages: int, interval: float) -> None:
        super().__init__(name=f"radarcore-checkpoint:{path}", daemon=True)
        self._path = path
        self._pages = pages
        self._interval = interval
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()
        # Bounded: a store closed inside its own transaction holds the lock the last pass may
        # wait for; closing the lock file then releases it and the thread ends on its own.
        self.join(timeout=10)

    def run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None)
        database = os.open(self._path, os.O_RDONLY)
        try:
            with open(f"{self._path}.lock", "a+b") as lock:
                self._loop(conn, database, lock)
        finally:
            os.close(database)
            conn.close()

    def _loop(self, conn: sqlite3.Connection, database: int, lock: Any) -> None:
        version = None
        while not self.stopping.wait(self._interval):
            try:
                seen = conn.execute("PRAGMA data_version").fetchone()[0]
                if seen == version:
                    continue
                version = seen
                frames, copied = self._passive(conn)
                if frames < self._pages:
                    continue
                # Each pass copies and syncs what was committed during the one before, so the
                # passes shorten until the last one, under the lock, has only a few frames.
                for _ in range(8):
                    os.fsync(database)
                    before = copied
                    frames, copied = self._passive(conn)
                    if copied - before <= self._SMALL:
                        break
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    self._passive(conn)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
            except (OSError, sqlite3.Error):
                logger.exception("checkpoint of %s failed", self._path)

    @staticmethod
    def _passive(conn: sqlite3.Connection) -> tuple[int, int]:
        """One PASSIVE checkpoint: ``(frames in the WAL, frames copied)``."""
        _, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(frames), int(copied)


class PostgresStore(SqlStore):
    """PostgreSQL through psycopg 3 (``postgresql://user@host:port/db``)."""

    dialect = "postgresql"
    position_column = "pos"

    def __init__(self, url: str) -> None:
        import psycopg

        self._conn = psycopg.connect(url, autocommit=True)
        super().__init__(url)

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql.replace("?", "%s"), params)

    def _begin(self) -> None:
        # Writers queue on one advisory lock, as SQLite's writers do on its write lock: engines
        # in several processes then see each other's event-log entries in commit order.
        self._conn.execute("BEGIN")
        self._conn.execute("SELECT pg_advisory_xact_lock(7261697)")

    def _commit(self) -> None:
        self._conn.execute("COMMIT")

    def _rollback(self) -> None:
        self._conn.execute("ROLLBACK")

    def _lock_migrations(self) -> None:
        self._execute("SELECT pg_advisory_xact_lock(7261696)")

    def _tables(self) -> set[str]:
        rows = self._execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        return {row[0] for row in rows}

    def close(self) -> None:
        self._conn.close()
