"""An in-memory store (nothing persisted): for benchmarks and throwaway engines."""

from __future__ import annotations

import copy
import functools
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from radarcore.objects import StripeObject
from radarcore.store._base import Event, Range, Store, WebhookDelivery, check_filters, index_of

__all__ = ["MemoryStore"]


class MemoryStore(Store):
    """Keeps objects in dicts; transactions roll back through an undo log.

    Objects are copied on the way in and out, so callers never alias stored state.
    """

    def __init__(self) -> None:
        self.url = "memory://"
        self._lock = threading.RLock()
        self._objects: dict[str, tuple[int, StripeObject, dict[str, Any]]] = {}
        self._positions = itertools.count(1)
        self._events: list[Event] = []
        self._snapshot: tuple[int, bytes] | None = None
        self._idempotency: dict[str, tuple[str, dict[str, Any]]] = {}
        self._undo: list[Callable[[], object]] | None = None
        self._meta: dict[str, str] = {}
        # delivery id -> [event_id, endpoint, payload, status, attempts, due, last_error]
        self._deliveries: dict[int, list[Any]] = {}
        self._delivery_ids = itertools.count(1)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._undo is not None:
                yield
                return
            self._undo = []
            try:
                yield
            except BaseException:
                for action in reversed(self._undo):
                    action()
                raise
            finally:
                self._undo = None

    def _remember(self, action: Callable[[], object]) -> None:
        if self._undo is not None:
            self._undo.append(action)

    def put(self, obj: StripeObject) -> None:
        obj_id: str = obj.id  # type: ignore[attr-defined]
        with self._lock:
            previous = self._objects.get(obj_id)
            position = previous[0] if previous else next(self._positions)
            self._objects[obj_id] = (position, obj.clone(), index_of(obj))
            if previous is None:
                self._remember(lambda: self._objects.pop(obj_id))
            else:
                self._remember(lambda: self._objects.__setitem__(obj_id, previous))

    def get(self, object_id: str) -> StripeObject | None:
        with self._lock:
            entry = self._objects.get(object_id)
        return None if entry is None else entry[1].clone()

    def delete(self, object_id: str) -> bool:
        with self._lock:
            previous = self._objects.pop(object_id, None)
            if previous is not None:
                self._remember(lambda: self._objects.__setitem__(object_id, previous))
        return previous is not None

    def list(
        self,
        object_type: str,
        *,
        limit: int | None = 10,
        starting_after: str | None = None,
        **filters: Any,
    ) -> tuple[list[StripeObject], bool]:
        check_filters(filters)
        wanted = {k: int(v) if isinstance(v, bool) else v for k, v in filters.items()}

        def matches_all(obj: Any, index: dict[str, Any]) -> bool:
            for column, value in wanted.items():
                have = obj.created if column == "created" else index[column]
                if not (value.contains(have) if isinstance(value, Range) else have == value):
                    return False
            return True

        with self._lock:
            matches = [
                (obj.created if hasattr(obj, "created") else obj.created_at, pos, obj)  # type: ignore[attr-defined]
                for pos, obj, index in self._objects.values()
                if obj.object == object_type and matches_all(obj, index)  # type: ignore[attr-defined]
            ]
            matches.sort(key=lambda m: (m[0], m[1]), reverse=True)
            if starting_after is not None and starting_after in self._objects:
                pos, obj, _ = self._objects[starting_after]
                key = (obj.created if hasattr(obj, "created") else obj.created_at, pos)  # type: ignore[attr-defined]
                matches = [m for m in matches if (m[0], m[1]) < key]
        page = matches if limit is None else matches[:limit]
        has_more = limit is not None and len(matches) > limit
        return [m[2].clone() for m in page], has_more

    def append_event(self, kind: str, created: int, payment: str, payload: dict[str, Any]) -> int:
        with self._lock:
            seq = len(self._events) + 1
            self._events.append(Event(seq, kind, created, payment, _copy_payload(payload)))
            self._remember(self._events.pop)
        return seq

    def events(self, after_seq: int = 0) -> Iterator[Event]:
        with self._lock:
            tail = self._events[after_seq:]
        yield from tail

    def last_event_seq(self) -> int:
        return len(self._events)

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
        return None if entry is None else (entry[0], copy.deepcopy(entry[1]))

    def save_idempotent_response(
        self, key: str, fingerprint: str, response: dict[str, Any]
    ) -> None:
        with self._lock:
            self._idempotency[key] = (fingerprint, copy.deepcopy(response))
            self._remember(lambda: self._idempotency.pop(key))

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
            self._objects.clear()


def _copy_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of a log payload down to its second level (payloads are JSON-like records)."""
    return {
        key: dict(value)
        if isinstance(value, dict)
        else list(value)
        if isinstance(value, list)
        else value
        for key, value in payload.items()
    }
