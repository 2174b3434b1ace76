"""An in-memory store (nothing persisted): for benchmarks and throwaway engines."""

from __future__ import annotations

import copy
import functools
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from radarcore import _core
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

# The stored objects: one row per object (created, object type, its document's handle in the
# store's _Arena, then the index values in INDEX_COLUMNS order) in a _Table, found by its row
# number, which also orders objects written in the same second.
_CREATED, _TYPE, _DOCUMENT = 0, 1, 2
_COLUMN = {column: 3 + i for i, column in enumerate(INDEX_COLUMNS)}
_WIDTH = 3 + len(INDEX_COLUMNS)
_CHUNK_ROWS = 1024


_ARENA_BYTES = 4 << 20


class _Arena:
    """Encoded documents back to back in regions of :data:`_ARENA_BYTES`
    (:class:`radarcore._core.PrefaultedRegion`).

    A document is kept at its exact size (orjson's output holds the buffer it was written into,
    24 KB for a 3 KB document) and in memory a background C++ thread faulted in beforehand, so
    payments do not take the fresh-page faults (~3 µs each on a VM) that each bytes object of
    their ~11.5 KB of documents cost (~1.9 per payment). The thread never takes the GIL: one in
    Python did, and each hand-over of the GIL stalled a payment for ~2.5 ms on a loaded machine.
    A document larger than a region gets one of its own. The space of a document replaced,
    deleted or written by a transaction that rolled back is not reused (this store is for
    benchmarks and throwaway engines: it grows with what was written, not with what is kept).

    :meth:`add` returns a handle (region index, offset and length in one integer); :meth:`read`
    the document's bytes.
    """

    __slots__ = ("_regions", "_used")

    def __init__(self) -> None:
        self._regions: list[memoryview] = []
        self._used = _ARENA_BYTES  # bytes used in the last region (none yet: a full one)

    def add(self, data: bytes) -> int:
        size = len(data)
        if self._used + size > _ARENA_BYTES:
            whole = size > _ARENA_BYTES
            region = _core.PrefaultedRegion(size if whole else _ARENA_BYTES, prepare_next=not whole)
            self._regions.append(memoryview(region))
            self._used = 0
        start = self._used
        self._regions[-1][start : start + size] = data
        self._used = start + size
        return (len(self._regions) - 1) << 64 | start << 32 | size

    def read(self, handle: int) -> bytes:
        size = handle & 0xFFFFFFFF
        start = (handle >> 32) & 0xFFFFFFFF
        return self._regions[handle >> 64][start : start + size].tobytes()

    def clear(self) -> None:
        self._regions.clear()
        self._used = _ARENA_BYTES


class _Table:
    """Rows of ``width`` strings and numbers, kept in preallocated chunks of
    :data:`_CHUNK_ROWS` rows.

    Writing a row allocates no container the garbage collector tracks (a payment's writes used
    to leave a tuple each, and the young collections they set off, ~0.2 ms each on this heap,
    were most of the in-memory p99), and the table is never copied as it grows (one list grown
    a row at a time is reallocated at every ~12 % of growth, which touched fresh pages for up
    to ~1 ms at a few thousand payments).
    """

    __slots__ = ("_chunks", "count", "width")

    def __init__(self, width: int) -> None:
        self.width = width
        self.count = 0
        self._chunks: list[list[Any]] = []

    def _place(self, row: int) -> tuple[list[Any], int]:
        chunk, slot = divmod(row, _CHUNK_ROWS)
        return self._chunks[chunk], slot * self.width

    def append(self, values: Sequence[Any]) -> int:
        """Add a row; its number."""
        row = self.count
        chunk, slot = divmod(row, _CHUNK_ROWS)
        if chunk == len(self._chunks):
            self._chunks.append([None] * (_CHUNK_ROWS * self.width))
        start = slot * self.width
        self._chunks[chunk][start : start + self.width] = values
        self.count = row + 1
        return row

    def drop_last(self) -> None:
        self.count -= 1
        self.set(self.count, (None,) * self.width)

    def set(self, row: int, values: Sequence[Any]) -> None:
        chunk, start = self._place(row)
        chunk[start : start + self.width] = values

    def get(self, row: int) -> list[Any]:
        chunk, start = self._place(row)
        return chunk[start : start + self.width]

    def value(self, row: int, column: int) -> Any:
        chunk, start = self._place(row)
        return chunk[start + column]

    def set_value(self, row: int, column: int, value: Any) -> None:
        chunk, start = self._place(row)
        chunk[start + column] = value

    def clear(self) -> None:
        self.count = 0
        self._chunks.clear()


