"""Column mappings: score a table whose columns are not named or typed as the event schema.

A :class:`ColumnMapping` says which input column holds each event field (``columns``: event
field -> input column) and which fields are the same on every row (``constants``, e.g. the
currency of a dataset that has none). :meth:`ColumnMapping.apply` renames and converts:

* a timestamp, date or datetime column mapped to an integer field (``created``,
  ``customer_created``) becomes Unix seconds (a timestamp without a time zone is read as UTC);
* a floating-point ``amount`` is taken as major units (``12.34`` dollars) and becomes integer
  minor units of the row's currency (``1234`` cents; ``1234`` yen stay ``1234``), rounded half
  away from zero;
* an integer column mapped to a string field (ids) becomes its decimal text.

Columns that are not mapped pass through unchanged, so a table that already has some fields by
their schema names needs only the others mapped. A mapping is a small TOML or JSON file::

    [columns]
    card_fingerprint = "CUSTOMER_ID"
    merchant = "TERMINAL_ID"

    [constants]
    currency = "eur"

or ``--map field=COLUMN`` and ``--const field=value`` on the command line.

>>> import pyarrow as pa
>>> m = ColumnMapping(columns={"id": "TX", "amount": "EUR"}, constants={"currency": "eur"})
>>> t = m.apply(pa.table({"TX": [7, 8], "EUR": [12.5, 0.99]}))
>>> t.column("id").to_pylist(), t.column("amount").to_pylist(), t.column("currency")[0].as_py()
(['7', '8'], [1250, 99], 'eur')
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from radarcore.errors import SchemaError
from radarcore.events import EVENT_FIELDS
from radarcore.features import default_currency_rates

__all__ = ["ColumnMapping", "bundled_mappings"]

_FIELDS = {f.name: f for f in EVENT_FIELDS}


@dataclass(frozen=True)
class ColumnMapping:
    """Event field -> input column (``columns``) and event field -> value (``constants``)."""

    columns: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, str | int | float | bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", dict(self.columns))
        object.__setattr__(self, "constants", dict(self.constants))
        for name in (*self.columns, *self.constants):
            if name not in _FIELDS:
                raise SchemaError(f"{name}: not an event field (see radarcore.events)")
        for name, source in self.columns.items():
            if not isinstance(source, str) or not source:
                raise SchemaError(f"{name}: must map to a column name, got {source!r}")
        both = sorted(set(self.columns) & set(self.constants))
        if both:
            raise SchemaError(f"{both[0]}: mapped to a column and to a constant at once")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnMapping:
        """From ``{"columns": {...}, "constants": {...}}`` (what the TOML/JSON files hold)."""
        unknown = sorted(set(data) - {"columns", "constants"})
        if unknown:
            raise SchemaError(f"mapping: unknown section {unknown[0]!r} (columns, constants)")
        return cls(columns=data.get("columns", {}), constants=data.get("constants", {}))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ColumnMapping:
        """Read a ``.toml`` or ``.json`` mapping file; errors name the file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".json":
                data = json.loads(text)
            elif path.suffix == ".toml":
                data = tomllib.loads(text)
            else:
                raise SchemaError(f"{path}: a mapping file must end in .toml or .json")
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
            raise SchemaError(f"{path}: not a valid mapping file: {error}") from None
        if not isinstance(data, dict):
            raise SchemaError(f"{path}: a mapping file holds a table of sections")
        try:
            return cls.from_dict(data)
        except SchemaError as error:
            raise SchemaError(f"{path}: {error}") from None

    @classmethod
    def bundled(cls, name: str) -> ColumnMapping:
        """A mapping shipped with radarcore (see :func:`bundled_mappings`)."""
        if name not in bundled_mappings():
            raise SchemaError(
                f"no bundled mapping {name!r}; bundled: {', '.join(bundled_mappings())}"
            )
        text = (resources.files("radarcore") / "data" / "mappings" / f"{name}.toml").read_text(
            encoding="utf-8"
        )
        return cls.from_dict(tomllib.loads(text))

    @classmethod
    def from_options(
        cls, maps: Iterable[str] = (), consts: Iterable[str] = (), base: ColumnMapping | None = None
    ) -> ColumnMapping:
        """From ``field=COLUMN`` and ``field=value`` strings, on top of ``base``."""
        columns = dict(base.columns) if base else {}
        constants = dict(base.constants) if base else {}
        for option, target in ((maps, columns), (consts, constants)):
            for text in option:
                name, sep, value = text.partition("=")
                if not sep or not name.strip() or not value.strip():
                    raise SchemaError(f"expected field=value, got {text!r}")
                columns.pop(name.strip(), None)
                constants.pop(name.strip(), None)
                target[name.strip()] = value.strip()
        return cls(columns=columns, constants=constants)

    @property
    def input_id(self) -> str:
        """The input column that holds payment ids."""
        return self.columns.get("id", "id")

    def apply(self, table: Any) -> Any:
        """The table with event fields by their schema names and types (a ``pyarrow.Table``)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        for name, source in self.columns.items():
            if source not in table.column_names:
                raise SchemaError(f"{name}: mapped column {source!r} is missing from the input")
        sources = set(self.columns.values())
        arrays: dict[str, Any] = {
            name: table.column(name) for name in table.column_names if name not in sources
        }
        for name, source in self.columns.items():
            if name in arrays:
                raise SchemaError(f"{name}: the input has it both mapped and by its own name")
            arrays[name] = table.column(source)
        for name, value in self.constants.items():
            arrays[name] = pa.array(np.full(table.num_rows, value))
        for name, column in list(arrays.items()):
            spec = _FIELDS.get(name)
            if spec is None:
                continue
            kind = column.type
            if spec.type in ("int64", "int32") and (
                pa.types.is_timestamp(kind) or pa.types.is_date(kind)
            ):
                arrays[name] = _unix_seconds(column)
            elif spec.type == "string" and pa.types.is_integer(kind):
                arrays[name] = pc.cast(column, pa.string())
        if "amount" in arrays and pa.types.is_floating(arrays["amount"].type):
            arrays["amount"] = _minor_units(arrays["amount"], arrays.get("currency"))
        return pa.table(arrays)


def _unix_seconds(column: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_date(column.type):
        column = pc.cast(column, pa.timestamp("s"))
    return pc.cast(pc.cast(column, pa.timestamp("s")), pa.int64())


def _minor_units(amount: Any, currency: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if currency is None:
        raise SchemaError("amount: major units need a currency column or constant")
    rates = default_currency_rates()
    codes = pc.utf8_lower(pc.utf8_trim_whitespace(pc.cast(currency, pa.string())))
    unknown = pc.filter(codes, pc.invert(pc.is_in(codes, pa.array(sorted(rates)))))
    if len(unknown):
        raise SchemaError(f"currency: unknown currency {unknown[0].as_py()!r}")
    exponents = pc.cast(
        pc.index_in(codes, pa.array(sorted(rates))).fill_null(0), pa.int64()
    ).to_numpy()
    scale = np.array([10.0 ** rates[c][0] for c in sorted(rates)])[exponents]
    values = pc.cast(amount, pa.float64()).combine_chunks()
    major = values.fill_null(0.0).to_numpy(zero_copy_only=False)
    scaled = np.trunc(major * scale + np.copysign(0.5, major))
    if values.null_count == 0:
        return pa.array(scaled.astype(np.int64))
    return pa.array(scaled.astype(np.int64), mask=~values.is_valid().to_numpy(zero_copy_only=False))


def bundled_mappings() -> list[str]:
    """Names of the mappings shipped in ``radarcore/data/mappings``."""
    folder = resources.files("radarcore") / "data" / "mappings"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )
