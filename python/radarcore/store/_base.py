"""The store interface every backend implements, and the indexed columns of an object."""

from __future__ import annotations

import abc
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import orjson

from radarcore.objects import OBJECT_TYPES, StripeObject

__all__ = [
    "INDEX_COLUMNS",
    "RANGE_COLUMNS",
    "Event",
    "IndexPlan",
    "ModelRecord",
    "Range",
    "Store",
    "WebhookDelivery",
    "check_filters",
    "created_of",
    "decode",
    "decode_object",
    "encode",
    "index_of",
    "index_plan",
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
    "amount",
    "risk_level",
    "last4",
)

#: Integer columns a :class:`Range` may filter on.
RANGE_COLUMNS = ("created", "amount")


@dataclass(frozen=True)
class Range:
    """An inclusive range filter for :meth:`Store.list` on an integer column (``created``,
    ``amount``); an open end is ``None``.

    >>> Range(gte=100, lte=500).contains(250), Range(gte=100).contains(99)
    (True, False)
    """

    gte: int | None = None
    lte: int | None = None

    def __post_init__(self) -> None:
        for end in (self.gte, self.lte):
            if end is not None and (not isinstance(end, int) or isinstance(end, bool)):
                raise TypeError(f"range ends must be integers or None, got {end!r}")

    def contains(self, value: int | None) -> bool:
        """Whether ``value`` lies in the range (a missing value never does)."""
        if value is None:
            return False
        return (self.gte is None or value >= self.gte) and (self.lte is None or value <= self.lte)


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
class WebhookDelivery:
    """One event to send to one webhook endpoint (the outbox row).

    ``payload`` is the event's JSON, encoded once when the event was written (every attempt
    sends the same bytes); ``attempts`` counts the attempts made so far.
    """

    id: int
    event_id: str
    endpoint: str
    payload: str
    attempts: int


@dataclass(frozen=True)
class ModelRecord:
    """One stored risk model version: its id, when it was stored (Unix seconds) and the
    metadata kept beside the model file (for listing without reading the file)."""

    version: str
    created: int
    metadata: dict[str, Any]


def _card(obj: Any) -> Any:
    card = getattr(obj, "card", None)
    if card is None:
        details = getattr(obj, "payment_method_details", None)
        card = getattr(details, "card", None)
    return card


def _fingerprint(obj: Any) -> str | None:
    return getattr(_card(obj), "fingerprint", None)


def _last4(obj: Any) -> str | None:
    return getattr(_card(obj), "last4", None) or None


def _risk_level(obj: Any) -> str | None:
    level: str | None = getattr(obj.outcome, "risk_level", None)
    return level


def _email(obj: Any) -> str | None:
    email: str | None = getattr(obj, "email", None) or getattr(obj, "receipt_email", None)
    if email is None:
        billing = getattr(obj, "billing_details", None)
        email = getattr(billing, "email", None)
    return email


def _review_open(obj: Any) -> int | None:
    return None if obj.open is None else int(obj.open)


# Per column: (the fields of an object it reads, how it reads them from an object with one).
_INDEX_READERS: dict[str, tuple[frozenset[str], Callable[[Any], Any]]] = {
    "card_fingerprint": (frozenset({"card", "payment_method_details"}), _fingerprint),
    "email": (frozenset({"email", "receipt_email", "billing_details"}), _email),
    "risk_level": (frozenset({"outcome"}), _risk_level),
    "last4": (frozenset({"card", "payment_method_details"}), _last4),
}


@dataclass(frozen=True)
class IndexPlan:
    """How the index columns of one class's objects are read: ``columns`` are the
    :data:`INDEX_COLUMNS` the class has a field for (the others are always ``None``),
    ``values(obj)`` gives those columns' values and ``all(obj)`` every column's, in
    :data:`INDEX_COLUMNS` order."""

    columns: tuple[str, ...]
    values: Callable[[Any], tuple[Any, ...]]
    all: Callable[[Any], tuple[Any, ...]]


_INDEX_PLANS: dict[type, IndexPlan] = {}


def index_plan(cls: type[StripeObject]) -> IndexPlan:
    """The :class:`IndexPlan` of ``cls``, compiled once per class (as ``dataclasses`` compiles
    ``__init__``): per column the object's field, or the reader of the nested value the column
    holds. One call with plain attribute loads, instead of a call per column."""
    plan = _INDEX_PLANS.get(cls)
    if plan is not None:
        return plan
    names = cls._layout().name_set
    readers: dict[str, Callable[[Any], Any]] = {}
    terms: dict[str, str] = {}
    for column in INDEX_COLUMNS:
        read: Callable[[Any], Any] | None
        if column == "review_open":
            read = _review_open if getattr(cls, "object", None) == "review" else None
        elif column in _INDEX_READERS:
            fields, read = _INDEX_READERS[column]
            read = read if names & fields else None
        else:
            if column in names:
                terms[column] = f"o.{column}"
            continue
        if read is not None:
            readers[f"read_{column}"] = read
            terms[column] = f"read_{column}(o)"

    def compile_(items: list[str]) -> Callable[[Any], tuple[Any, ...]]:
        function: Callable[[Any], tuple[Any, ...]] = eval(
            f"lambda o: ({''.join(item + ', ' for item in items)})", readers
        )
        return function

    plan = _INDEX_PLANS[cls] = IndexPlan(
        columns=tuple(terms),
        values=compile_(list(terms.values())),
        all=compile_([terms.get(column, "None") for column in INDEX_COLUMNS]),
    )
    return plan