class MemoryStore(Store):
    """Keeps objects in dicts; transactions roll back through an undo log.

    Objects, log payloads and responses are kept encoded, as the SQL stores keep them (see
    :func:`radarcore.store._base.encode`): callers never alias stored state, and the store holds a
    row of strings and numbers per object (its document in an :class:`_Arena`) instead of a graph
    of Python objects, which the garbage collector would otherwise walk again and again as the
    store grows.
    """

    def __init__(self) -> None:
        self.url = "memory://"
        self._lock = threading.RLock()
        self._rows: dict[str, int] = {}
        self._objects = _Table(_WIDTH)
        self._documents = _Arena()  # every encoded object, log payload and response
        # The event log: kind, created, payment, the payload's handle; row n is seq n + 1.
        self._events = _Table(4)
        self._snapshot: tuple[int, bytes] | None = None
        self._idempotency: dict[str, tuple[str, int]] = {}  # key -> (fingerprint, handle)
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
        data, created, indexed = encode(obj), created_of(obj), index_of(obj)
        with self._lock:
            values = (created, obj.object, self._documents.add(data), *indexed)  # type: ignore[attr-defined]
            row = self._rows.get(obj_id)
            if row is None:
                self._rows[obj_id] = self._objects.append(values)
                self._remember(functools.partial(self._drop_last_object, obj_id))
            else:
                previous = self._objects.get(row)
                self._objects.set(row, values)
                self._remember(functools.partial(self._objects.set, row, previous))

    def _drop_last_object(self, obj_id: str) -> None:
        del self._rows[obj_id]
        self._objects.drop_last()

    def document(self, object_id: str) -> bytes | None:
        with self._lock:
            row = self._rows.get(object_id)
            return (
                None if row is None else self._documents.read(self._objects.value(row, _DOCUMENT))
            )

    def delete(self, object_id: str) -> bool:
        with self._lock:
            row = self._rows.pop(object_id, None)
            if row is None:
                return False
            previous = self._objects.get(row)
            self._objects.set_value(row, _TYPE, None)
            self._objects.set_value(row, _DOCUMENT, None)
            self._remember(functools.partial(self._undelete, object_id, row, previous))
        return True

    def _undelete(self, object_id: str, row: int, previous: list[Any]) -> None:
        self._rows[object_id] = row
        self._objects.set(row, previous)

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

        def matches_all(values: list[Any]) -> bool:
            for column, value in wanted:
                have = values[column]
                if not (value.contains(have) if isinstance(value, Range) else have == value):
                    return False
            return True

        with self._lock:
            objects = self._objects
            # (created, row, document) of every match, newest first
            matches = [
                (values[_CREATED], row, values[_DOCUMENT])
                for row in range(objects.count)
                if (values := objects.get(row))[_TYPE] == object_type and matches_all(values)
            ]

            def order(object_id: str | None) -> tuple[int, int] | None:
                row = self._rows.get(object_id) if object_id is not None else None
                return None if row is None else (objects.value(row, _CREATED), row)

            after, before = order(starting_after), order(ending_before)
        matches.sort(reverse=True)
        if after is not None:
            matches = [m for m in matches if m[:2] < after]
        if before is not None:
            matches = [m for m in matches if m[:2] > before]
        has_more = limit is not None and len(matches) > limit
        if limit is None:
            page = matches
        elif before is not None:
            page = matches[-limit:] if has_more else matches
        else:
            page = matches[:limit]
        with self._lock:
            documents = [self._documents.read(m[2]) for m in page]
        return [decode_object(d) for d in documents], has_more

    def append_event(self, kind: str, created: int, payment: str, payload: dict[str, Any]) -> int:
        data = encode(payload)
        with self._lock:
            row = self._events.append((kind, created, payment, self._documents.add(data)))
            self._remember(self._events.drop_last)
            return row + 1

    def events(self, after_seq: int = 0) -> Iterator[Event]:
        if after_seq >= self._events.count:  # (every writing request asks, and mostly for none)
            return iter(())
        return self._events_after(after_seq)

    def _events_after(self, after_seq: int) -> Iterator[Event]:
        with self._lock:
            tail = [self._events.get(row) for row in range(after_seq, self._events.count)]
            for values in tail:
                values[3] = self._documents.read(values[3])
        for seq, (kind, created, payment, data) in enumerate(tail, after_seq + 1):
            yield Event(seq, kind, created, payment, decode(data))

    def last_event_seq(self) -> int:
        return self._events.count

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
            if entry is None:
                return None
            fingerprint, data = entry[0], self._documents.read(entry[1])
        return fingerprint, decode(data)

    def save_idempotent_response(
        self, key: str, fingerprint: str, response: dict[str, Any]
    ) -> None:
        data = encode(response)
        with self._lock:
            self._idempotency[key] = (fingerprint, self._documents.add(data))
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
            self._rows.clear()
            self._objects.clear()
            self._documents.clear()


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
