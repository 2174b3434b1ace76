"""Attribute values into the program's slots: one payment (a mapping) or a batch of columns."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from radarcore.rules.compile import CompiledProgram, Slot

__all__ = [
    "batch_inputs",
    "column_names",
    "is_text",
    "payment_inputs",
    "slot_value",
    "table_column",
    "to_arrow",
]


def payment_inputs(
    program: CompiledProgram, attributes: Mapping[str, object]
) -> tuple[npt.NDArray[np.float64], list[str | None]]:
    """The numeric and string slot values of one payment."""
    if not isinstance(attributes, Mapping):
        raise TypeError(f"attributes must be a mapping, not {type(attributes).__name__}")
    numeric = np.empty(len(program.numeric_slots), dtype=np.float64)
    for i, slot in enumerate(program.numeric_slots):
        numeric[i] = _number(slot, attributes.get(slot.source))
    strings = [_string(slot, attributes.get(slot.source)) for slot in program.string_slots]
    return numeric, strings


def slot_value(slot: Slot, value: object) -> float | str | None:
    """One attribute value as its slot takes it (what :func:`payment_inputs` does per slot)."""
    return _number(slot, value) if slot.kind == "numeric" else _string(slot, value)


def _number(slot: Slot, value: object) -> float:
    if slot.boolean:
        if value is None:
            return 0.0
        if not isinstance(value, bool | np.bool_):
            raise TypeError(f"attribute {slot.source!r} is boolean, got {type(value).__name__}")
        return 1.0 if value else 0.0
    if value is None:
        return math.nan
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"attribute {slot.source!r} is numeric, got {type(value).__name__}")
    return float(value)


def _string(slot: Slot, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{slot.source!r} holds strings, got {type(value).__name__}")
    return value.casefold() if slot.fold else value


def _library(columns: object) -> str:
    return type(columns).__module__.split(".")[0]


def column_names(columns: object) -> list[str]:
    """The column names of a mapping, pandas/polars DataFrame or pyarrow Table."""
    if isinstance(columns, pa.Table):
        return list(columns.column_names)
    if _library(columns) in ("pandas", "polars"):
        return [str(c) for c in columns.columns]  # type: ignore[attr-defined]
    if isinstance(columns, Mapping):
        return [str(key) for key in columns]
    raise TypeError(
        "columns must be a mapping of name to column, a pandas or polars DataFrame or a pyarrow "
        f"Table, not {type(columns).__name__}"
    )


def table_column(columns: Any, name: str) -> object | None:
    """The column called ``name``, or ``None`` when there is none."""
    if name not in column_names(columns):
        return None
    column: object
    if isinstance(columns, pa.Table):
        column = columns.column(name)
    elif _library(columns) == "polars":
        column = columns[name].to_arrow()
    else:
        column = columns[name]
    return column


def is_text(kind: pa.DataType) -> bool:
    """Whether an Arrow type holds strings."""
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def to_arrow(column: object, name: str) -> pa.Array:
    """One column as a single pyarrow Array (nulls for None, and for NaN in pandas objects);
    string views become large strings."""
    if isinstance(column, pa.ChunkedArray):
        array = column.combine_chunks()
    elif isinstance(column, pa.Array):
        array = column
    else:
        try:
            array = pa.array(column, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as error:
            raise TypeError(f"column {name!r} cannot be read: {error}") from None
    if pa.types.is_string_view(array.type):
        return array.cast(pa.large_string())
    return array


def _length(column: object) -> int:
    if isinstance(column, np.ndarray) and column.ndim != 1:
        raise ValueError(f"columns must be one-dimensional, got shape {column.shape}")
    return len(column)  # type: ignore[arg-type]


def _numeric_column(slot: Slot, column: object) -> npt.NDArray[np.float64]:
    what = "boolean" if slot.boolean else "numeric"
    if isinstance(column, np.ndarray) and column.dtype.kind in "fiub":
        if (column.dtype.kind == "b") != slot.boolean:
            raise TypeError(f"column {slot.source!r} must be {what}, got {column.dtype}")
        values = column.astype(np.float64)
    else:
        array = to_arrow(column, slot.source)
        kind = array.type
        if slot.boolean:
            accepted = pa.types.is_boolean(kind)
        else:
            accepted = (
                pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
            )
        if not (accepted or pa.types.is_null(kind)):
            raise TypeError(f"column {slot.source!r} must be {what}, got {kind}")
        values = pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
    if slot.boolean:
        values = np.where(np.isnan(values), 0.0, values)
    return np.ascontiguousarray(values)


_StringColumn = tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], npt.NDArray[np.uint8]]


def _empty_dictionary(rows: int) -> _StringColumn:
    return (
        np.full(rows, -1, dtype=np.int32),
        np.zeros(1, dtype=np.int64),
        np.zeros(0, dtype=np.uint8),
    )


def _string_column(slot: Slot, column: object) -> _StringColumn:
    """Codes into a dictionary given as Arrow large-string buffers (offsets, bytes)."""
    array = to_arrow(column, slot.source)
    if pa.types.is_null(array.type):
        return _empty_dictionary(len(array))
    if not pa.types.is_dictionary(array.type):
        if not is_text(array.type):
            raise TypeError(f"column {slot.source!r} must hold strings, got {array.type}")
        array = pc.dictionary_encode(array)
    elif not is_text(array.type.value_type):
        raise TypeError(f"column {slot.source!r} must hold strings, got {array.type}")
    indices = pc.fill_null(pc.cast(array.indices, pa.int32()), -1)
    codes = np.array(indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    dictionary = array.dictionary
    if dictionary.null_count:
        codes[
            np.isin(codes, np.flatnonzero(dictionary.is_null().to_numpy(zero_copy_only=False)))
        ] = -1
    if slot.fold:
        if pc.all(pc.string_is_ascii(dictionary)).as_py() is not False:
            dictionary = pc.ascii_lower(dictionary)
        else:
            dictionary = pa.array(
                [None if v is None else v.casefold() for v in dictionary.to_pylist()],
                type=pa.large_string(),
            )
    dictionary = dictionary.cast(pa.large_string())
    buffers = dictionary.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)
    offsets = offsets[dictionary.offset : dictionary.offset + len(dictionary) + 1]
    data = np.zeros(0, np.uint8) if buffers[2] is None else np.frombuffer(buffers[2], np.uint8)
    return codes, np.ascontiguousarray(offsets), data


def batch_inputs(
    program: CompiledProgram, columns: Any
) -> tuple[
    int,
    list[npt.NDArray[np.float64]],
    list[npt.NDArray[np.int32]],
    list[npt.NDArray[np.int64]],
    list[npt.NDArray[np.uint8]],
]:
    """(rows, numeric columns, code columns, dictionary offsets, dictionary bytes) for the
    program's slots. An attribute without a column is missing on every row (booleans: false)."""
    names = column_names(columns)
    present = {
        slot.source: table_column(columns, slot.source)
        for slot in (*program.numeric_slots, *program.string_slots)
        if slot.source in names
    }
    lengths = {name: _length(column) for name, column in present.items()}
    if lengths:
        rows = next(iter(lengths.values()))
    elif names:
        rows = _length(table_column(columns, names[0]))
    else:
        rows = 0
    for name, length in lengths.items():
        if length != rows:
            raise ValueError(f"column {name!r} has {length} rows, expected {rows}")
    numeric = []
    for slot in program.numeric_slots:
        column = present.get(slot.source)
        if column is None:
            numeric.append(np.full(rows, 0.0 if slot.boolean else np.nan))
        else:
            numeric.append(_numeric_column(slot, column))
    strings = [
        _empty_dictionary(rows)
        if present.get(slot.source) is None
        else _string_column(slot, present[slot.source])
        for slot in program.string_slots
    ]
    return (
        rows,
        numeric,
        [codes for codes, _, _ in strings],
        [offsets for _, offsets, _ in strings],
        [data for _, _, data in strings],
    )
