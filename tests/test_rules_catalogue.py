"""The attribute catalogue: Stripe's names, types, case sensitivity and the velocity families."""

from __future__ import annotations

import pytest

from radarcore.rules import ATTRIBUTES, ValueType, attribute_names, lookup
from radarcore.rules.catalogue import CURRENCIES


@pytest.mark.parametrize(
    "name",
    [
        "total_charges_per_card_number_hourly",
        "card_count_for_email_daily",
        "declined_charges_per_card_number_daily",
        "name_count_for_card_weekly",
        "email_count_for_ip_hourly",
        "email_count_for_card_transactions_weekly",
        "total_transactions_per_payment_instrument_fingerprint_all_time",
        "total_customers_with_prior_fraud_activity_for_card_yearly",
        "dispute_count_on_card_number_yearly",
        "seconds_since_email_first_seen_on_stripe",
        "hours_since_first_successful_auth_on_payment_instrument_fingerprint",
        "average_usd_amount_successful_on_customer_all_time",
        "fraudulent_dispute_score",
        "amount_in_khr",
    ],
)
def test_documented_names_exist(name: str) -> None:
    assert lookup(name) is not None


@pytest.mark.parametrize(
    "name",
    [
        "email_count_for_ip_address_daily",
        "is_new_customer",
        "total_transactions_per_card_number_all_time",
        "card_count_for_card_daily",
        "dispute_count_on_card_number_daily",
    ],
)
def test_names_outside_the_reference_do_not_exist(name: str) -> None:
    assert lookup(name) is None


def test_family_sizes_follow_the_tables() -> None:
    names = set(attribute_names())
    charges = [n for n in names if "_charges_per_" in n]
    assert len(charges) == 4 * 6 * 4
    per_entity = [n for n in names if "_transactions_per_" in n and "instrument" not in n]
    assert len(per_entity) == 4 * 6 * 3
    assert len([n for n in names if n.startswith("card_count_for_")]) == 5 * (4 + 3)
    assert len([n for n in names if n.startswith("email_count_for_")]) == 4 * (4 + 3)
    assert len([n for n in names if n.startswith("amount_in_")]) == len(CURRENCIES) == 34
    assert len([n for n in names if n.split("_")[0] in ("hours", "minutes", "seconds")]) == 36
    assert len(names) == len(ATTRIBUTES)


def test_types_case_sensitivity_and_post_authorization() -> None:
    assert {a.name for a in ATTRIBUTES if a.post_authorization} == {
        "cvc_check",
        "address_zip_check",
        "address_line1_check",
    }
    for name in ("card_fingerprint", "customer", "destination", "account", "cvc_check"):
        attribute = lookup(name)
        assert attribute is not None
        assert attribute.case_sensitive
    for name in ("email", "risk_level", "card_country", "ip_state", "cardholder_name"):
        attribute = lookup(name)
        assert attribute is not None
        assert not attribute.case_sensitive
    bounded = [a for a in ATTRIBUTES if a.value_type is ValueType.BOUNDED_NUMERIC]
    assert bounded
    assert all(a.bound == 25 for a in bounded)
    risk_level = lookup("risk_level")
    assert risk_level is not None
    assert risk_level.allowed_values == {
        "normal",
        "elevated",
        "highest",
        "not_assessed",
    }
    is_anonymous_ip = lookup("is_anonymous_ip")
    assert is_anonymous_ip is not None
    assert is_anonymous_ip.value_type is ValueType.BOOLEAN
    ip_state = lookup("ip_state")
    assert ip_state is not None
    assert ip_state.value_type is ValueType.STATE
