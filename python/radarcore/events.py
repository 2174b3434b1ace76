"""The payment event schema, its validation, and packing events for the compiled core.

One payment is one flat record. Online it is a mapping (``dict``) of field names to values;
in batch it is a table with one column per field: a :class:`pyarrow.Table` or ``RecordBatch``,
a pandas or polars ``DataFrame``, a mapping of column names to sequences, or a list of mappings.
Every field but ``id``, ``created``, ``amount`` and ``currency`` is optional. A missing field
is ``None`` (or absent, or NaN, or an empty/blank string); keys that are not fields (``metadata``,
label columns, ...) are ignored.

Normalisation, done the same way online and in batch:

* strings are trimmed; ``email`` is lower-cased (ASCII), and an email without one ``@``
  separating a non-empty local part and domain is rejected;
* ``ip_address`` and ``pm_ip_address`` accept IPv4 and IPv6 (``::ffff:a.b.c.d`` is the same
  address as ``a.b.c.d``); anything else is rejected;
* ``currency`` is case-insensitive and must be in the rate table; ``amount`` must be >= 0;
* ``created`` must be Unix seconds in ``[0, 2**32)``; an Arrow timestamp column is accepted
  and read as seconds;
* card fields are ignored unless ``payment_method_type`` is ``card`` (the default);
* integer fields accept floats that hold whole numbers (pandas turns nullable ints into floats).

Errors are :class:`radarcore.SchemaError` (a ``ValueError``) whose message starts with the
field name and, in batch, ends with the row; a value of the wrong Python type is a ``TypeError``
naming the field.

>>> from radarcore.events import EVENT_FIELDS
>>> [f.name for f in EVENT_FIELDS[:4]]
['id', 'created', 'amount', 'currency']
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from radarcore import _core
from radarcore.errors import SchemaError

__all__ = [
    "EVENT_FIELDS",
    "OUTCOMES",
    "EventField",
    "EventParts",
    "PackedBatch",
    "pack_many",
    "pack_one",
    "to_arrow",
]

FieldType = Literal["string", "int64", "int32", "float64", "bool"]


@dataclass(frozen=True)
class EventField:
    """One field of the payment event: its name, storage type and meaning."""

    name: str
    type: FieldType
    required: bool
    doc: str


def _f(name: str, type_: FieldType, doc: str, required: bool = False) -> EventField:
    return EventField(name, type_, required, doc)


_CHECK = "`pass`, `fail`, `unavailable`, `unchecked`, `not_provided`"

#: The documented event schema, in documentation order.
EVENT_FIELDS: tuple[EventField, ...] = (
    _f("id", "string", "payment id (`ch_...` / `pi_...`), unique", True),
    _f("created", "int64", "Unix seconds UTC (event time; never the wall clock)", True),
    _f("amount", "int64", "amount in the currency's minor unit (>= 0)", True),
    _f("currency", "string", "ISO 4217, lower case (`usd`)", True),
    _f("payment_method_type", "string", "`card` (default), `sepa_debit`, `us_bank_account`, ..."),
    _f("card_fingerprint", "string", "stable per card number"),
    _f("card_bin", "string", "first 6 digits"),
    _f("card_brand", "string", "`visa`, `mc`, `amex`, ..."),
    _f("card_funding", "string", "`credit`, `debit`, `prepaid`, `unknown`"),
    _f("card_country", "string", "issuing country, ISO alpha-2 upper"),
    _f("cvc_check", "string", _CHECK),
    _f("address_zip_check", "string", _CHECK),
    _f("address_line1_check", "string", _CHECK),
    _f("digital_wallet", "string", "`apple_pay`, ..., `none`"),
    _f("three_d_secure_result", "string", "`authenticated`, `attempt_acknowledged`, ..."),
    _f("customer", "string", "`cus_...`"),
    _f("customer_created", "int64", "Unix seconds the Customer was created"),
    _f("email", "string", "email address"),
    _f("name", "string", "cardholder name"),
    _f("phone", "string", "phone number"),
    _f("billing_line1", "string", "billing address line 1"),
    _f("billing_line2", "string", "billing address line 2"),
    _f("billing_city", "string", "billing city"),
    _f("billing_state", "string", "billing state"),
    _f("billing_postal_code", "string", "billing postal code"),
    _f("billing_country", "string", "billing country"),
    _f("billing_latitude", "float64", "billing latitude, when known"),
    _f("billing_longitude", "float64", "billing longitude, when known"),
    _f("shipping_line1", "string", "shipping address line 1"),
    _f("shipping_line2", "string", "shipping address line 2"),
    _f("shipping_city", "string", "shipping city"),
    _f("shipping_state", "string", "shipping state"),
    _f("shipping_postal_code", "string", "shipping postal code"),
    _f("shipping_country", "string", "shipping country"),
    _f("shipping_latitude", "float64", "shipping latitude, when known"),
    _f("shipping_longitude", "float64", "shipping longitude, when known"),
    _f("ip_address", "string", "IPv4 or IPv6"),
    _f("ip_country", "string", "ISO alpha-2"),
    _f("ip_latitude", "float64", "IP latitude, when known"),
    _f("ip_longitude", "float64", "IP longitude, when known"),
    _f("user_agent", "string", "user agent of the Radar Session on the payment"),
    _f("device_id", "string", "hashed device id of the Radar Session on the payment"),
    _f("session_timezone_offset", "int32", "minutes east of UTC from the browser"),
    _f("session_automation", "bool", "webdriver/headless flags seen by the collector"),
    _f("pm_device_id", "string", "device id of the Radar Session on the PaymentMethod"),
    _f("pm_ip_address", "string", "IP of the Radar Session on the PaymentMethod"),
    _f("merchant", "string", "merchant / connected account / terminal id"),
    _f("description", "string", "charge description"),
    _f("is_off_session", "bool", "payment not initiated by the customer"),
    _f("is_recurring", "bool", "recurring payment (subscription)"),
    _f("is_checkout", "bool", "made through Checkout"),
    _f("is_setup_intent", "bool", "the event is a SetupIntent, not a charge"),
    _f("outcome", "string", "history only: `authorized`, `declined`, `blocked` (or `pending`)"),
)

#: Values of the ``outcome`` field and of ``FeatureExtractor.update``'s result.
OUTCOMES: tuple[str, ...] = ("authorized", "declined", "blocked", "pending")

_CORE_FIELDS: dict[str, list[str]] = _core.event_fields()
_STRINGS: list[str] = _CORE_FIELDS["strings"]
_INTS: list[str] = _CORE_FIELDS["ints"]
_FLOATS: list[str] = _CORE_FIELDS["floats"]
_BOOLS: list[str] = _CORE_FIELDS["bools"]

#: One event as the core takes it: strings, ints, floats and bools in the core's field order.
EventParts = tuple[list[str | None], list[int | None], list[float], list[int]]


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _string(name: str, value: object) -> str | None:
    if value is None or _is_nan(value):
        return None
    if isinstance(value, str):
        return value
    raise TypeError(f"{name}: expected a string, got {type(value).__name__}")


def _integer(name: str, value: object) -> int | None:
    if value is None or _is_nan(value):
        return None
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name}: expected an integer, got bool")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if number.is_integer():
            return int(number)
        raise SchemaError(f"{name}: expected a whole number, got {value!r}")
    raise TypeError(f"{name}: expected an integer, got {type(value).__name__}")


def _float(name: str, value: object) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name}: expected a number, got bool")
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"{name}: expected a number, got {type(value).__name__}")


def _bool(name: str, value: object) -> int:
    if value is None or _is_nan(value):
        return -1
    if isinstance(value, bool | np.bool_):
        return int(value)
    raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")


_STRING_TYPES = frozenset({str, type(None)})
_INT_TYPES = frozenset({int, type(None)})
_FLOAT_TYPES = frozenset({float, type(None)})
_BOOL_TYPES = frozenset({bool, type(None)})
_BOOL_CODES: dict[bool | None, int] = {None: -1, False: 0, True: 1}


def pack_one(event: Mapping[str, Any]) -> EventParts:
    """Checks the Python types of one event and arranges it in the core's field order.

    When every value of a kind has the plain type (``str``, ``int``, ``float``, ``bool`` or
    ``None``), the values are taken as they are; otherwise each goes through the checks and
    conversions above. The core reads a ``dict`` of plain values itself (the extractor's and the
    engine's assessor's one-event calls take the mapping); it calls this function for any other
    event, so both paths give the same values and the same errors.
    """
    if not isinstance(event, Mapping):
        raise TypeError(
            f"event must be a mapping of field names to values, got {type(event).__name__}"
        )
    get = event.get
    strings = list(map(get, _STRINGS))
    if not _STRING_TYPES.issuperset(map(type, strings)):
        strings = [_string(n, v) for n, v in zip(_STRINGS, strings, strict=True)]
    ints = list(map(get, _INTS))
    if not _INT_TYPES.issuperset(map(type, ints)):
        ints = [_integer(n, v) for n, v in zip(_INTS, ints, strict=True)]
    floats = list(map(get, _FLOATS))
    if _FLOAT_TYPES.issuperset(map(type, floats)):
        floats = [math.nan if v is None else v for v in floats]
    else:
        floats = [_float(n, v) for n, v in zip(_FLOATS, floats, strict=True)]
    bools = list(map(get, _BOOLS))
    if _BOOL_TYPES.issuperset(map(type, bools)):
        bools = list(map(_BOOL_CODES.__getitem__, bools))
    else:
        bools = [_bool(n, v) for n, v in zip(_BOOLS, bools, strict=True)]
    return strings, ints, floats, bools  # type: ignore[return-value]


@dataclass(frozen=True)
class PackedBatch:
    """A batch as typed column buffers (views into Arrow memory where possible)."""

    rows: int
    created: npt.NDArray[np.int64]
    strings: list[
        tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None] | None
    ]
    ints: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8] | None] | None]
    floats: list[npt.NDArray[np.float64] | None]
    bools: list[npt.NDArray[np.int8] | None]


def to_arrow(events: object) -> Any:
    """Any accepted batch form as a ``pyarrow.Table``."""
    import pyarrow as pa

    if isinstance(events, pa.Table):
        return events
    if isinstance(events, pa.RecordBatch):
        return pa.Table.from_batches([events])
    module = type(events).__module__
    if module.startswith("pandas"):
        return pa.Table.from_pandas(events, preserve_index=False)
    if module.startswith("polars"):
        return events.to_arrow()  # type: ignore[attr-defined]
    if isinstance(events, Mapping):
        return pa.table(dict(events))
    if isinstance(events, Sequence) and not isinstance(events, str | bytes):
        if not all(isinstance(e, Mapping) for e in events):
            raise TypeError("a list of events must hold mappings (one dict per payment)")
        fields = {f.name for f in EVENT_FIELDS}
        columns = {name: [e.get(name) for e in events] for name in sorted(fields)}
        return _columns_to_table(columns)
    raise TypeError(
        "events must be a pyarrow Table/RecordBatch, a pandas or polars DataFrame, "
        f"a mapping of columns or a list of mappings, got {type(events).__name__}"
    )


def _columns_to_table(columns: dict[str, list[Any]]) -> Any:
    import pyarrow as pa

    arrays = {}
    for field in EVENT_FIELDS:
        values = columns[field.name]
        if all(v is None for v in values):
            continue
        if field.type == "string":
            arrays[field.name] = pa.array(
                [_string(field.name, v) for v in values], pa.large_string()
            )
        elif field.type in ("int64", "int32"):
            arrays[field.name] = pa.array([_integer(field.name, v) for v in values], pa.int64())
        elif field.type == "float64":
            arrays[field.name] = pa.array([_float(field.name, v) for v in values], pa.float64())
        else:
            bools = [_bool(field.name, v) for v in values]
            arrays[field.name] = pa.array([None if b < 0 else bool(b) for b in bools], pa.bool_())
    return pa.table(arrays) if arrays else pa.table({"id": pa.array([], pa.large_string())})


def _column_error(name: str, expected: str, arrow_type: object) -> SchemaError:
    return SchemaError(f"{name}: column must hold {expected}, got Arrow type {arrow_type}")


def _valid_mask(array: Any) -> npt.NDArray[np.uint8] | None:
    if array.null_count == 0:
        return None
    mask: npt.NDArray[np.uint8] = np.ascontiguousarray(
        array.is_valid().to_numpy(zero_copy_only=False), dtype=np.uint8
    )
    return mask


def _one_array(column: Any) -> Any:
    """A column as one Arrow array; a single chunk is taken as it is (combining copies)."""
    if hasattr(column, "num_chunks") and column.num_chunks == 1:
        return column.chunk(0)
    return column.combine_chunks() if hasattr(column, "combine_chunks") else column


def _string_column(name: str, column: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        column = pc.cast(column, kind.value_type)
        kind = column.type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise _column_error(name, "strings", kind)
    array = _one_array(pc.cast(column, pa.large_string()))
    n = len(array)
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[array.offset : array.offset + n + 1]
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)
        if buffers[2] is not None
        else np.zeros(0, dtype=np.uint8)
    )
    return (np.ascontiguousarray(offsets), data, _valid_mask(array))


def _int_column(name: str, column: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_timestamp(kind):
        column = pc.cast(pc.cast(column, pa.timestamp("s")), pa.int64())
    elif pa.types.is_floating(kind):
        values = column.to_numpy(zero_copy_only=False)
        finite = values[~np.isnan(values)]
        if finite.size and not np.all(finite == np.floor(finite)):
            first = int(np.flatnonzero(~np.isnan(values) & (values != np.floor(values)))[0])
            raise SchemaError(
                f"{name}: expected whole numbers, got {float(values[first])!r} (row {first})"
            )
        column = pc.cast(column, pa.int64(), safe=False)
    elif pa.types.is_integer(kind):
        column = pc.cast(column, pa.int64())
    else:
        raise _column_error(name, "integers", kind)
    array = _one_array(column)
    values64 = np.ascontiguousarray(
        array.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    return (values64, _valid_mask(array))


def _float_column(name: str, column: Any) -> npt.NDArray[np.float64]:
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if not (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
        raise _column_error(name, "numbers", kind)
    array = _one_array(pc.cast(column, pa.float64()))
    return np.ascontiguousarray(array.fill_null(math.nan).to_numpy(zero_copy_only=False))


def _bool_column(name: str, column: Any) -> npt.NDArray[np.int8]:
    import pyarrow as pa

    kind = column.type
    if not pa.types.is_boolean(kind):
        raise _column_error(name, "booleans", kind)
    array = _one_array(column)
    values: npt.NDArray[np.int8] = (
        array.fill_null(False).to_numpy(zero_copy_only=False).astype(np.int8)
    )
    mask = _valid_mask(array)
    if mask is not None:
        values[mask == 0] = -1
    return values


def pack_many(events: object) -> PackedBatch:
    """Validates column types and turns a batch into typed buffers, without per-row objects.
    A ``PackedBatch`` is returned as it is, so a batch packed once can go to several calls."""
    import pyarrow as pa

    if isinstance(events, PackedBatch):
        return events
    table = to_arrow(events)
    rows = table.num_rows
    present = {
        name: table.column(name)
        for name in table.column_names
        if not pa.types.is_null(table.column(name).type)
    }
    for required in ("id", "created", "amount", "currency"):
        if required not in present and rows > 0:
            raise SchemaError(f"{required}: required column is missing")
    strings = [_string_column(n, present[n]) if n in present else None for n in _STRINGS]
    ints = [_int_column(n, present[n]) if n in present else None for n in _INTS]
    floats = [_float_column(n, present[n]) if n in present else None for n in _FLOATS]
    bools = [_bool_column(n, present[n]) if n in present else None for n in _BOOLS]
    created_column = ints[_INTS.index("created")]
    created = created_column[0] if created_column is not None else np.zeros(0, dtype=np.int64)
    if created_column is not None and created_column[1] is not None:
        first = int(np.flatnonzero(created_column[1] == 0)[0])
        raise SchemaError(f"created: required field is missing (row {first})")
    return PackedBatch(rows, created, strings, ints, floats, bools)
