"""An in-memory store (nothing persisted): for benchmarks and throwaway engines."""

from __future__ import annotations

import copy
import functools
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
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
    index_of,
)

__all__ = ["MemoryStore"]

# The stored objects, flat: one row of _WIDTH values per object (created, object type, encoded
# object, then the index values in INDEX_COLUMNS order) in one list, found by the offset of its
# row. Writing an object allocates no container the garbage collector tracks (a payment's
# writes used to leave a tuple each, and the young collections they set off, ~0.2 ms each on
# this heap, were most of the in-memory p99); a row's offset orders objects written in the
# same second.
_CREATED, _TYPE, _DOCUMENT = 0, 1, 2
_COLUMN = {column: 3 + i for i, column in enumerate(INDEX_COLUMNS)}
_WIDTH = 3 + len(INDEX_COLUMNS)


class MemoryStore(Store):
    """Keeps objects in dicts; transactions roll back through an undo log.

    Objects, log payloads and responses are kept encoded, as the SQL stores keep them (see
    :func:`radarcore.store._base.encode`): callers never alias stored state, and the store holds a
    row of strings, numbers and bytes per object instead of a graph of Python objects, which the
    garbage collector would otherwise walk again and again as the store grows.
    """

    def __init__(self) -> None:
        self.url = "memory://"
        self._lock = threading.RLock()
        self._offsets: dict[str, int] = {}
        self._rows: list[Any] = []
        # The event log, flat: kind, created, payment, encoded payload, then the next entry's
        # (no tuple per entry for the collector to count).
        self._events: list[Any] = []
        self._snapshot: tuple[int, bytes] | None = None
        self._idempotency: dict[str, tuple[str, bytes]] = {}
        self._undo: list[Callable[[], object]] | None = None
        self._meta: dict[str, str] = {}
        self._models: dict[str, tuple[ModelRecord, bytes]] = {}
        # delivery id -> [event_id, endpoint, payload, status, attempts, due, last_error]
        self._deliveries: dict[int, list[Any]] = {}
        self._delivery_ids = itertools.count(1)

    def transaction(self) -> AbstractContextManager[None]:
        return _Transaction(self)

    def _remember(self, action: Callable[[], object]) -> None:
        if self._undo is not None:
            self._undo.append(action)

    def put(self, obj: StripeObject) -> None:
        obj_id: str = obj.id  # type: ignore[attr-defined]
        data = encode(obj)
        row = (created_of(obj), obj.object, data, *index_of(obj))  # type: ignore[attr-defined]
        with self._lock:
            rows = self._rows
            offset = self._offsets.get(obj_id)
            if offset is None:
                self._offsets[obj_id] = len(rows)
                rows += row
                self._remember(functools.partial(self._drop_last_row, obj_id))
            else:
                previous = tuple(rows[offset : offset + _WIDTH])
                rows[offset : offset + _WIDTH] = row
                self._remember(functools.partial(self._set_row, offset, previous))

    def _drop_last_row(self, obj_id: str) -> None:
        del self._offsets[obj_id]
        del self._rows[-_WIDTH:]

    def _set_row(self, offset: int, row: tuple[Any, ...]) -> None:
        self._rows[offset : offset + _WIDTH] = row

    def document(self, object_id: str) -> bytes | None:
        with self._lock:
            offset = self._offsets.get(object_id)
            return None if offset is None else self._rows[offset + _DOCUMENT]

    def delete(self, object_id: str) -> bool:
        with self._lock:
            offset = self._offsets.pop(object_id, None)
            if offset is None:
                return False
            rows = self._rows
            previous = rows[offset + _TYPE], rows[offset + _DOCUMENT]
            rows[offset + _TYPE] = rows[offset + _DOCUMENT] = None
            self._remember(functools.partial(self._undelete, object_id, offset, previous))
        return True

    def _undelete(self, object_id: str, offset: int, previous: tuple[str, bytes]) -> None:
        self._offsets[object_id] = offset
        self._rows[offset + _TYPE], self._rows[offset + _DOCUMENT] = previous

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
        wanted = [
            (_CREATED if k == "created" else _COLUMN[k], int(v) if isinstance(v, bool) else v)
            for k, v in filters.items()
        ]
        with self._lock:
            rows = self._rows

            def matches_all(offset: int) -> bool:
                for column, value in wanted:
                    have = rows[offset + column]
                    if not (value.contains(have) if isinstance(value, Range) else have == value):
                        return False
                return True

            def order(offset: int) -> tuple[int, int]:
                return rows[offset + _CREATED], offset

            matches = [
                offset
                for offset in range(0, len(rows), _WIDTH)
                if rows[offset + _TYPE] == object_type and matches_all(offset)
            ]
            matches.sort(key=order, reverse=True)
            after = self._offsets.get(starting_after) if starting_after is not None else None
            if after is not None:
                matches = [m for m in matches if order(m) < order(after)]
            before = self._offsets.get(ending_before) if ending_before is not None else None
            if before is not None:
                matches = [m for m in matches if order(m) > order(before)]
            has_more = limit is not None and len(matches) > limit
            if limit is None:
                page = matches
            elif before is not None:
                page = matches[-limit:] if has_more else matches
            else:
                page = matches[:limit]
            documents = [rows[m + _DOCUMENT] for m in page]
        return [decode_object(d) for d in documents], has_more

    def append_event(self, kind: str, created: int, payment: str, payload: dict[str, Any]) -> int:
        data = encode(payload)
        with self._lock:
            self._events += kind, created, payment, data
            self._remember(functools.partial(self._events.__delitem__, slice(-4, None)))
            return len(self._events) // 4

    def events(self, after_seq: int = 0) -> Iterator[Event]:
        with self._lock:
            tail = self._events[4 * after_seq :]
        for i in range(0, len(tail), 4):
            kind, created, payment, data = tail[i : i + 4]
            yield Event(after_seq + 1 + i // 4, kind, created, payment, decode(data))

    def last_event_seq(self) -> int:
        return len(self._events) // 4

    def save_snapshot(self, seq: int, state: bytes) -> None:
        with self._lock:
            previous = self._snapshot
            self._snapshot = (seq, bytes(state))
            self._remember(lambda: setattr(self, "_snapshot", previous))

    def latest_snapshot(self) -> tuple[int, bytes] | None:
        return self._snapshot

    def idempotent_response(self, key: str) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            entry = self._idempotency.get(key)
        return None if entry is None else (entry[0], decode(entry[1]))

    def save_idempotent_response(
        self, key: str, fingerprint: str, response: dict[str, Any]
    ) -> None:
        data = encode(response)
        with self._lock:
            self._idempotency[key] = (fingerprint, data)
            self._remember(lambda: self._idempotency.pop(key))

    def save_model(self, record: ModelRecord, data: bytes) -> bool:
        with self._lock:
            if record.version in self._models:
                return False
            self._models[record.version] = (copy.deepcopy(record), bytes(data))
            self._remember(lambda: self._models.pop(record.version))
        return True

    def model_data(self, version: str) -> bytes | None:
        with self._lock:
            entry = self._models.get(version)
        return None if entry is None else entry[1]

    def models(self) -> Sequence[ModelRecord]:
        with self._lock:
            records = [copy.deepcopy(r) for r, _ in self._models.values()]
        # dicts keep insertion order: newest first is the reverse, stable on equal times
        return sorted(reversed(records), key=lambda r: r.created, reverse=True)

    def enqueue_webhooks(self, deliveries: Sequence[tuple[str, str, str]], due: float) -> None:
        with self._lock:
            for event_id, endpoint, payload in deliveries:
                delivery_id = next(self._delivery_ids)
                self._deliveries[delivery_id] = [
                    event_id,
                    endpoint,
                    payload,
                    "pending",
                    0,
                    due,
                    None,
                ]
                self._remember(functools.partial(self._deliveries.pop, delivery_id))

    def claim_webhooks(self, now: float, lease: float, limit: int) -> Sequence[WebhookDelivery]:
        with self._lock:
            due = sorted((row[5], i) for i, row in self._deliveries.items() if row[3] == "pending")
            claimed = [i for at, i in due if at <= now][:limit]
            for i in claimed:
                self._deliveries[i][5] = now + lease
            rows = [(i, self._deliveries[i]) for i in claimed]
            return [WebhookDelivery(i, row[0], row[1], row[2], row[4]) for i, row in rows]

    def finish_webhook(
        self, delivery_id: int, *, status: str, attempts: int, due: float, error: str | None
    ) -> None:
        with self._lock:
            row = self._deliveries[delivery_id]
            row[3:7] = [status, attempts, due, error]

    def webhook_backlog(self) -> int:
        with self._lock:
            return sum(1 for row in self._deliveries.values() if row[3] == "pending")

    def get_meta(self, key: str) -> str | None:
        return self._meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            previous = self._meta.get(key)
            self._meta[key] = value
            if previous is None:
                self._remember(lambda: self._meta.pop(key))
            else:
                self._remember(lambda: self._meta.__setitem__(key, previous))

    def close(self) -> None:
        with self._lock:
            self._offsets.clear()
            self._rows.clear()


class _Transaction:
    """``MemoryStore.transaction()``: holds the store's lock; the outermost one keeps the undo
    log and, when its block raises, undoes the writes in reverse order. (A class rather than a
    generator context manager: one is entered per request.)"""

    __slots__ = ("_outer", "_store")

    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._outer = False

    def __enter__(self) -> None:
        store = self._store
        store._lock.acquire()
        self._outer = store._undo is None
        if self._outer:
            store._undo = []

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        store = self._store
        try:
            if self._outer:
                undo, store._undo = store._undo, None
                if exc_type is not None:
                    for action in reversed(undo or ()):
                        action()
        finally:
            store._lock.release()
