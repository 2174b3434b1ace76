"""radarcore.synth: the synthetic payment stream, its contract, and its fraud signatures.

Every signature is computed from the generated data by the plain-Python signal functions
below (the oracle: loops over rows, no NumPy), then compared between the scenario and
legitimate payments.
"""

from __future__ import annotations

import doctest
import math
import os
import re
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import radarcore
from radarcore import synth
from radarcore.cli import main

DAY = 86_400
START = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
# Rough minor units per US dollar, to compare amounts across currencies.
MINOR_PER_USD = {"usd": 100, "eur": 92, "gbp": 79, "jpy": 150, "cad": 136}

EVENT_SCHEMA: list[tuple[str, pa.DataType]] = [
    ("id", pa.string()),
    ("created", pa.int64()),
    ("amount", pa.int64()),
    ("currency", pa.string()),
    ("payment_method_type", pa.string()),
    *[
        (name, pa.string())
        for name in [
            "card_fingerprint",
            "card_bin",
            "card_brand",
            "card_funding",
            "card_country",
            "cvc_check",
            "address_zip_check",
            "address_line1_check",
            "digital_wallet",
            "three_d_secure_result",
            "customer",
        ]
    ],
    ("customer_created", pa.int64()),
    *[(name, pa.string()) for name in ("email", "name", "phone")],
    *[
        (f"{kind}_{part}", pa.string())
        for kind in ("billing",)
        for part in ("line1", "line2", "city", "state", "postal_code", "country")
    ],
    ("billing_latitude", pa.float64()),
    ("billing_longitude", pa.float64()),
    *[
        (f"shipping_{part}", pa.string())
        for part in ("line1", "line2", "city", "state", "postal_code", "country")
    ],
    ("shipping_latitude", pa.float64()),
    ("shipping_longitude", pa.float64()),
    ("ip_address", pa.string()),
    ("ip_country", pa.string()),
    ("ip_latitude", pa.float64()),
    ("ip_longitude", pa.float64()),
    ("user_agent", pa.string()),
    ("device_id", pa.string()),
    ("session_timezone_offset", pa.int32()),
    ("session_automation", pa.bool_()),
    ("pm_device_id", pa.string()),
    ("pm_ip_address", pa.string()),
    ("merchant", pa.string()),
    ("description", pa.string()),
    ("is_off_session", pa.bool_()),
    ("is_recurring", pa.bool_()),
    ("is_checkout", pa.bool_()),
    ("is_setup_intent", pa.bool_()),
    ("outcome", pa.string()),
]
SCENARIOS = {
    "legit",
    "card_testing",
    "stolen_card",
    "account_takeover",
    "compromised_merchant",
    "card_present_far",
    "friendly_fraud",
}

Row = dict[str, Any]


# ---- the oracle: plain-Python signals over rows in stream order ---------------------------


def rows_of(table: pa.Table) -> list[Row]:
    return table.to_pylist()  # type: ignore[no-any-return]


def seen_before(rows: list[Row], key: str, value: str) -> list[bool | None]:
    """Per row: was ``value`` already used by ``key`` in an earlier legitimate payment?

    None when the row has no ``key`` or ``value``, or ``key`` has no earlier legitimate payment.
    """
    history: dict[Any, set[Any]] = defaultdict(set)
    out: list[bool | None] = []
    for row in rows:
        k, v = row[key], row[value]
        out.append(None if k is None or v is None or not history[k] else v in history[k])
        if k is not None and v is not None and not row["is_fraud"]:
            history[k].add(v)
    return out


def distinct_cards_per_device_hour(rows: list[Row]) -> list[int]:
    """Per row with a session: distinct cards on its device in the hour up to and including it."""
    recent: dict[str, list[tuple[int, str]]] = defaultdict(list)
    out = []
    for row in rows:
        device = row["device_id"]
        if device is None or row["card_fingerprint"] is None:
            out.append(0)
            continue
        window = [(t, c) for t, c in recent[device] if t > row["created"] - 3600]
        window.append((row["created"], row["card_fingerprint"]))
        recent[device] = window
        out.append(len({c for _, c in window}))
    return out


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(min(a, 1.0)))


