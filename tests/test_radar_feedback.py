"""Fraud feedback: fraudulent refunds, fraud reports, reviews, early fraud warnings, disputes,
"add to allow list", and the labels they feed to the velocity counters and training data."""

from __future__ import annotations

from typing import Any

import pytest

from radarcore import CardError, InvalidRequestError
from radarcore.radar import Radar

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}


def customer_card(radar: Radar, email: str = "jane@example.com") -> tuple[Any, Any]:
    customer = radar.customers.create(email=email, description="Jane, ops: jane.ops@example.org")
    pm = radar.payment_methods.create(
        type="card", card=CARD, customer=customer.id, billing_details={"name": "Jane Doe"}
    )
    return customer, pm


def pay(radar: Radar, pm: Any, amount: int = 5_000, **kwargs: Any) -> Any:
    return radar.payment_intents.create(
        amount=amount,
        currency="usd",
        payment_method=pm.id,
        customer=pm.customer,
        confirm=True,
        **kwargs,
    )


def list_values(radar: Radar, alias: str) -> list[str]:
    value_list = radar.value_lists.list(alias=alias).data[0]
    return sorted(i.value for i in radar.value_list_items.list(value_list=value_list.id, limit=100))


def test_fraudulent_refund_blocks_card_and_emails_and_labels(radar: Radar, clock: Any) -> None:
    customer, pm = customer_card(radar)
    other = radar.payment_methods.create(
        type="card", card={**CARD, "number": "5555555555554444"}, customer=customer.id
    )
    pi = pay(radar, pm, receipt_email="receipt@example.com")
    clock.advance(60)
    refund = radar.refunds.create(payment_intent=pi.id, reason="fraudulent")
    assert (refund.amount, refund.reason, refund.charge) == (5_000, "fraudulent", pi.latest_charge)
    charge = radar.charges.retrieve(pi.latest_charge)
    assert charge.fraud_details.to_dict() == {"user_report": "fraudulent"}
    assert (charge.refunded, charge.amount_refunded) == (True, 5_000)
    assert list_values(radar, "default_card_fingerprint_block_list") == sorted(
        [pm.card.fingerprint, other.card.fingerprint]
    )
    assert list_values(radar, "default_email_block_list") == [
        "jane.ops@example.org",
        "jane@example.com",
        "receipt@example.com",
    ]
    attributes = radar.velocity_attributes(charge.event)
    assert attributes["refund_count_on_card_all_time"] == 1.0
    clock.advance(60)
    with pytest.raises(CardError) as info:
        pay(radar, pm)
    assert info.value.decline_code == "merchant_blacklist"
    labelled = {row["id"]: row for row in radar.training_events()}
    assert labelled[charge.id]["is_fraud"]
    assert labelled[charge.id]["labels"] == ["fraudulent_refund"]


def test_fraud_report_after_a_plain_refund(radar: Radar) -> None:
    _, pm = customer_card(radar)
    pi = pay(radar, pm)
    radar.refunds.create(charge=pi.latest_charge, reason="requested_by_customer")
    assert list_values(radar, "default_card_fingerprint_block_list") == []
    charge = radar.charges.update(pi.latest_charge, fraud_details={"user_report": "fraudulent"})
    assert charge.fraud_details.user_report == "fraudulent"
    assert list_values(radar, "default_card_fingerprint_block_list") == [pm.card.fingerprint]
    labels = [row["labels"] for row in radar.training_events()]
    assert labels == [["refund", "fraudulent_refund"]]


def test_partial_refunds_and_refund_errors(radar: Radar) -> None:
    _, pm = customer_card(radar)
    pi = pay(radar, pm)
    radar.refunds.create(charge=pi.latest_charge, amount=2_000)
    with pytest.raises(InvalidRequestError, match="greater than unrefunded amount") as info:
        radar.refunds.create(charge=pi.latest_charge, amount=4_000)
    assert info.value.param == "amount"
    radar.refunds.create(charge=pi.latest_charge)
    with pytest.raises(InvalidRequestError, match="has already been refunded") as info:
        radar.refunds.create(charge=pi.latest_charge)
    assert info.value.code == "charge_already_refunded"
    with pytest.raises(InvalidRequestError, match="One of `charge` or `payment_intent`"):
        radar.refunds.create(reason="duplicate")
    assert len(radar.refunds.list(charge=pi.latest_charge)) == 2


