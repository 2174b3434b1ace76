"""The payment event schema: accepted forms, normalisation, and every rejected input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from radarcore import FeatureExtractor, SchemaError, _core
from radarcore.events import EVENT_FIELDS, pack_many, pack_one

T0 = 1_699_920_000


def test_schema_covers_exactly_the_core_fields() -> None:
    core = _core.event_fields()
    documented = {f.name: f.type for f in EVENT_FIELDS}
    assert sorted(documented) == sorted(
        core["strings"] + core["ints"] + core["floats"] + core["bools"]
    )
    assert all(documented[n] == "string" for n in core["strings"])
    assert all(documented[n] in ("int64", "int32") for n in core["ints"])
    assert all(documented[n] == "float64" for n in core["floats"])
    assert all(documented[n] == "bool" for n in core["bools"])
    assert [f.name for f in EVENT_FIELDS if f.required] == ["id", "created", "amount", "currency"]


def test_minimal_event_has_every_optional_field_missing(fx: FeatureExtractor) -> None:
    event = {"id": "ch_1", "created": T0, "amount": 0, "currency": "usd"}
    values = fx.attributes_one(event)
    assert values["email"] is None
    assert values["card_fingerprint"] is None
    assert values["distance_between_ip_and_billing_address"] is None
    assert values["total_charges_per_card_number_hourly"] is None
    assert values["is_anonymous_ip"] is False
    assert values["payment_method_type"] == "card"
    fx.update(event, None)
    assert fx.entity_count == 0


@pytest.mark.parametrize(
    ("field", "value", "error", "message"),
    [
        ("amount", "12", TypeError, "amount: expected an integer, got str"),
        ("amount", True, TypeError, "amount: expected an integer, got bool"),
        ("amount", 12.5, SchemaError, "amount: expected a whole number, got 12.5"),
        ("created", [1], TypeError, "created: expected an integer, got list"),
        ("email", 5, TypeError, "email: expected a string, got int"),
        ("ip_latitude", "48.8", TypeError, "ip_latitude: expected a number, got str"),
        ("is_recurring", 1, TypeError, "is_recurring: expected a bool, got int"),
        ("amount", -1, SchemaError, r"amount: must be >= 0 \(minor units\), got -1"),
        ("currency", "xyz", SchemaError, "currency: unknown currency 'xyz'"),
        ("currency", "dollars", SchemaError, "currency: unknown currency 'dollars'"),
        ("email", "jane.example.com", SchemaError, "email: malformed email address"),
        ("email", "@example.com", SchemaError, "email: malformed email address"),
        ("email", "jane doe@example.com", SchemaError, "email: malformed email address"),
        ("ip_address", "256.1.1.1", SchemaError, "ip_address: malformed IP address '256.1.1.1'"),
        ("ip_address", "1.2.3", SchemaError, "ip_address: malformed IP address"),
        ("ip_address", "2001:db8::1::2", SchemaError, "ip_address: malformed IP address"),
        ("pm_ip_address", "localhost", SchemaError, "pm_ip_address: malformed IP address"),
        ("card_bin", "42x242", SchemaError, "card_bin: must be digits, got '42x242'"),
        ("created", -5, SchemaError, "created: must be Unix seconds between 0 and 4294967295"),
        ("created", 2**33, SchemaError, "created: must be Unix seconds between 0 and 4294967295"),
        ("ip_latitude", 91.0, SchemaError, "ip_latitude: must be between -90 and 90"),
        (
            "billing_longitude",
            -181.0,
            SchemaError,
            "billing_longitude: must be between -180 and 180",
        ),
        ("session_timezone_offset", 5000, SchemaError, "session_timezone_offset: must be between"),
        ("id", None, SchemaError, "id: required field is missing"),
        ("id", "   ", SchemaError, "id: required field is missing"),
        ("created", None, SchemaError, "created: required field is missing"),
        ("amount", None, SchemaError, "amount: required field is missing"),
        ("currency", None, SchemaError, "currency: required field is missing"),
    ],
)
def test_bad_fields_are_rejected_with_the_field_name(
    fx: FeatureExtractor, payment: dict[str, Any], field: str, value: Any, error: type, message: str
) -> None:
    event = {**payment, field: value}
    for call in (fx.extract_one, fx.attributes_one, fx.update):
        with pytest.raises(error, match=message):
            call(event)
    assert fx.entity_count == 0


def test_schema_errors_are_radar_errors_and_value_errors() -> None:
    from radarcore import RadarError

    assert issubclass(SchemaError, RadarError)
    assert issubclass(SchemaError, ValueError)


def test_event_must_be_a_mapping(fx: FeatureExtractor) -> None:
    with pytest.raises(
        TypeError, match="event must be a mapping of field names to values, got list"
    ):
        fx.extract_one([("id", "ch_1")])  # type: ignore[arg-type]


def test_batch_errors_name_the_field_and_row_and_change_nothing(
    fx: FeatureExtractor, payment: dict[str, Any]
) -> None:
    events = [{**payment, "id": f"ch_{i}", "created": T0 + i} for i in range(5)]
    events[3]["email"] = "not-an-email"
    with pytest.raises(
        SchemaError, match=r"email: malformed email address 'not-an-email' \(row 3\)"
    ):
        fx.extract_many(events)
    assert fx.entity_count == 0
    assert fx.clock == 0


def test_batch_row_numbers_refer_to_the_input_order(
    fx: FeatureExtractor, payment: dict[str, Any]
) -> None:
    events = [{**payment, "id": f"ch_{i}", "created": T0 - i} for i in range(4)]
    events[1]["currency"] = "zzz"
    with pytest.raises(SchemaError, match=r"currency: unknown currency 'zzz' .*\(row 1\)"):
        fx.extract_many(events)


@pytest.mark.parametrize(
    ("column", "array", "message"),
    [
        (
            "amount",
            pa.array(["1", "2"]),
            "amount: column must hold integers, got Arrow type string",
        ),
        ("email", pa.array([1, 2]), "email: column must hold strings, got Arrow type int64"),
        ("ip_latitude", pa.array(["a", "b"]), "ip_latitude: column must hold numbers"),
        ("is_checkout", pa.array([1, 0]), "is_checkout: column must hold booleans"),
        ("amount", pa.array([1.0, 2.5]), r"amount: expected whole numbers, got 2.5 \(row 1\)"),
        (
            "created",
            pa.array([T0, None], pa.int64()),
            r"created: required field is missing \(row 1\)",
        ),
        ("amount", pa.array([1, None], pa.int64()), r"amount: required field is missing \(row 1\)"),
    ],
)
def test_bad_batch_columns_are_rejected(
    fx: FeatureExtractor, column: str, array: pa.Array, message: str
) -> None:
    table = pa.table(
        {"id": ["ch_1", "ch_2"], "created": [T0, T0 + 1], "amount": [1, 2], "currency": ["usd"] * 2}
    )
    table = table.drop_columns([column]) if column in table.column_names else table
    table = table.append_column(column, array)
    with pytest.raises(SchemaError, match=message):
        fx.extract_many(table)


def test_missing_required_column(fx: FeatureExtractor) -> None:
    with pytest.raises(SchemaError, match="currency: required column is missing"):
        fx.extract_many(pa.table({"id": ["a"], "created": [T0], "amount": [1]}))


def test_unsupported_batch_type(fx: FeatureExtractor) -> None:
    with pytest.raises(TypeError, match="events must be a pyarrow Table"):
        fx.extract_many(42)
    with pytest.raises(TypeError, match="a list of events must hold mappings"):
        fx.extract_many([1, 2])


def _frames(events: list[dict[str, Any]]) -> list[Any]:
    table = pa.Table.from_pylist(events)
    return [
        events,
        table,
        table.to_batches()[0],
        pd.DataFrame(events),
        pl.DataFrame(events),
        {name: table.column(name).to_pylist() for name in table.column_names},
    ]


def test_every_batch_form_gives_the_same_rows(payment: dict[str, Any]) -> None:
    events = [
        {**payment, "id": f"ch_{i}", "created": T0 + 100 * i, "customer_created": T0 - 5}
        for i in range(6)
    ]
    events[2].pop("email")
    events[4]["customer_created"] = None
    expected = FeatureExtractor().extract_many(events)
    for form in _frames(events):
        np.testing.assert_array_equal(FeatureExtractor().extract_many(form), expected)


def test_pandas_nullable_ints_and_timestamps_are_accepted(payment: dict[str, Any]) -> None:
    events = [
        {**payment, "id": f"ch_{i}", "created": T0 + i, "customer_created": T0} for i in range(3)
    ]
    expected = FeatureExtractor().extract_many(events)
    frame = pd.DataFrame(events)
    frame.loc[1, "customer_created"] = np.nan  # pandas turns the column into floats
    frame["created"] = pd.to_datetime(frame["created"], unit="s")
    rows = FeatureExtractor().extract_many(frame)
    names = FeatureExtractor().schema.names
    since = [i for i, n in enumerate(names) if n.endswith("_since_customer_was_created")]
    assert len(since) == 3
    assert np.isnan(rows[1, since]).all()
    assert not np.isnan(rows[[0, 2]][:, since]).any()
    np.testing.assert_array_equal(
        np.delete(rows, since, axis=1), np.delete(expected, since, axis=1)
    )


def test_dictionary_and_large_string_columns(payment: dict[str, Any]) -> None:
    events = [{**payment, "id": f"ch_{i}", "created": T0 + i} for i in range(4)]
    table = pa.Table.from_pylist(events)
    expected = FeatureExtractor().extract_many(table)
    encoded = table.set_column(
        table.column_names.index("currency"),
        "currency",
        table.column("currency").dictionary_encode(),
    )
    encoded = encoded.set_column(
        encoded.column_names.index("email"), "email", table.column("email").cast(pa.large_string())
    )
    np.testing.assert_array_equal(FeatureExtractor().extract_many(encoded), expected)
    sliced = pa.concat_tables([table.slice(0, 1), table.slice(1)])
    np.testing.assert_array_equal(FeatureExtractor().extract_many(sliced), expected)


def test_unknown_fields_are_ignored(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    extra = {**payment, "metadata": {"order": "42"}, "is_fraud": True}
    np.testing.assert_array_equal(fx.extract_one(extra), fx.extract_one(payment))


def test_normalisation_makes_one_entity(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    fx.update(payment, "authorized")
    variant = {
        **payment,
        "id": "ch_2",
        "created": T0 + 10,
        "email": "  JANE.Doe@Example.COM ",
        "ip_address": "::ffff:203.0.113.7",
        "billing_line1": " 1   main  ST ",
        "currency": "USD",
        "name": "jane   doe",
    }
    values = fx.attributes_one(variant)
    assert values["total_charges_per_email_hourly"] == 1
    assert values["total_charges_per_ip_address_hourly"] == 1
    assert values["total_charges_per_billing_address_hourly"] == 1
    assert values["name_count_for_card_hourly"] == 1
    assert values["email"] == "jane.doe@example.com"
    assert values["amount_in_usd"] == 20.0


def test_blank_strings_and_nan_are_missing(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    blank = {**payment, "email": "  ", "ip_latitude": math.nan, "customer": float("nan")}
    values = fx.attributes_one(blank)
    assert values["email"] is None
    assert values["customer"] is None
    assert values["total_charges_per_email_all_time"] is None


def test_card_fields_are_ignored_for_other_payment_methods(
    fx: FeatureExtractor, payment: dict[str, Any]
) -> None:
    sepa = {**payment, "payment_method_type": "sepa_debit"}
    values = fx.attributes_one(sepa)
    assert values["card_bin"] is None
    assert values["card_fingerprint"] is None
    assert values["total_charges_per_card_number_all_time"] is None
    assert values["is_new_card_on_customer"] is False
    assert values["payment_method_type"] == "sepa_debit"


def test_pack_one_and_pack_many_agree_on_types(payment: dict[str, Any]) -> None:
    strings, ints, floats, bools = pack_one({**payment, "is_checkout": True})
    assert strings[0] == "ch_1"
    assert ints[0] == T0
    assert all(math.isnan(f) for f in floats)
    assert sorted(bools) == [-1, -1, -1, -1, 1]
    batch = pack_many([payment])
    assert batch.rows == 1
    assert batch.created.tolist() == [T0]


def test_plain_dicts_and_checked_events_give_the_same_rows(payment: dict[str, Any]) -> None:
    """The core reads a dict of plain values in place; any other value sends the event through
    ``pack_one``'s checks and conversions. Both paths give the same row, attributes and state."""
    from collections import OrderedDict

    plain = {
        **payment,
        "amount": 1234,
        "customer_created": T0 - 86_400,
        "billing_latitude": 48.85,
        "is_checkout": True,
        "is_recurring": False,
        "session_automation": None,
        "card_bin": "",
    }
    converted: list[Any] = [
        {**plain, "amount": np.int64(1234)},
        {**plain, "customer_created": float(T0 - 86_400)},
        {**plain, "billing_latitude": np.float64(48.85)},
        {**plain, "is_checkout": np.bool_(True)},
        {**plain, "session_automation": math.nan, "card_bin": math.nan},
        OrderedDict(plain),
    ]
    reference = FeatureExtractor()
    expected = reference.extract_one(plain)
    strings = reference._core.string_attributes_one(plain)
    reference.update(plain, "authorized")
    for event in converted:
        fx = FeatureExtractor()
        np.testing.assert_array_equal(fx.extract_one(event), expected)
        assert fx._core.string_attributes_one(event) == strings
        fx.update(event, "authorized")
        assert fx.snapshot() == reference.snapshot()
    assert pack_one(plain) == pack_one(OrderedDict(plain))