def previous_location(rows: list[Row]) -> list[tuple[float, int, str] | None]:
    """Per row: (km from, seconds since, scenario of) the card's previous located payment."""
    last: dict[str, Row] = {}
    out: list[tuple[float, int, str] | None] = []
    for row in rows:
        card, lat = row["card_fingerprint"], row["ip_latitude"]
        if card is None or lat is None:
            out.append(None)
            continue
        before = last.get(card)
        out.append(
            None
            if before is None
            else (
                haversine_km(
                    before["ip_latitude"], before["ip_longitude"], lat, row["ip_longitude"]
                ),
                row["created"] - before["created"],
                before["scenario"],
            )
        )
        last[card] = row
    return out


def usd(row: Row) -> float:
    return float(row["amount"]) / MINOR_PER_USD[row["currency"]]


def share(flags: Iterable[bool | None]) -> float:
    known = [bool(f) for f in flags if f is not None]
    assert known, "no rows to measure"
    return sum(known) / len(known)


def by_scenario(rows: list[Row], values: list[Any], scenario: str) -> list[Any]:
    return [v for row, v in zip(rows, values, strict=True) if row["scenario"] == scenario]


# ---- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def history() -> synth.SyntheticHistory:
    return synth.generate(50_000, seed=11)


@pytest.fixture(scope="module")
def rows(history: synth.SyntheticHistory) -> list[Row]:
    return rows_of(history.payments)


@pytest.fixture(scope="module")
def labels(history: synth.SyntheticHistory) -> list[Row]:
    return rows_of(history.labels)


# ---- contract ------------------------------------------------------------------------------


def test_same_seed_gives_identical_tables_and_another_seed_does_not() -> None:
    first = synth.generate(3_000, seed=5)
    again = synth.generate(3_000, seed=5)
    other = synth.generate(3_000, seed=6)
    assert first.payments.equals(again.payments)
    assert first.labels.equals(again.labels)
    assert not first.payments.equals(other.payments)


def test_same_seed_gives_identical_files_across_processes(tmp_path: Path) -> None:
    script = (
        "import sys; from radarcore import synth; "
        "synth.write(synth.generate(2_000, seed=3), sys.argv[1])"
    )
    for hash_seed in ("1", "2"):
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / hash_seed)],
            check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
    first, second = synth.read(tmp_path / "1"), synth.read(tmp_path / "2")
    assert first.payments.equals(second.payments)
    assert first.labels.equals(second.labels)
    assert first.payments.equals(synth.generate(2_000, seed=3).payments)


def test_schema_is_the_event_schema_then_ground_truth(history: synth.SyntheticHistory) -> None:
    expected = pa.schema([*EVENT_SCHEMA, ("is_fraud", pa.bool_()), ("scenario", pa.string())])
    assert history.payments.schema == expected
    assert expected == synth.PAYMENTS_SCHEMA
    assert history.labels.schema == pa.schema(
        [("payment_id", pa.string()), ("label", pa.string()), ("known_at", pa.int64())]
    )
    required = ("id", "created", "amount", "currency")
    assert all(history.payments.column(name).null_count == 0 for name in required)


def test_sorted_by_created_then_id_with_unique_stripe_like_ids(rows: list[Row]) -> None:
    keys = [(row["created"], row["id"]) for row in rows]
    assert keys == sorted(keys)
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == len(ids) == 50_000
    assert all(re.fullmatch(r"ch_[0-9A-Za-z]{24}", i) for i in ids)
    assert all(re.fullmatch(r"cus_[0-9A-Za-z]{14}", r["customer"]) for r in rows if r["customer"])


def test_times_span_the_default_days_from_the_default_start(rows: list[Row]) -> None:
    days = math.ceil(50_000 / synth.PAYMENTS_PER_DAY)
    created = [row["created"] for row in rows]
    assert min(created) >= START
    assert max(created) < START + days * DAY
    assert max(created) - min(created) > (days - 0.5) * DAY


def test_customers_are_created_before_they_pay(rows: list[Row]) -> None:
    assert all(r["customer_created"] <= r["created"] for r in rows if r["customer"] is not None)
    assert all((r["customer"] is None) == (r["customer_created"] is None) for r in rows)


def test_fraud_rate_and_every_scenario_present(rows: list[Row]) -> None:
    counts = Counter(row["scenario"] for row in rows)
    assert set(counts) == SCENARIOS
    fraud = sum(row["is_fraud"] for row in rows)
    assert 0.004 <= fraud / len(rows) <= 0.006
    assert all(row["is_fraud"] == (row["scenario"] != "legit") for row in rows)
    for scenario, part in synth.SCENARIO_SHARES.items():
        assert abs(counts[scenario] / fraud - part) < 0.05, scenario