def test_reviews_close_on_approve(radar: Radar) -> None:
    _, pm = customer_card(radar)
    first = pay(radar, pm, 50_000)
    second = pay(radar, pm, 60_000)
    assert [r.id for r in radar.reviews.list()] == [second.review, first.review]
    review = radar.reviews.approve(first.review)
    assert (review.open, review.closed_reason, review.reason) == (False, "approved", "approved")
    assert [r.id for r in radar.reviews.list()] == [second.review]
    assert radar.payment_intents.retrieve(first.id).status == "succeeded"
    with pytest.raises(InvalidRequestError, match="already closed"):
        radar.reviews.approve(first.review)


@pytest.mark.parametrize(
    ("action", "closed_reason"),
    [
        (lambda r, pi: r.refunds.create(payment_intent=pi.id), "refunded"),
        (
            lambda r, pi: r.refunds.create(payment_intent=pi.id, reason="fraudulent"),
            "refunded_as_fraud",
        ),
        (lambda r, pi: r.disputes.create(charge=pi.latest_charge), "disputed"),
    ],
)
def test_reviews_close_on_refund_and_dispute(radar: Radar, action: Any, closed_reason: str) -> None:
    _, pm = customer_card(radar)
    pi = pay(radar, pm, 50_000)
    action(radar, pi)
    review = radar.reviews.retrieve(pi.review)
    assert (review.open, review.closed_reason, review.reason) == (
        False,
        closed_reason,
        closed_reason,
    )
    assert radar.reviews.list().data == []


def test_canceling_an_uncaptured_payment_closes_its_review(radar: Radar) -> None:
    _, pm = customer_card(radar)
    pi = pay(radar, pm, 50_000, capture_method="manual")
    assert pi.status == "requires_capture"
    radar.payment_intents.cancel(pi.id)
    assert radar.reviews.retrieve(pi.review).closed_reason == "canceled"


def test_early_fraud_warning_labels_the_payment(radar: Radar) -> None:
    _, pm = customer_card(radar)
    pi = pay(radar, pm)
    warning = radar.early_fraud_warnings.create(
        charge=pi.latest_charge, fraud_type="made_with_stolen_card"
    )
    assert (warning.actionable, warning.payment_intent, warning.fraud_type) == (
        True,
        pi.id,
        "made_with_stolen_card",
    )
    assert [w.id for w in radar.early_fraud_warnings.list(charge=pi.latest_charge)] == [warning.id]
    charge = radar.charges.retrieve(pi.latest_charge)
    assert radar.velocity_attributes(charge.event)["efw_count_on_card_all_time"] == 1.0
    radar.disputes.create(charge=charge.id)
    assert not radar.early_fraud_warnings.retrieve(warning.id).actionable
    assert radar.velocity_attributes(charge.event)["dispute_count_on_card_number_all_time"] == 1.0
    assert [row["labels"] for row in radar.training_events()] == [
        ["early_fraud_warning", "dispute"]
    ]
    with pytest.raises(InvalidRequestError, match="Invalid fraud_type: must be one of") as info:
        radar.early_fraud_warnings.create(charge=charge.id, fraud_type="bored")
    assert info.value.param == "fraud_type"


def test_a_non_fraud_dispute_does_not_label(radar: Radar) -> None:
    _, pm = customer_card(radar)
    pi = pay(radar, pm)
    dispute = radar.disputes.create(charge=pi.latest_charge, reason="product_not_received")
    assert radar.disputes.retrieve(dispute.id).reason == "product_not_received"
    assert radar.charges.retrieve(pi.latest_charge).disputed
    assert [row["labels"] for row in radar.training_events()] == [[]]
    with pytest.raises(InvalidRequestError, match="already been disputed"):
        radar.disputes.create(charge=pi.latest_charge)


def test_add_to_allow_list_on_a_blocked_payment(radar: Radar, clock: Any) -> None:
    _, pm = customer_card(radar)
    pi = pay(radar, pm)
    radar.refunds.create(payment_intent=pi.id, reason="fraudulent")
    with pytest.raises(CardError):
        pay(radar, pm)
    blocked = radar.charges.list().data[0]
    radar.charges.add_to_allow_list(blocked.id)
    assert list_values(radar, "default_card_fingerprint_allow_list") == [pm.card.fingerprint]
    assert pay(radar, pm).status == "succeeded"
    assert list_values(radar, "default_email_allow_list") == ["jane@example.com"]
    email_allow = radar.value_lists.list(alias="default_email_allow_list").data[0]
    for item in radar.value_list_items.list(value_list=email_allow.id):
        radar.value_list_items.delete(item.id)
    assert pay(radar, pm).status == "succeeded"
    clock.advance(31 * 86_400)
    with pytest.raises(CardError):
        pay(radar, pm)
    with pytest.raises(InvalidRequestError, match="Only a payment Radar blocked"):
        radar.charges.add_to_allow_list(pi.latest_charge)
