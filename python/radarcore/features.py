"""Payment features and Radar's rule attributes, computed by the compiled core.

:class:`FeatureExtractor` turns payment events (see :mod:`radarcore.events`) into

* a feature row for the model (:attr:`FeatureExtractor.schema`: every numeric and boolean
  rule attribute, categoricals as stable integer codes, and model-only signals such as the
  local hour, email/name similarity, Radar Session matches and device/merchant velocity;
  NaN is missing), and
* Radar's rule attributes by Stripe's names (:data:`ATTRIBUTES`), strings included.

It owns a velocity state. ``extract_*`` and ``attributes_one`` read the state as of *before*
the payment (counts exclude the payment itself); :meth:`FeatureExtractor.update` records the
payment once it is decided, and :meth:`FeatureExtractor.record_label` records what arrives
later (network result, refunds, early fraud warnings, disputes). ``extract_many`` replays a
batch: each row is extracted, then recorded with its ``outcome`` column.

Windows and buckets follow Radar (reference 1.10); buckets are aligned to the Unix epoch and a
window covers the bucket of the payment and the ones before it: ``hourly`` 13 buckets of 5
minutes, ``daily`` 25 of one hour, ``weekly`` 169 of one hour, ``yearly`` 366 of one day;
``all_time`` is everything the state holds for the entity. So a payment counts in ``hourly``
until 3,600 to 3,899 seconds later depending on where it fell in its bucket, and never 3,900
seconds later or more. Bounded attributes (``card_count_for_*``, ``email_count_for_*``,
``name_count_for_card_*``, ``total_customers_*``, label counters) track at most 25 values per
entity and family, evicting the one seen longest ago.

Time only goes forward: the state keeps a clock (the latest ``created`` or label time it has
seen); an event older than the clock is read and recorded as if it happened at the clock.
``extract_many`` therefore sorts the batch by ``created`` (stably) before replaying it, unless
``sort=False``, and returns rows in the input order.

SetupIntents (``is_setup_intent``) are recorded in the distinct sets and first-seen times but
not in the ``_charges_`` counters or amount aggregates. Entities idle for longer than
``ttl_seconds`` (default five years, Radar's ``all_time`` horizon) are forgotten.

Threading: calls on one extractor are serialised by a lock in the core (the GIL is released
while it works), so threads may share an extractor; results then depend on call order.

>>> from radarcore import FeatureExtractor
>>> fx = FeatureExtractor()
>>> first = {"id": "ch_1", "created": 1_700_000_100, "amount": 2000, "currency": "usd",
...          "customer": "cus_1", "email": " Jane@Example.com"}
>>> fx.attributes_one(first)["total_charges_per_customer_hourly"]
0.0
>>> fx.update(first, "authorized")
>>> second = dict(first, id="ch_2", created=1_700_000_100 + 600)
>>> attrs = fx.attributes_one(second)
>>> attrs["total_charges_per_customer_hourly"], attrs["email"], attrs["amount_in_eur"] > 0
(1.0, 'jane@example.com', True)
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

from radarcore import _core
from radarcore.events import pack_many

__all__ = [
    "ATTRIBUTES",
    "DEFAULT_TTL_SECONDS",
    "LABELS",
    "Column",
    "FeatureExtractor",
    "FeatureSchema",
    "default_currency_rates",
    "default_disposable_domains",
    "numeric_attributes",
]

ColumnKind = Literal["numeric", "bool", "category", "string"]
Source = Literal["event", "tables", "derived", "velocity", "labels"]

#: Entities idle longer than this are forgotten (five years: Radar's all_time horizon).
DEFAULT_TTL_SECONDS = 1826 * 86400

#: What :meth:`FeatureExtractor.record_label` accepts.
LABELS: tuple[str, ...] = (
    "authorized",
    "declined",
    "refund",
    "fraudulent_refund",
    "early_fraud_warning",
    "dispute",
    "high_risk_block",
)


@dataclass(frozen=True)
class Column:
    """One computed value: Stripe's name for rule attributes (``attribute``), its kind, whether
    string comparisons on it are case-sensitive, and where it comes from (``event``,
    ``tables``, ``derived``, ``velocity`` or ``labels``)."""

    name: str
    kind: ColumnKind
    attribute: bool
    case_sensitive: bool
    source: Source


def _columns(raw: list[tuple[str, str, bool, bool, str]]) -> tuple[Column, ...]:
    return tuple(
        Column(name, cast(ColumnKind, kind), attribute, case_sensitive, cast(Source, source))
        for name, kind, attribute, case_sensitive, source in raw
    )


@dataclass(frozen=True)
class FeatureSchema:
    """The feature row, declared once and in order: what a model is trained on.

    >>> schema = FeatureExtractor().schema
    >>> schema.index("total_charges_per_card_number_hourly") > 0
    True
    """

    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def index(self, name: str) -> int:
        """Position of a column; ``KeyError`` naming it when there is none."""
        for i, column in enumerate(self.columns):
            if column.name == name:
                return i
        raise KeyError(f"no feature column named {name!r}")

    def __len__(self) -> int:
        return len(self.columns)


_FEATURE_COLUMNS = _columns(_core.feature_columns())
_STRING_ATTRIBUTES = _columns(_core.string_attribute_columns())
_NUMERIC_ATTRIBUTE_INDEX = tuple(i for i, c in enumerate(_FEATURE_COLUMNS) if c.attribute)

#: Every Radar rule attribute radarcore computes, numeric and boolean ones first (in feature
#: order), then the strings. The declarative table to cross-check against the rule catalogue.
ATTRIBUTES: tuple[Column, ...] = (
    tuple(_FEATURE_COLUMNS[i] for i in _NUMERIC_ATTRIBUTE_INDEX) + _STRING_ATTRIBUTES
)


def numeric_attributes(
    matrix: npt.NDArray[np.float64], names: Set[str] | None = None
) -> dict[str, npt.NDArray[Any]]:
    """The numeric and boolean attributes (all, or those in ``names``) as columns of a feature
    matrix: float64 (NaN missing) and bool arrays."""
    out: dict[str, npt.NDArray[Any]] = {}
    for i in _NUMERIC_ATTRIBUTE_INDEX:
        column = _FEATURE_COLUMNS[i]
        if names is None or column.name in names:
            values = matrix[:, i]
            out[column.name] = values == 1.0 if column.kind == "bool" else values.copy()
    return out


def default_currency_rates() -> dict[str, tuple[int, float]]:
    """The bundled rate table: currency -> (minor-unit exponent, USD per major unit)."""
    path = resources.files("radarcore") / "data" / "currency_rates.json"
    table = json.loads(path.read_text(encoding="utf-8"))["currencies"]
    return {code: (int(v["exponent"]), float(v["usd_per_unit"])) for code, v in table.items()}


def default_disposable_domains() -> frozenset[str]:
    """Throwaway email domains from the ``disposable-email-domains`` package (kept up to date
    upstream; upgrade the package to refresh it)."""
    from disposable_email_domains import blocklist

    return frozenset(blocklist)


class FeatureExtractor:
    """Features and Radar attributes of payment events, with the velocity state they read.

    ``currency_rates`` maps a currency to (minor-unit exponent, USD per major unit) and must
    cover the 34 ``amount_in_xyz`` currencies; ``disposable_domains`` and ``anonymous_ips``
    (addresses or CIDR networks) feed ``is_disposable_email`` and ``is_anonymous_ip``.
    """

    def __init__(
        self,
        *,
        currency_rates: Mapping[str, tuple[int, float]] | None = None,
        disposable_domains: Iterable[str] | None = None,
        anonymous_ips: Iterable[str] = (),
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> None:
        rates = default_currency_rates() if currency_rates is None else dict(currency_rates)
        domains = default_disposable_domains() if disposable_domains is None else disposable_domains
        self._core = _core.FeatureExtractor(
            [(code, int(exp), float(usd)) for code, (exp, usd) in sorted(rates.items())],
            sorted(domains),
            list(anonymous_ips),
            int(ttl_seconds),
        )
        self._schema = FeatureSchema(_FEATURE_COLUMNS)

    @property
    def schema(self) -> FeatureSchema:
        """The feature row's columns, in order."""
        return self._schema

    @property
    def clock(self) -> int:
        """The latest event time the state has seen (Unix seconds)."""
        return self._core.clock

    @property
    def entity_count(self) -> int:
        """How many entities (cards, emails, IPs, ...) the state tracks."""
        return self._core.entity_count

    @property
    def memory_bytes(self) -> int:
        """Bytes the velocity state holds (table, records and their arrays)."""
        return self._core.memory_bytes

    def extract_one(self, event: Mapping[str, Any]) -> npt.NDArray[np.float64]:
        """The feature row of one event as of now; the state is not changed."""
        return self._core.extract_one(event)

    def update(self, event: Mapping[str, Any], result: str | None = None) -> None:
        """Records a decided payment: ``authorized``, ``declined``, ``blocked`` or ``pending``
        (allowed, network result not known yet). ``None`` takes the event's ``outcome``
        field, and ``pending`` when that is missing too."""
        self._core.update(event, result)

    def record_label(self, event: Mapping[str, Any], label: str, *, at: int | None = None) -> None:
        """Records a fact about a past payment that arrived at time ``at`` (default: the
        payment's ``created``): a network result (``authorized``/``declined`` for a payment
        recorded as ``pending``), ``refund``, ``fraudulent_refund``, ``early_fraud_warning``,
        ``dispute`` (fraudulent) or ``high_risk_block``. Labels about the same payment id are
        counted once per counter."""
        self._core.record_label(event, label, at)

    def extract_many(
        self,
        events: object,
        *,
        update: bool = True,
        sort: bool = True,
        out: npt.NDArray[np.float64] | None = None,
    ) -> npt.NDArray[np.float64]:
        """Feature rows of a batch, shape ``(rows, len(schema))``, in input order.

        Rows are replayed in ``created`` order (``sort=False``: in the given order); with
        ``update`` each row is recorded with its ``outcome`` after it is extracted, exactly as
        ``extract_one`` then ``update`` would. The whole batch is validated first, so a bad
        row changes nothing. ``out``, a C-contiguous float64 array of exactly that shape, is
        filled and returned instead of a new matrix: reusing one buffer across batches of a
        long replay saves allocating (and the kernel zeroing) a fresh matrix each time. Without
        it, a new matrix of 4 MiB or more is made on the memory of the last one this extractor
        returned that Python has since dropped, which saves most of that too."""
        batch = pack_many(events)
        order = self._order(batch.created, sort)
        return self._core.extract_many(
            batch.rows, batch.strings, batch.ints, batch.floats, batch.bools, order, update, out
        )

    def attributes_one(self, event: Mapping[str, Any]) -> dict[str, float | bool | str | None]:
        """Radar's attributes of one event by Stripe's names: numbers as ``float`` (``None``
        when missing), booleans as ``bool``, strings as ``str`` (``None`` when missing)."""
        row = self._core.extract_one(event)
        out: dict[str, float | bool | str | None] = {}
        for i in _NUMERIC_ATTRIBUTE_INDEX:
            column = _FEATURE_COLUMNS[i]
            value = float(row[i])
            if column.kind == "bool":
                out[column.name] = value == 1.0
            else:
                out[column.name] = None if math.isnan(value) else value
        strings = self._core.string_attributes_one(event)
        for column, text in zip(_STRING_ATTRIBUTES, strings, strict=True):
            out[column.name] = text
        return out

    def attributes_many(
        self,
        events: object,
        *,
        names: Iterable[str] | None = None,
        update: bool = True,
        sort: bool = True,
    ) -> dict[str, Any]:
        """Radar's attributes of a batch as columns, in input order: numbers as float64 arrays
        (NaN missing), booleans as bool arrays, strings as ``pyarrow.DictionaryArray`` (int32
        indices, each distinct value once; null missing). ``names``: only these attributes
        (names the extractor does not compute are left out). Replays and updates like
        :meth:`extract_many`."""
        batch = pack_many(events)
        wanted = None if names is None else frozenset(names)
        out = numeric_attributes(self.extract_many(batch, update=update, sort=sort), wanted)
        out.update(self.string_attributes_many(batch, wanted))
        return out

    @staticmethod
    def string_attributes_many(
        events: object, names: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """The string attributes of a batch (all, or those in ``names``) as
        ``pyarrow.DictionaryArray`` columns in input order, each distinct value computed once.
        They read only the payment itself, never a velocity state, so this needs no extractor
        and may run on another thread beside a replay."""
        batch = pack_many(events)
        wanted = None if names is None else frozenset(names)
        indices = [
            i for i, c in enumerate(_STRING_ATTRIBUTES) if wanted is None or c.name in wanted
        ]
        if not indices:
            return {}
        import pyarrow as pa

        encoded = _core.FeatureExtractor.string_attributes_many(
            batch.rows, batch.strings, batch.ints, batch.floats, batch.bools, indices
        )
        out: dict[str, Any] = {}
        for i, (codes, offsets, data) in zip(indices, encoded, strict=True):
            dictionary = pa.LargeStringArray.from_buffers(
                len(offsets) - 1, pa.py_buffer(offsets), pa.py_buffer(data)
            )
            out[_STRING_ATTRIBUTES[i].name] = pa.DictionaryArray.from_arrays(
                pa.array(codes, mask=codes < 0), dictionary
            )
        return out

    def snapshot(self) -> bytes:
        """The velocity state as versioned bytes; equal states give equal bytes."""
        return self._core.snapshot()

    def restore(self, data: bytes) -> None:
        """Replaces the velocity state with a snapshot (``SchemaError`` when it is not one)."""
        self._core.restore(data)

    def expire(self, now: int) -> int:
        """Forgets entities idle for longer than ``ttl_seconds`` at ``now``; returns how many
        (this also happens on its own once per day of event time)."""
        return self._core.expire(now)

    @staticmethod
    def _order(created: npt.NDArray[np.int64], sort: bool) -> npt.NDArray[np.int64] | None:
        if not sort or created.size == 0 or bool(np.all(created[1:] >= created[:-1])):
            return None
        return np.argsort(created, kind="stable").astype(np.int64)