@pytest.mark.parametrize("rate", [0.0, 0.001, 0.01])
def test_fraud_rate_follows_the_argument(rate: float) -> None:
    table = synth.generate(20_000, seed=2, fraud_rate=rate).payments
    fraud = sum(table.column("is_fraud").to_pylist())
    assert abs(fraud - rate * 20_000) <= 0.15 * rate * 20_000


def test_enumerations_use_stripe_vocabulary(rows: list[Row], labels: list[Row]) -> None:
    allowed = {
        "currency": {"usd", "eur", "gbp", "jpy", "cad"},
        "payment_method_type": {"card", "card_present", "sepa_debit", "us_bank_account"},
        "cvc_check": {"pass", "fail", "unavailable", "unchecked", "not_provided", None},
        "address_zip_check": {"pass", "fail", "unavailable", "unchecked", "not_provided", None},
        "address_line1_check": {"pass", "fail", "unavailable", "unchecked", "not_provided", None},
        "digital_wallet": {"none", "apple_pay", "google_pay", "link", None},
        "three_d_secure_result": {"authenticated", "attempt_acknowledged", "failed", None},
        "card_brand": {"visa", "mc", "amex", "discover", None},
        "card_funding": {"credit", "debit", "prepaid", "unknown", None},
        "outcome": {"authorized", "declined"},
    }
    for column, values in allowed.items():
        assert {row[column] for row in rows} <= values, column
    assert {label["label"] for label in labels} == {
        "dispute",
        "early_fraud_warning",
        "fraudulent_refund",
        "refund",
    }
    assert all(re.fullmatch(r"[0-9]{6}", r["card_bin"]) for r in rows if r["card_bin"])
    assert all(re.fullmatch(r"[A-Z]{2}", r["card_country"]) for r in rows if r["card_country"])


def test_currencies_are_mostly_usd_and_jpy_has_no_minor_unit(rows: list[Row]) -> None:
    currencies = Counter(row["currency"] for row in rows)
    assert currencies["usd"] / len(rows) > 0.5
    assert all(currencies[c] > 0 for c in ("eur", "gbp", "jpy"))
    median = {
        c: statistics.median(r["amount"] for r in rows if r["currency"] == c and r["amount"])
        for c in ("usd", "jpy")
    }
    assert 0.5 < median["jpy"] / median["usd"] < 4.0
    assert all(r["amount"] >= 0 for r in rows)


def test_optional_columns_are_null_where_a_gateway_would_not_have_them(rows: list[Row]) -> None:
    for row in rows:
        has_session = row["device_id"] is not None
        assert (row["user_agent"] is not None) == has_session
        assert (row["session_timezone_offset"] is not None) == has_session
        assert (row["session_automation"] is not None) == has_session
        if row["is_off_session"]:
            assert not has_session
            assert row["ip_address"] is None
        if row["payment_method_type"] == "card_present":
            assert not has_session
            assert row["ip_address"] is not None
        if row["payment_method_type"] in ("sepa_debit", "us_bank_account"):
            assert row["card_fingerprint"] is None
            assert row["cvc_check"] is None
        if row["ip_address"] is not None:
            assert row["ip_country"] is not None
            assert row["ip_latitude"] is not None
    assert any(r["shipping_line1"] is None and r["device_id"] is not None for r in rows)
    assert any(r["shipping_line1"] is not None for r in rows)


def test_outcomes_are_history_never_blocked(rows: list[Row]) -> None:
    legit = [r["outcome"] == "declined" for r in rows if r["scenario"] == "legit"]
    assert 0.01 < share(legit) < 0.05
    testing = [r["outcome"] == "declined" for r in rows if r["scenario"] == "card_testing"]
    assert share(testing) > 0.7


