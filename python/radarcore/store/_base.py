"""The store interface every backend implements, and the indexed columns of an object."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import orjson

from radarcore.objects import OBJECT_TYPES, StripeObject

__all__ = [
    "INDEX_COLUMNS",
    "Event",
    "ModelRecord",
    "Store",
    "created_of",
    "decode",
    "decode_object",
    "encode",
    "index_of",
    "object_from_record",
]

#: Columns kept beside each JSON document, for lookups and lists.
INDEX_COLUMNS = (
    "charge",
    "payment_intent",
    "customer",
    "card_fingerprint",
    "email",
    "ip_address",
    "review_open",
    "value_list",
    "alias",
    "value",
)


@dataclass(frozen=True)
class Event:
    """One entry of the append-only event log: an assessed payment or a label.

    ``seq`` orders the log; ``kind`` is ``"payment"`` (payload: the payment event and its
    outcome) or ``"label"`` (payload: the label given to an earlier payment); ``created`` is the
    event time in Unix seconds.
    """

    seq: int
    kind: str
    created: int
    payment: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class ModelRecord:
    """One stored risk model version: its id, when it was stored (Unix seconds) and the
    metadata kept beside the model file (for listing without reading the file)."""

    version: str
    created: int
    metadata: dict[str, Any]


def _card_fingerprint(obj: Any) -> str | None:
    card = getattr(obj, "card", None)
    if card is None:
        details = getattr(obj, "payment_method_details", None)
        card = getattr(details, "card", None)
    fingerprint: str | None = getattr(card, "fingerprint", None)
    return fingerprint


def _email(obj: Any) -> str | None:
    email: str | None = getattr(obj, "email", None) or getattr(obj, "receipt_email", None)
    if email is None:
        billing = getattr(obj, "billing_details", None)
        email = getattr(billing, "email", None)
    return email


def index_of(obj: StripeObject) -> dict[str, Any]:
    """The indexed column values of ``obj`` (``None`` where the object has no such field)."""
    review_open = getattr(obj, "open", None) if obj.object == "review" else None  # type: ignore[attr-defined]
    return {
        "charge": getattr(obj, "charge", None),
        "payment_intent": getattr(obj, "payment_intent", None),
        "customer": getattr(obj, "customer", None),
        "card_fingerprint": _card_fingerprint(obj),
        "email": _email(obj),
        "ip_address": getattr(obj, "ip_address", None),
        "review_open": None if review_open is None else int(review_open),
        "value_list": getattr(obj, "value_list", None),
        "alias": getattr(obj, "alias", None),
        "value": getattr(obj, "value", None),
    }


def created_of(obj: StripeObject) -> int:
    """The creation time lists order by (``created``, or ``created_at`` for the objects that
    name it so; 0 for none)."""
    created = getattr(obj, "created", None)
    if created is None:
        created = getattr(obj, "created_at", 0)
    return int(created or 0)


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def encode(value: StripeObject | dict[str, Any]) -> bytes:
    """The stored form of an object (every field, the private ones included, nested objects as
    JSON objects) or of a JSON-like document, as compact UTF-8 JSON.

    orjson writes dataclasses directly, several times faster than ``to_record()`` and ``json``;
    a NaN is written as ``null``, which every reader takes as missing.
    """
    return orjson.dumps(value, option=_JSON_OPTIONS)


def decode(data: bytes | str) -> dict[str, Any]:
    """A document written by :func:`encode`."""
    document: dict[str, Any] = orjson.loads(data)
    return document


def object_from_record(record: dict[str, Any]) -> StripeObject:
    """The typed object for a stored record (dispatch on its ``object`` field)."""
    return OBJECT_TYPES[record["object"]].from_dict(record)


def decode_object(data: bytes | str) -> StripeObject:
    """The typed object stored as :func:`encode` wrote it."""
    record = decode(data)
    return OBJECT_TYPES[record["object"]].adopt(record)


class Store(abc.ABC):
    """Persistence for the engine: objects, the event log, velocity snapshots, idempotency.

    Objects are stored whole (:func:`encode`: every field, private ones included) with
    :data:`INDEX_COLUMNS` beside them.
    Writes made inside ``with store.transaction():`` commit together or not at all; a write
    outside a transaction commits on its own. Lists are newest first (``created``, then
    insertion order), as Stripe lists them. One store may be shared by threads: calls are
    serialised by the store.
    """

    url: str

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """A context in which every write commits at exit, or none if it raises (re-entrant)."""

    @abc.abstractmethod
    def put(self, obj: StripeObject) -> None:
        """Insert ``obj`` or replace the stored object with the same id."""

    @abc.abstractmethod
    def get(self, object_id: str) -> StripeObject | None:
        """The stored object with this id, or ``None``."""

    @abc.abstractmethod
    def delete(self, object_id: str) -> bool:
        """Remove the object; ``True`` if it existed."""

    @abc.abstractmethod
    def list(
        self,
        object_type: str,
        *,
        limit: int | None = 10,
        starting_after: str | None = None,
        **filters: Any,
    ) -> tuple[list[StripeObject], bool]:
        """Objects of ``object_type`` matching every ``filters`` column exactly, newest first.

        Returns ``(objects, has_more)``. ``starting_after`` is the id of the last object of the
        previous page. ``limit=None`` returns all.
        """

    @abc.abstractmethod
    def append_event(self, kind: str, created: int, payment: str, payload: dict[str, Any]) -> int:
        """Append to the event log; returns the new entry's ``seq``."""

    @abc.abstractmethod
    def events(self, after_seq: int = 0) -> Iterator[Event]:
        """Log entries with ``seq > after_seq``, in order."""

    @abc.abstractmethod
    def last_event_seq(self) -> int:
        """The ``seq`` of the newest log entry (0 for an empty log)."""

    @abc.abstractmethod
    def save_snapshot(self, seq: int, state: bytes) -> None:
        """Store a velocity snapshot that includes every log entry up to ``seq``."""

    @abc.abstractmethod
    def latest_snapshot(self) -> tuple[int, bytes] | None:
        """``(seq, state)`` of the newest snapshot, or ``None``."""

    @abc.abstractmethod
    def idempotent_response(self, key: str) -> tuple[str, dict[str, Any]] | None:
        """``(request_fingerprint, response)`` stored under an idempotency key, or ``None``."""

    @abc.abstractmethod
    def save_idempotent_response(
        self, key: str, fingerprint: str, response: dict[str, Any]
    ) -> None:
        """Remember the response to the request with this key and fingerprint."""

    @abc.abstractmethod
    def save_model(self, record: ModelRecord, data: bytes) -> bool:
        """Keep a model version's file; ``False`` (nothing written) if the version is stored."""

    @abc.abstractmethod
    def model_data(self, version: str) -> bytes | None:
        """The file of a stored model version, or ``None``."""

    @abc.abstractmethod
    def models(self) -> Sequence[ModelRecord]:
        """Every stored model version, newest first."""

    @abc.abstractmethod
    def get_meta(self, key: str) -> str | None:
        """An engine metadata value (e.g. the card fingerprint key), or ``None``."""

    @abc.abstractmethod
    def set_meta(self, key: str, value: str) -> None:
        """Set an engine metadata value."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection (the store cannot be used afterwards)."""
