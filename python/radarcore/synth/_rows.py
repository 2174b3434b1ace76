"""Payments in index form, and their assembly into the Arrow tables of the event schema.

A :class:`Rows` holds one NumPy array per payment attribute. Entity attributes are row indices
into the world's :class:`EntityTable` s (``-1`` is null); enums are small codes. Only
:func:`to_tables` turns them into strings.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pyarrow as pa

from radarcore.synth._world import (
    CHECKS,
    CURRENCIES,
    OUTCOMES,
    PM_TYPES,
    SCENARIOS,
    THREE_DS,
    WALLETS,
    IntArray,
    World,
    counter_ids,
)

__all__ = ["LABELS_SCHEMA", "PAYMENTS_SCHEMA", "Rows", "to_tables"]

_S = pa.string()
_I64 = pa.int64()
_F64 = pa.float64()
_B = pa.bool_()

PAYMENTS_SCHEMA = pa.schema(
    [
        ("id", _S),
        ("created", _I64),
        ("amount", _I64),
        ("currency", _S),
        ("payment_method_type", _S),
        ("card_fingerprint", _S),
        ("card_bin", _S),
        ("card_brand", _S),
        ("card_funding", _S),
        ("card_country", _S),
        ("cvc_check", _S),
        ("address_zip_check", _S),
        ("address_line1_check", _S),
        ("digital_wallet", _S),
        ("three_d_secure_result", _S),
        ("customer", _S),
        ("customer_created", _I64),
        ("email", _S),
        ("name", _S),
        ("phone", _S),
        ("billing_line1", _S),
        ("billing_line2", _S),
        ("billing_city", _S),
        ("billing_state", _S),
        ("billing_postal_code", _S),
        ("billing_country", _S),
        ("billing_latitude", _F64),
        ("billing_longitude", _F64),
        ("shipping_line1", _S),
        ("shipping_line2", _S),
        ("shipping_city", _S),
        ("shipping_state", _S),
        ("shipping_postal_code", _S),
        ("shipping_country", _S),
        ("shipping_latitude", _F64),
        ("shipping_longitude", _F64),
        ("ip_address", _S),
        ("ip_country", _S),
        ("ip_latitude", _F64),
        ("ip_longitude", _F64),
        ("user_agent", _S),
        ("device_id", _S),
        ("session_timezone_offset", pa.int32()),
        ("session_automation", _B),
        ("pm_device_id", _S),
        ("pm_ip_address", _S),
        ("merchant", _S),
        ("description", _S),
        ("is_off_session", _B),
        ("is_recurring", _B),
        ("is_checkout", _B),
        ("is_setup_intent", _B),
        ("outcome", _S),
        ("is_fraud", _B),
        ("scenario", _S),
    ]
)
"""Columns of ``payments.parquet``: the payment event schema, then ground truth
(``is_fraud``, ``scenario``), which is for evaluation only and never a feature."""

LABELS_SCHEMA = pa.schema([("payment_id", _S), ("label", _S), ("known_at", _I64)])
"""Columns of ``labels.parquet``."""

LABELS = ("dispute", "early_fraud_warning", "fraudulent_refund", "refund")


@dataclass
class Rows:
    """Payments in index form: ``-1`` means null for entity indices and codes."""

    created: IntArray
    amount: IntArray
    merchant: IntArray
    pm_type: IntArray
    card: IntArray
    cvc: IntArray
    zip: IntArray
    line1: IntArray
    wallet: IntArray
    tds: IntArray
    customer: IntArray
    email: IntArray
    name: IntArray
    phone: IntArray
    billing: IntArray
    shipping: IntArray
    ip: IntArray
    device: IntArray
    tz: IntArray
    automation: IntArray
    pm_device: IntArray
    pm_ip: IntArray
    off_session: IntArray
    recurring: IntArray
    checkout: IntArray
    setup: IntArray
    outcome: IntArray
    scenario: IntArray

    @classmethod
    def blank(cls, n: int, **values: Any) -> Rows:
        """``n`` payments with every attribute null or false, except ``values``."""
        columns: dict[str, IntArray] = {}
        for f in fields(cls):
            fill = 0 if f.name in _FALSE_BY_DEFAULT else -1
            column = np.full(n, fill, dtype=np.int64)
            if f.name in values:
                column[:] = values.pop(f.name)
            columns[f.name] = column
        if values:
            raise KeyError(f"unknown payment attributes {sorted(values)}")
        return cls(**columns)

    def __len__(self) -> int:
        return int(self.created.size)

    def take(self, index: IntArray) -> Rows:
        return Rows(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        return Rows(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Rows)}
        )


_FALSE_BY_DEFAULT = frozenset(
    {"off_session", "recurring", "checkout", "setup", "outcome", "scenario", "pm_type"}
)


def _strings(values: Any) -> pa.Array:
    array = pa.array(values)
    return array if array.type == pa.string() else array.cast(pa.string())


def _take(values: pa.Array, index: IntArray) -> pa.Array:
    return values.take(pa.array(index, mask=index < 0))


def _enum(names: tuple[str, ...], codes: IntArray) -> pa.Array:
    return _take(pa.array(names, pa.string()), codes)


def _nullable(values: Any, null: Any, arrow_type: pa.DataType) -> pa.Array:
    return pa.array(np.asarray(values), type=arrow_type, mask=np.asarray(null))


def to_tables(
    rows: Rows, world: World, label_rows: IntArray, label_codes: IntArray, label_known_at: IntArray
) -> tuple[pa.Table, pa.Table]:
    """Sort the payments by (created, id), give them ids, and build both Arrow tables.

    ``label_rows`` index ``rows`` before sorting.
    """
    n = len(rows)
    raw_ids = counter_ids(0, n, "ch_", 24)
    order = np.lexsort((raw_ids, rows.created))
    rows = rows.take(order)
    ids = raw_ids[order]
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)

    w = world
    cards, customers, addresses, ips = w.cards, w.customers, w.addresses, w.ips
    merchant_currency = w.merchants["currency"][rows.merchant]
    has_session = rows.device >= 0
    columns: dict[str, pa.Array] = {
        "id": _strings(ids),
        "created": pa.array(rows.created, _I64),
        "amount": pa.array(rows.amount, _I64),
        "currency": _enum(CURRENCIES, merchant_currency),
        "payment_method_type": _enum(PM_TYPES, rows.pm_type),
    }
    for column, source in (
        ("card_fingerprint", "fingerprint"),
        ("card_bin", "bin"),
        ("card_brand", "brand"),
        ("card_funding", "funding"),
        ("card_country", "country"),
    ):
        columns[column] = _take(_strings(cards[source]), rows.card)
    columns["cvc_check"] = _enum(CHECKS, rows.cvc)
    columns["address_zip_check"] = _enum(CHECKS, rows.zip)
    columns["address_line1_check"] = _enum(CHECKS, rows.line1)
    columns["digital_wallet"] = _enum(WALLETS, rows.wallet)
    columns["three_d_secure_result"] = _enum(THREE_DS, rows.tds)
    columns["customer"] = _take(_strings(customers["id"]), rows.customer)
    columns["customer_created"] = _take(pa.array(customers["created"], _I64), rows.customer)
    columns["email"] = _take(_strings(w.emails["email"]), rows.email)
    columns["name"] = _take(_strings(w.names["name"]), rows.name)
    columns["phone"] = _take(_strings(w.phones["phone"]), rows.phone)
    for prefix, index in (("billing", rows.billing), ("shipping", rows.shipping)):
        for part in ("line1", "line2", "city", "state", "postal_code", "country"):
            columns[f"{prefix}_{part}"] = _take(_strings(addresses[part]), index)
        columns[f"{prefix}_latitude"] = _take(pa.array(addresses["lat"], _F64), index)
        columns[f"{prefix}_longitude"] = _take(pa.array(addresses["lon"], _F64), index)
    columns["ip_address"] = _take(_strings(ips["address"]), rows.ip)
    columns["ip_country"] = _take(_strings(ips["country"]), rows.ip)
    columns["ip_latitude"] = _take(pa.array(ips["lat"], _F64), rows.ip)
    columns["ip_longitude"] = _take(pa.array(ips["lon"], _F64), rows.ip)
    columns["user_agent"] = _take(_strings(w.devices["user_agent"]), rows.device)
    columns["device_id"] = _take(_strings(w.devices["device_id"]), rows.device)
    columns["session_timezone_offset"] = _nullable(
        rows.tz.astype(np.int32), ~has_session, pa.int32()
    )
    columns["session_automation"] = _nullable(rows.automation == 1, ~has_session, _B)
    columns["pm_device_id"] = _take(_strings(w.devices["device_id"]), rows.pm_device)
    columns["pm_ip_address"] = _take(_strings(ips["address"]), rows.pm_ip)
    columns["merchant"] = _take(_strings(w.merchants["id"]), rows.merchant)
    columns["description"] = _take(_strings(w.merchants["description"]), rows.merchant)
    for column, flags in (
        ("is_off_session", rows.off_session),
        ("is_recurring", rows.recurring),
        ("is_checkout", rows.checkout),
        ("is_setup_intent", rows.setup),
    ):
        columns[column] = pa.array(flags == 1, _B)
    columns["outcome"] = _enum(OUTCOMES, rows.outcome)
    columns["is_fraud"] = pa.array(rows.scenario > 0, _B)
    columns["scenario"] = _enum(SCENARIOS, rows.scenario)
    payments = pa.Table.from_arrays(
        [columns[f.name] for f in PAYMENTS_SCHEMA], schema=PAYMENTS_SCHEMA
    )

    label_position = position[label_rows]
    label_order = np.lexsort((label_codes, label_position, label_known_at))
    labels = pa.Table.from_arrays(
        [
            _strings(ids[label_position[label_order]]),
            _enum(LABELS, label_codes[label_order]),
            pa.array(label_known_at[label_order], _I64),
        ],
        schema=LABELS_SCHEMA,
    )
    return payments, labels