def test_daily_rhythm_in_local_time(rows: list[Row]) -> None:
    hours = Counter(
        ((r["created"] + 60 * r["session_timezone_offset"]) // 3600) % 24
        for r in rows
        if r["scenario"] == "legit" and r["session_timezone_offset"] is not None
    )
    evening = sum(hours[h] for h in (19, 20, 21))
    night = sum(hours[h] for h in (3, 4, 5))
    assert evening > 5 * night


def test_weekly_rhythm() -> None:
    table = synth.generate(28_000, seed=4, days=28).payments
    weekday = Counter(((t // DAY) + 3) % 7 for t in table.column("created").to_pylist())
    assert weekday[5] > 1.08 * weekday[0]  # Saturdays busier than Mondays


# ---- scenario signatures -------------------------------------------------------------------


def test_card_testing_bursts_many_cards_per_device_small_amounts(rows: list[Row]) -> None:
    cards = distinct_cards_per_device_hour(rows)
    testing = by_scenario(rows, cards, "card_testing")
    legit = [c for r, c in zip(rows, cards, strict=True) if r["scenario"] == "legit" and c]
    assert statistics.median(testing) >= 10
    assert max(legit) <= 3
    amounts = [usd(r) for r in rows if r["scenario"] == "card_testing"]
    assert max(amounts) <= 15.0
    legit_amounts = [usd(r) for r in rows if r["scenario"] == "legit" and r["amount"]]
    assert statistics.median(amounts) * 5 < statistics.median(legit_amounts)
    fresh = seen_before(rows, "card_fingerprint", "id")
    assert all(f is None for f in by_scenario(rows, fresh, "card_testing"))


def test_stolen_card_new_device_and_email_foreign_ip_high_amounts(rows: list[Row]) -> None:
    for column, least in (("device_id", 0.95), ("email", 0.9)):
        known = seen_before(rows, "card_fingerprint", column)
        stolen = share(k is False for k in by_scenario(rows, known, "stolen_card") if k is not None)
        legit = share(k is False for k in by_scenario(rows, known, "legit") if k is not None)
        assert stolen >= least, column
        assert legit < 0.5, column
    foreign = [r["ip_country"] != r["card_country"] for r in rows if r["ip_country"]]
    stolen_foreign = share(
        by_scenario([r for r in rows if r["ip_country"]], foreign, "stolen_card")
    )
    legit_foreign = share(by_scenario([r for r in rows if r["ip_country"]], foreign, "legit"))
    assert stolen_foreign > 3 * legit_foreign
    usual: dict[str, list[float]] = defaultdict(list)
    higher: dict[str, list[bool]] = defaultdict(list)
    for row in rows:
        card = row["card_fingerprint"]
        if card is None or not row["amount"]:
            continue
        if usual[card]:
            higher[row["scenario"]].append(usd(row) > statistics.median(usual[card]))
        if not row["is_fraud"]:
            usual[card].append(usd(row))
    assert share(higher["stolen_card"]) > 0.8
    assert share(higher["legit"]) < 0.6


def test_account_takeover_known_customer_new_device_and_ip(rows: list[Row]) -> None:
    takeover = [r for r in rows if r["scenario"] == "account_takeover"]
    assert all(r["customer_created"] < r["created"] for r in takeover)
    for column in ("device_id", "ip_address"):
        known = by_scenario(rows, seen_before(rows, "customer", column), "account_takeover")
        assert all(k is False for k in known), column
        legit = by_scenario(rows, seen_before(rows, "customer", column), "legit")
        assert share(k is False for k in legit if k is not None) < 0.5, column
    # The saved card was set up from the real customer's device.
    assert all(r["pm_device_id"] not in (None, r["device_id"]) for r in takeover)
    shipped = seen_before(rows, "customer", "shipping_line1")
    takeover_shipped = by_scenario(rows, shipped, "account_takeover")
    assert share(k is False for k in takeover_shipped if k is not None) == 1.0


def test_compromised_merchant_cards_share_an_earlier_merchant(rows: list[Row]) -> None:
    visited: dict[str, set[str]] = defaultdict(set)
    fraud_cards: dict[str, set[str]] = {}
    for row in rows:
        card = row["card_fingerprint"]
        if card is None:
            continue
        if row["scenario"] == "compromised_merchant" and card not in fraud_cards:
            fraud_cards[card] = set(visited[card])
        if not row["is_fraud"]:
            visited[card].add(row["merchant"])
    merchant, hits = Counter(m for seen in fraud_cards.values() for m in seen).most_common(1)[0]
    base_rate = sum(merchant in seen for seen in visited.values()) / len(visited)
    assert hits / len(fraud_cards) >= 0.3
    assert hits / len(fraud_cards) > 4 * base_rate
    # Every defrauded card had been used somewhere before.
    assert all(fraud_cards.values())


def test_card_present_far_from_the_last_location_within_hours(rows: list[Row]) -> None:
    previous = previous_location(rows)
    far = [
        p is not None and p[0] > 1000 and p[1] < DAY
        for row, p in zip(rows, previous, strict=True)
        if row["scenario"] == "card_present_far" and (p is None or p[2] != "card_present_far")
    ]
    legit = [
        p[0] > 1000 and p[1] < DAY
        for row, p in zip(rows, previous, strict=True)
        if row["scenario"] == "legit" and p is not None
    ]
    assert share(far) >= 0.95
    assert share(legit) < 0.02
    assert {r["payment_method_type"] for r in rows if r["scenario"] == "card_present_far"} == {
        "card_present"
    }


def test_friendly_fraud_is_the_customers_usual_device_and_ip_disputed_later(
    rows: list[Row], labels: list[Row]
) -> None:
    for column in ("device_id", "ip_address"):
        known = by_scenario(rows, seen_before(rows, "customer", column), "friendly_fraud")
        assert all(k is True for k in known), column
    friendly = {r["id"]: r["created"] for r in rows if r["scenario"] == "friendly_fraud"}
    outcome = {label["payment_id"]: label for label in labels if label["payment_id"] in friendly}
    assert set(outcome) == set(friendly)
    disputes = [label for label in outcome.values() if label["label"] == "dispute"]
    assert len(disputes) >= 0.7 * len(friendly)
    assert all(d["known_at"] - friendly[d["payment_id"]] >= 20 * DAY for d in disputes)


def test_legitimate_payments_sometimes_look_risky(rows: list[Row]) -> None:
    legit = [r for r in rows if r["scenario"] == "legit"]
    abroad = share(r["ip_country"] != r["card_country"] for r in legit if r["ip_country"])
    assert 0.01 < abroad < 0.2
    new_device = by_scenario(rows, seen_before(rows, "customer", "device_id"), "legit")
    assert 0.02 < share(k is False for k in new_device if k is not None) < 0.5
    amounts = sorted(usd(r) for r in legit if r["amount"])
    assert amounts[int(0.999 * len(amounts))] > 1_000


# ---- labels --------------------------------------------------------------------------------


def test_labels_refer_to_payments_and_arrive_after_them(rows: list[Row], labels: list[Row]) -> None:
    created = {r["id"]: r for r in rows}
    assert all(label["payment_id"] in created for label in labels)
    assert all(label["known_at"] >= created[label["payment_id"]]["created"] for label in labels)
    known_at = [label["known_at"] for label in labels]
    assert known_at == sorted(known_at)
    assert all(created[label["payment_id"]]["outcome"] == "authorized" for label in labels)
    fraud_labels = {"dispute", "early_fraud_warning", "fraudulent_refund"}
    assert all(
        created[label["payment_id"]]["is_fraud"]
        for label in labels
        if label["label"] in fraud_labels
    )


def test_label_delays_days_for_warnings_weeks_for_disputes(
    rows: list[Row], labels: list[Row]
) -> None:
    created = {r["id"]: r["created"] for r in rows}
    delay: dict[str, list[float]] = defaultdict(list)
    for label in labels:
        delay[label["label"]].append((label["known_at"] - created[label["payment_id"]]) / DAY)
    assert 1 <= statistics.median(delay["early_fraud_warning"]) <= 10
    assert statistics.median(delay["dispute"]) >= 14
    assert min(delay["dispute"]) >= 10


def test_some_fraud_is_never_labelled(rows: list[Row], labels: list[Row]) -> None:
    labelled = {label["payment_id"] for label in labels}
    paid_fraud = [
        r["id"] in labelled
        for r in rows
        if r["is_fraud"] and r["outcome"] == "authorized" and r["scenario"] != "card_testing"
    ]
    assert 0.05 < 1 - share(paid_fraud) < 0.4
    refunded = share(r["id"] in labelled for r in rows if r["scenario"] == "legit" and r["amount"])
    assert 0.005 < refunded < 0.05


# ---- invariants on random arguments --------------------------------------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 4_000),
    seed=st.integers(0, 2**32),
    rate=st.floats(0.0, 0.2),
    days=st.one_of(st.none(), st.integers(1, 30)),
    start=st.integers(0, 2_000_000_000),
)
def test_invariants_hold_for_any_arguments(
    n: int, seed: int, rate: float, days: int | None, start: int
) -> None:
    history = synth.generate(n, seed=seed, fraud_rate=rate, days=days, start=start)
    table = history.payments
    assert table.num_rows == n
    created = table.column("created").to_pylist()
    ids = table.column("id").to_pylist()
    assert list(zip(created, ids, strict=True)) == sorted(zip(created, ids, strict=True))
    assert len(set(ids)) == n
    span = (days or math.ceil(n / synth.PAYMENTS_PER_DAY)) * DAY
    assert start <= min(created)
    assert max(created) < start + span
    fraud = table.column("is_fraud").to_pylist()
    scenario = table.column("scenario").to_pylist()
    assert fraud == [s != "legit" for s in scenario]
    assert sum(fraud) <= round(rate * n)
    when = dict(zip(ids, created, strict=True))
    for label in history.labels.to_pylist():
        assert label["known_at"] >= when[label["payment_id"]]


# ---- rejected inputs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_payments": 0}, ValueError, "n_payments must be >= 1, got 0"),
        ({"n_payments": 1.5}, TypeError, "n_payments must be an integer, got float"),
        ({"n_payments": True}, TypeError, "n_payments must be an integer, got bool"),
        ({"seed": -1}, ValueError, "seed must be >= 0, got -1"),
        ({"days": 0}, ValueError, "days must be >= 1, got 0"),
        ({"fraud_rate": 0.5}, ValueError, "fraud_rate must be between 0 and 0.2, got 0.5"),
        ({"fraud_rate": -0.1}, ValueError, "fraud_rate must be between 0 and 0.2, got -0.1"),
        ({"fraud_rate": "high"}, TypeError, "fraud_rate must be a number, got str"),
        ({"start": "2025-01-01"}, TypeError, "start must be a datetime or Unix seconds"),
        ({"start": datetime(2025, 1, 1)}, ValueError, "start must be timezone-aware"),
    ],
)
def test_bad_arguments_are_rejected(kwargs: dict[str, Any], error: type, message: str) -> None:
    arguments: dict[str, Any] = {"n_payments": 100, **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        synth.generate(**arguments)


# ---- files and command line ----------------------------------------------------------------


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    history = synth.generate(2_000, seed=1)
    payments, labels = synth.write(history, tmp_path / "out")
    assert (payments.name, labels.name) == ("payments.parquet", "labels.parquet")
    back = synth.read(tmp_path / "out")
    assert back.payments.equals(history.payments)
    assert back.labels.equals(history.labels)


def test_write_refuses_a_file_as_directory(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("")
    with pytest.raises(NotADirectoryError, match="exists and is not a directory"):
        synth.write(synth.generate(10), target)


def test_cli_synth_writes_what_generate_returns(tmp_path: Path) -> None:
    status = main(
        [
            "synth",
            "--payments=3000",
            "--seed=9",
            "--days=2",
            "--start=2025-03-01",
            f"--output={tmp_path}",
            "--quiet",
        ]
    )
    assert status == 0
    start = datetime(2025, 3, 1, tzinfo=UTC)
    expected = synth.generate(3_000, seed=9, days=2, start=start)
    assert synth.read(tmp_path).payments.equals(expected.payments)


def test_cli_console_script_runs_in_a_fresh_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "radarcore.cli", "synth", "--payments", "500", "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote 500 payments" in done.stdout
    assert (tmp_path / "labels.parquet").exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--payments", "0"], "argument --payments: must be >= 1, got 0"),
        (["--payments", "many"], "argument --payments: invalid integer 'many'"),
        (["--payments", "10", "--start", "soon"], "argument --start: invalid date 'soon'"),
    ],
)
def test_cli_rejects_bad_arguments(
    arguments: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", "-o", str(tmp_path), *arguments])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_reports_generator_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["synth", "--payments", "10", "--fraud-rate", "0.9", "-o", str(tmp_path)])
    assert status == 2
    assert "fraud_rate must be between 0 and 0.2, got 0.9" in capsys.readouterr().err


def test_docstring_examples_run() -> None:
    result = doctest.testmod(synth, raise_on_error=False, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0


def test_package_exports_synth() -> None:
    assert "synth" in radarcore.__all__
    assert radarcore.synth is synth
