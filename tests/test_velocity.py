"""Velocity counters: Stripe's hand-worked examples per family, window edges, the cap of 25,
labels, snapshots, expiry, and a plain-Python reference on random streams."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from radarcore import FeatureExtractor, SchemaError
from radarcore.features import default_currency_rates
from reference_features import ReferenceVelocity
from strategies import payment_streams

T0 = 1_699_920_000


def at(base: dict[str, Any], seconds: int, **changes: Any) -> dict[str, Any]:
    return {**base, "id": f"ch_{seconds}_{len(changes)}", "created": T0 + seconds, **changes}


def attr(fx: FeatureExtractor, event: dict[str, Any], name: str) -> Any:
    return fx.attributes_one(event)[name]


def test_first_payment_of_the_hour_sees_zero_and_the_second_sees_one(
    fx: FeatureExtractor, payment: dict[str, Any]
) -> None:
    assert attr(fx, payment, "total_charges_per_customer_hourly") == 0
    fx.update(payment, "authorized")
    second = at(payment, 60)
    assert attr(fx, second, "total_charges_per_customer_hourly") == 1
    assert attr(fx, second, "authorized_charges_per_customer_hourly") == 1
    assert attr(fx, second, "declined_charges_per_customer_hourly") == 0


@pytest.mark.parametrize(
    ("seconds", "hourly", "daily", "weekly"),
    [
        (3_599, 1, 1, 1),
        (3_899, 1, 1, 1),
        (3_900, 0, 1, 1),
        (3_901, 0, 1, 1),
        (89_999, 0, 1, 1),
        (90_000, 0, 0, 1),
        (608_399, 0, 0, 1),
        (608_400, 0, 0, 0),
    ],
)
def test_window_edges_for_a_payment_on_a_bucket_boundary(
    fx: FeatureExtractor,
    payment: dict[str, Any],
    seconds: int,
    hourly: int,
    daily: int,
    weekly: int,
) -> None:
    fx.update(payment, "declined")
    later = at(payment, seconds)
    values = fx.attributes_one(later)
    assert values["declined_charges_per_card_number_hourly"] == hourly
    assert values["declined_charges_per_card_number_daily"] == daily
    assert values["declined_charges_per_card_number_weekly"] == weekly
    assert values["declined_charges_per_card_number_all_time"] == 1


def test_a_window_can_include_one_extra_bucket(
    fx: FeatureExtractor, payment: dict[str, Any]
) -> None:
    # A payment late in its 5-minute bucket stays in `hourly` for less than 3,900 s; one at the
    # start of its bucket for up to 3,899 s: at most one bucket more than an hour.
    late = at(payment, 299)
    fx.update(late, "authorized")
    assert attr(fx, at(payment, 299 + 3_600), "total_charges_per_customer_hourly") == 1
    assert attr(fx, at(payment, 3_900), "total_charges_per_customer_hourly") == 0


def test_card_count_stops_at_25_and_evicts_the_oldest(
    fx: FeatureExtractor, payment: dict[str, Any]
) -> None:
    for i in range(30):
        fx.update(at(payment, i * 10, card_fingerprint=f"fp_{i}"), "declined")
    probe = at(payment, 400)
    assert attr(fx, probe, "card_count_for_customer_hourly") == 25
    assert attr(fx, probe, "card_count_for_customer_all_time") == 25
    assert attr(fx, probe, "declined_charges_per_customer_hourly") == 30
    # fp_0 .. fp_4 were evicted: a payment with fp_0 is a new card on the customer.
    assert attr(fx, at(payment, 400, card_fingerprint="fp_0"), "is_new_card_on_customer") is True
    assert attr(fx, at(payment, 400, card_fingerprint="fp_29"), "is_new_card_on_customer") is False


def test_eviction_follows_last_seen_time_as_in_stripes_example(payment: dict[str, Any]) -> None:
    # Radar's example with a cap of 3: timestamps [10, 20, 30] + an arrival at 50 -> [20, 30, 50].
    # With the real cap of 25: fill with 25 emails in the first 5-minute bucket, see u0 again at
    # 600 s, then a new email at 900 s evicts u1, the one seen longest ago.
    fx = FeatureExtractor()
    for i in range(25):
        fx.update(at(payment, i, email=f"u{i}@example.com"), "authorized")
    fx.update(at(payment, 600, email="u0@example.com"), "authorized")
    fx.update(at(payment, 900, email="new@example.com"), "authorized")
    assert attr(fx, at(payment, 1_000), "email_count_for_card_hourly") == 25
    # At 3,900 s the first bucket has left `hourly`: only u0 (600 s) and the new one remain.
    later = fx.attributes_one(at(payment, 3_900))
    assert later["email_count_for_card_hourly"] == 2
    assert later["email_count_for_card_all_time"] == 25
    # u1 was evicted: seeing it again adds it back, evicting u2.
    fx.update(at(payment, 3_900, email="u1@example.com"), "authorized")
    assert attr(fx, at(payment, 4_000), "email_count_for_card_hourly") == 3


def test_distinct_counts_per_family(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    fx.update(payment, "authorized")
    fx.update(at(payment, 10, email="other@example.com", name="J. Doe"), "authorized")
    fx.update(at(payment, 20, card_fingerprint="fp_B", customer="cus_2"), "authorized")
    probe = fx.attributes_one(at(payment, 30))
    assert probe["card_count_for_email_hourly"] == 2
    assert probe["card_count_for_ip_address_hourly"] == 2
    assert probe["card_count_for_customer_hourly"] == 1
    assert probe["card_count_for_billing_address_daily"] == 2
    assert probe["email_count_for_card_hourly"] == 2
    assert probe["email_count_for_ip_hourly"] == 2
    assert probe["name_count_for_card_weekly"] == 2
    assert probe["total_customers_for_email_weekly"] == 2
    assert probe["total_customers_for_card_yearly"] == 1
    assert math.isnan(
        fx.extract_one(at(payment, 30, shipping_line1=None))[
            fx.schema.index("card_count_for_shipping_address_hourly")
        ]
    )


def test_missing_entity_reads_missing_and_unseen_reads_zero(
    fx: FeatureExtractor, payment: dict[str, Any]
) -> None:
    no_email = {k: v for k, v in payment.items() if k != "email"}
    values = fx.attributes_one(no_email)
    assert values["total_charges_per_email_daily"] is None
    assert values["seconds_since_email_first_seen"] is None
    assert fx.attributes_one(payment)["total_charges_per_email_daily"] == 0


def test_time_since_attributes(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    fx.update(payment, "declined")
    fx.update(at(payment, 100), "authorized")
    values = fx.attributes_one(at(payment, 7_300, customer_created=T0 - 7_200))
    assert values["seconds_since_card_first_seen"] == 7_300
    assert values["minutes_since_card_first_seen"] == 121
    assert values["hours_since_card_first_seen"] == 2
    assert values["seconds_since_first_successful_auth_on_card"] == 7_200
    assert values["seconds_since_email_first_seen"] == 7_300
    assert values["hours_since_customer_was_created"] == 4
    assert values["hours_since_customer_was_created"] == 4


def test_amount_aggregates(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    fx.update(at(payment, 0, amount=1_000), "authorized")
    fx.update(at(payment, 1, amount=3_000), "declined")
    fx.update(at(payment, 2, amount=5_000, currency="jpy"), "blocked")
    values = fx.attributes_one(at(payment, 3))
    yen = 5_000 * default_currency_rates()["jpy"][1]
    assert values["total_usd_amount_charged_on_card_all_time"] == pytest.approx(40.0 + yen)
    assert values["total_usd_amount_successful_on_customer_all_time"] == pytest.approx(10.0)
    assert values["total_usd_amount_failed_on_customer_all_time"] == pytest.approx(30.0 + yen)
    assert values["average_usd_amount_attempted_on_card_all_time"] == pytest.approx(
        (40.0 + yen) / 3
    )
    assert values["average_usd_amount_successful_on_card_all_time"] == pytest.approx(10.0)


def test_setup_intents_are_not_charges(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    fx.update(at(payment, 0, is_setup_intent=True), "authorized")
    values = fx.attributes_one(at(payment, 10))
    assert values["total_charges_per_card_number_hourly"] == 0
    assert values["seconds_since_card_first_seen"] == 10
    assert values["is_new_card_on_customer"] is False


def test_pending_then_network_result(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    fx.update(payment, "pending")
    before = fx.attributes_one(at(payment, 5))
    assert before["total_charges_per_card_number_hourly"] == 1
    assert before["authorized_charges_per_card_number_hourly"] == 0
    fx.record_label(payment, "authorized", at=T0 + 2)
    after = fx.attributes_one(at(payment, 5))
    assert after["authorized_charges_per_card_number_hourly"] == 1
    assert after["total_charges_per_card_number_hourly"] == 1
    assert after["total_usd_amount_successful_on_card_all_time"] == pytest.approx(20.0)


def test_labels_feed_their_counters_once_per_payment(
    fx: FeatureExtractor, payment: dict[str, Any]
) -> None:
    fx.update(payment, "authorized")
    fx.record_label(payment, "early_fraud_warning", at=T0 + 86_400)
    fx.record_label(payment, "early_fraud_warning", at=T0 + 86_500)
    fx.record_label(payment, "dispute", at=T0 + 86_600)
    fx.record_label(payment, "fraudulent_refund", at=T0 + 86_700)
    second = at(payment, 86_800, id="ch_2")
    fx.update(second, "authorized")
    fx.record_label(second, "refund", at=T0 + 86_900)
    values = fx.attributes_one(at(payment, 87_000, customer="cus_9"))
    assert values["efw_count_on_card_hourly"] == 1
    assert values["efw_count_on_ip_all_time"] == 1
    assert values["dispute_count_on_card_number_yearly"] == 1
    assert values["dispute_count_on_ip_weekly"] == 1
    assert values["refund_count_on_card_daily"] == 2
    assert values["total_customers_with_prior_fraud_activity_for_card_weekly"] == 1
    assert values["total_customers_with_prior_fraud_activity_for_email_yearly"] == 1
    later = fx.attributes_one(at(payment, 86_400 + 3_900))
    assert later["efw_count_on_card_hourly"] == 0
    assert later["efw_count_on_card_daily"] == 1


def test_unknown_label_and_outcome_are_rejected(
    fx: FeatureExtractor, payment: dict[str, Any]
) -> None:
    with pytest.raises(SchemaError, match="label: must be one of"):
        fx.record_label(payment, "chargeback")
    with pytest.raises(SchemaError, match=r"outcome: must be one of .* got 'approved'"):
        fx.update(payment, "approved")
    with pytest.raises(SchemaError, match="outcome: must be one of"):
        fx.update({**payment, "outcome": "ok"})


def test_out_of_order_event_is_counted_at_the_clock(
    fx: FeatureExtractor, payment: dict[str, Any]
) -> None:
    fx.update(at(payment, 10_000), "authorized")
    fx.update(at(payment, 0, id="ch_old"), "declined")  # 10,000 s in the past
    assert fx.clock == T0 + 10_000
    values = fx.attributes_one(at(payment, 10_000 + 3_000))
    assert values["declined_charges_per_card_number_hourly"] == 1
    assert values["total_charges_per_card_number_hourly"] == 2


def test_snapshot_round_trip(fx: FeatureExtractor, payment: dict[str, Any]) -> None:
    for i in range(40):
        fx.update(at(payment, i * 700, card_fingerprint=f"fp_{i % 7}"), "authorized")
    fx.record_label(payment, "dispute", at=T0 + 30_000)
    data = fx.snapshot()
    restored = FeatureExtractor()
    restored.restore(data)
    assert restored.snapshot() == data
    assert restored.clock == fx.clock
    probe = at(payment, 30_500)
    np.testing.assert_array_equal(restored.extract_one(probe), fx.extract_one(probe))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b"XXXX" + b[4:], "bad magic"),
        (lambda b: b[:4] + b"\x03\x00\x00\x00" + b[8:], "unsupported version 3"),
        (lambda b: b[:-1], "checksum mismatch"),
        (lambda b: b[:40] + bytes([b[40] ^ 1]) + b[41:], "checksum mismatch"),
        (lambda b: b[:6], "bad magic|truncated"),
    ],
)
def test_corrupted_snapshots_are_rejected(
    fx: FeatureExtractor, payment: dict[str, Any], mutate: Any, message: str
) -> None:
    fx.update(payment, "authorized")
    with pytest.raises(SchemaError, match=f"velocity snapshot: .*({message})"):
        FeatureExtractor().restore(mutate(fx.snapshot()))


def test_rebuilding_from_history_gives_the_same_state(payment: dict[str, Any]) -> None:
    history = [
        at(
            payment,
            i * 997,
            card_fingerprint=f"fp_{i % 5}",
            outcome=("authorized", "declined")[i % 2],
        )
        for i in range(60)
    ]
    online = FeatureExtractor()
    for event in history:
        online.extract_one(event)
        online.update(event)
    rebuilt = FeatureExtractor()
    rebuilt.extract_many(history)
    assert rebuilt.snapshot() == online.snapshot()


def test_idle_entities_expire(payment: dict[str, Any]) -> None:
    fx = FeatureExtractor(ttl_seconds=10 * 86_400)
    fx.update(payment, "authorized")
    assert fx.attributes_one(at(payment, 9 * 86_400))["total_charges_per_card_number_all_time"] == 1
    late = at(payment, 11 * 86_400)
    assert fx.attributes_one(late)["total_charges_per_card_number_all_time"] == 0
    assert fx.attributes_one(late)["seconds_since_card_first_seen"] is None
    count = fx.entity_count
    assert fx.expire(T0 + 11 * 86_400) == count
    assert fx.entity_count == 0
    fx.update(late, "authorized")
    assert (
        fx.attributes_one(at(payment, 11 * 86_400 + 5))["total_charges_per_card_number_all_time"]
        == 1
    )


def test_ttl_must_be_positive() -> None:
    with pytest.raises(SchemaError, match="ttl_seconds must be positive"):
        FeatureExtractor(ttl_seconds=0)


def test_memory_is_bounded_per_entity(payment: dict[str, Any]) -> None:
    fx = FeatureExtractor()
    for i in range(3_000):
        fx.update(
            at(payment, i * 200, card_fingerprint=f"fp_{i}", email=f"u{i}@e.com"), "authorized"
        )
    hot = fx.memory_bytes
    for i in range(3_000, 6_000):
        fx.update(
            at(payment, i * 200, card_fingerprint=f"fp_{i}", email=f"u{i}@e.com"), "authorized"
        )
    # The customer, IP, address, device and merchant are hot: their state does not keep growing;
    # growth comes from the new cards and emails, a few hundred bytes each.
    assert (fx.memory_bytes - hot) / 6_000 < 400


def _compare(fx: FeatureExtractor, ref: ReferenceVelocity, event: dict[str, Any]) -> None:
    row = fx.extract_one(event)
    expected = ref.features(event)
    for name, value in expected.items():
        got = row[fx.schema.index(name)]
        if math.isnan(value):
            assert math.isnan(got), (name, got, event)
        else:
            assert got == pytest.approx(value, rel=1e-12, abs=1e-9), (name, got, value, event)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payment_streams(max_size=30, cards=4))
def test_matches_the_reference_on_random_streams(stream: list[tuple[Any, ...]]) -> None:
    rates = default_currency_rates()
    fx = FeatureExtractor(currency_rates=rates)
    ref = ReferenceVelocity(rates)
    payments: list[dict[str, Any]] = []
    for operation in stream:
        if operation[0] == "pay":
            _, event, outcome = operation
            _compare(fx, ref, event)
            fx.update(event, outcome)
            ref.update(event, outcome)
            payments.append(event)
        else:
            _, target, label, delay = operation
            event = payments[target]
            when = max(fx.clock, event["created"]) + delay
            fx.record_label(event, label, at=when)
            ref.record_label(event, label, at=when)
    if payments:
        _compare(fx, ref, {**payments[-1], "id": "probe", "created": fx.clock + 1})


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payment_streams(max_size=80, cards=60, crowded=True))
def test_matches_the_reference_when_sets_overflow(stream: list[tuple[Any, ...]]) -> None:
    test_matches_the_reference_on_random_streams.hypothesis.inner_test(stream)  # type: ignore[attr-defined]