def test_a_packed_event_extracts_and_updates_as_its_mapping_does(payment: dict[str, Any]) -> None:
    by_mapping, by_packed = FeatureExtractor(), FeatureExtractor()
    by_mapping.update(payment, "blocked")
    by_mapping._core.record_label(payment, "dispute", T0 + 60)
    packed = by_packed._core.pack(payment)
    np.testing.assert_array_equal(
        by_packed._core.extract_one(packed), FeatureExtractor()._core.extract_one(payment)
    )
    by_packed._core.update(packed, "blocked")
    by_packed._core.record_label(packed, "dispute", T0 + 60)
    assert by_packed.snapshot() == by_mapping.snapshot()
    with pytest.raises(SchemaError, match="currency"):
        by_packed._core.pack({**payment, "currency": "zzz"})


def test_core_rejects_malformed_buffers(payment: dict[str, Any]) -> None:
    core = FeatureExtractor()._core
    batch = pack_many([payment, {**payment, "id": "ch_2"}])
    args = (batch.rows, batch.strings, batch.ints, batch.floats, batch.bools)
    with pytest.raises(TypeError, match="event must be a mapping of field names to values"):
        core.extract_one(["x"])
    with pytest.raises(ValueError, match="order must be a permutation of the row numbers"):
        core.extract_many(*args, np.array([0, 0], dtype=np.int64), True)
    floats = list(batch.floats)
    floats[0] = np.zeros(2, dtype=np.float32)
    with pytest.raises(TypeError, match="billing_latitude must be a contiguous 1-d float64 array"):
        core.extract_many(*args[:3], floats, batch.bools, None, True)
    floats[0] = np.zeros(1)
    with pytest.raises(ValueError, match="billing_latitude is too short"):
        core.extract_many(*args[:3], floats, batch.bools, None, True)
    strings = list(batch.strings)
    offsets, data, valid = strings[0]
    strings[0] = (offsets[::-1].copy(), data, valid)
    with pytest.raises(ValueError, match="id: offsets out of order"):
        core.extract_many(batch.rows, strings, *args[2:], None, True)