def index_of(obj: StripeObject) -> tuple[Any, ...]:
    """The indexed column values of ``obj``, in :data:`INDEX_COLUMNS` order (``None`` where the
    object has no such field)."""
    plan = _INDEX_PLANS.get(type(obj)) or index_plan(type(obj))
    return plan.all(obj)


def created_of(obj: StripeObject) -> int:
    """The creation time lists order by (``created``, or ``created_at`` for the objects that
    name it so; 0 for none)."""
    created = getattr(obj, "created", None)
    if created is None:
        created = getattr(obj, "created_at", 0)
    return int(created or 0)


# For the rare document the plain encoding rejects: a numpy value or a non-string key (which,
# as ``json`` does, becomes a string). Asking for these always would slow every document down.
_LENIENT = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def encode(value: StripeObject | dict[str, Any]) -> bytes:
    """The stored form of an object (every field, the private ones included, nested objects as
    JSON objects) or of a JSON-like document, as compact UTF-8 JSON.

    orjson writes dataclasses directly, several times faster than ``to_record()`` and ``json``;
    a NaN is written as ``null``, which every reader takes as missing; numpy values and
    non-string keys (``{1: "a"}`` as ``{"1": "a"}``) are accepted too.
    """
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return orjson.dumps(value, option=_LENIENT)


def decode(data: bytes | str) -> dict[str, Any]:
    """A document written by :func:`encode`."""
    document: dict[str, Any] = orjson.loads(data)
    return document


def check_filters(filters: dict[str, Any]) -> None:
    """Reject filters :meth:`Store.list` cannot apply (unknown columns, misplaced ranges)."""
    unknown = set(filters) - set(INDEX_COLUMNS) - {"created"}
    if unknown:
        raise ValueError(f"cannot filter objects on {sorted(unknown)}")
    ranged = [k for k, v in filters.items() if isinstance(v, Range) and k not in RANGE_COLUMNS]
    if ranged:
        raise ValueError(f"cannot filter {sorted(ranged)} by range: only {list(RANGE_COLUMNS)}")


def object_from_record(record: dict[str, Any]) -> StripeObject:
    """The typed object for a stored record (dispatch on its ``object`` field)."""
    return OBJECT_TYPES[record["object"]].from_dict(record)


def decode_object(data: bytes | str) -> StripeObject:
    """The typed object stored as :func:`encode` wrote it."""
    record = decode(data)
    return OBJECT_TYPES[record["object"]].adopt(record)


GENERATION_KEY = "config_generation"
"""Metadata key of the configuration generation (:meth:`Store.bump_generation`)."""


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
    def document(self, object_id: str) -> bytes | str | None:
        """The stored document of the object with this id as :func:`encode` wrote it (equal
        documents hold equal objects), or ``None``."""

    def get(self, object_id: str) -> StripeObject | None:
        """The stored object with this id, or ``None``."""
        document = self.document(object_id)
        return None if document is None else decode_object(document)

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
        ending_before: str | None = None,
        **filters: Any,
    ) -> tuple[list[StripeObject], bool]:
        """Objects of ``object_type`` matching every ``filters`` column, newest first.

        A filter value matches its column exactly (``None``: the column is missing), except a
        :class:`Range` on one of :data:`RANGE_COLUMNS`, which matches inclusively.

        Returns ``(objects, has_more)``. ``starting_after`` is the id of the last object of the
        previous page: the page holds the next older objects. ``ending_before`` is the id of the
        first object of the next page: the page holds the ``limit`` objects just newer than it
        (still newest first), and ``has_more`` says whether there are newer ones still. An id
        that names no stored object is ignored. ``limit=None`` returns all.
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
    def enqueue_webhooks(self, deliveries: Sequence[tuple[str, str, str]], due: float) -> None:
        """Add ``(event_id, endpoint_id, payload)`` deliveries, first attempt due at ``due``
        (Unix seconds); written in the caller's transaction, like the objects they announce."""

    @abc.abstractmethod
    def claim_webhooks(self, now: float, lease: float, limit: int) -> Sequence[WebhookDelivery]:
        """Up to ``limit`` pending deliveries due at ``now``, oldest first, each moved to
        ``now + lease`` so no other process claims it while it is being sent."""

    @abc.abstractmethod
    def finish_webhook(
        self, delivery_id: int, *, status: str, attempts: int, due: float, error: str | None
    ) -> None:
        """Record an attempt: ``status`` ``delivered``, ``failed`` (given up) or ``pending``
        (retry at ``due``)."""

    @abc.abstractmethod
    def webhook_backlog(self) -> int:
        """How many deliveries are pending."""

    @abc.abstractmethod
    def get_meta(self, key: str) -> str | None:
        """An engine metadata value (e.g. the card fingerprint key), or ``None``."""

    @abc.abstractmethod
    def set_meta(self, key: str, value: str) -> None:
        """Set an engine metadata value."""

    def bump_generation(self) -> str:
        """Announce, inside the transaction of a change, that every engine on this database
        must pick it up (lists, saved rules, webhook endpoints, model versions): the stored
        configuration generation (metadata ``config_generation``) gets a new value, which
        engines compare at the start of each writing transaction. Returns the new value."""
        generation = secrets.token_hex(8)
        self.set_meta(GENERATION_KEY, generation)
        return generation

    def generation(self) -> str | None:
        """The stored configuration generation (see :meth:`bump_generation`)."""
        return self.get_meta(GENERATION_KEY)

    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection (the store cannot be used afterwards)."""
