"""The official ``stripe`` package against ``radarcore serve``'s app on loopback: the payment
flow with a Radar Session, blocked payments, reviews, refunds, lists and early fraud warnings;
every response validated against the schemas of Stripe's subset."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from server_support import PUBLISHABLE, validate

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}


def _session(server: Any, **params: Any) -> str:
    client = server.client(PUBLISHABLE)
    response = client.raw_request(
        "post",
        "/v1/radar/sessions",
        ip_address="203.0.113.7",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0",
        **params,
    )
    session = client.deserialize(response, api_mode="V1")
    assert session.id.startswith("rse_")
    return str(session.id)


def test_payment_with_radar_session_round_trips(server: Any) -> None:
    session = _session(server, device_id="dev_1")
    client = server.client()
    pm = client.v1.payment_methods.create(
        {"type": "card", "card": CARD, "radar_options": {"session": session}}
    )
    validate("payment_method", pm.to_dict())
    assert pm.to_dict()["radar_options"] == {"session": session}
    pi = client.v1.payment_intents.create(
        {
            "amount": 2000,
            "currency": "usd",
            "payment_method": pm.id,
            "confirm": True,
            "radar_options": {"session": session},
        }
    )
    assert pi.status == "succeeded"
    fetched = client.v1.payment_intents.retrieve(pi.id)
    validate("payment_intent", fetched.to_dict())
    assert fetched.to_dict()["radar_options"] == {"session": session}
    charge = client.v1.charges.retrieve(fetched.latest_charge)
    validate("charge", charge.to_dict())
    assert charge.to_dict()["radar_options"] == {"session": session}
    assert charge.outcome.type == "authorized"
    assert charge.outcome.risk_level == "normal"
    assert charge.outcome.risk_score == 61
    assert client.v1.payment_methods.retrieve(pm.id).to_dict()["radar_options"] == {
        "session": session
    }


def test_expand_latest_charge_and_lists(server: Any) -> None:
    client = server.client()
    pi = client.v1.payment_intents.create(
        {
            "amount": 1500,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "expand": ["latest_charge"],
        }
    )
    assert isinstance(pi.latest_charge, stripe.Charge)
    validate("charge", pi.latest_charge.to_dict())
    page = client.v1.charges.list({"limit": 1, "expand": ["data.payment_intent"]})
    assert page.has_more is False
    assert page.data[0].payment_intent.id == pi.id
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.retrieve(pi.id, {"expand": ["amount"]})
    assert error.value.param == "expand"


def test_list_pagination(server: Any) -> None:
    client = server.client()
    ids = [
        client.v1.payment_intents.create({"amount": 1000 + i, "currency": "usd"}).id
        for i in range(5)
    ]
    first = client.v1.payment_intents.list({"limit": 2})
    assert first.object == "list"
    assert first.has_more is True
    assert [p.id for p in first.data] == ids[::-1][:2]
    second = client.v1.payment_intents.list({"limit": 2, "starting_after": first.data[-1].id})
    assert [p.id for p in second.data] == ids[::-1][2:4]
    everything = [p.id for p in client.v1.payment_intents.list({"limit": 2}).auto_paging_iter()]
    assert everything == ids[::-1]


def test_blocked_payment_is_a_card_error(server: Any) -> None:
    client = server.client()
    with pytest.raises(stripe.CardError) as error:
        client.v1.payment_intents.create(
            {
                "amount": 250_000,
                "currency": "usd",
                "payment_method_data": {"type": "card", "card": CARD},
                "confirm": True,
            }
        )
    assert error.value.http_status == 402
    assert error.value.code == "card_declined"
    assert error.value.error.decline_code == "fraudulent"
    assert error.value.request_id.startswith("req_")
    failed = error.value.error.payment_intent
    assert failed.status == "requires_payment_method"
    assert failed.last_payment_error.decline_code == "fraudulent"
    assert error.value.error.charge == failed.latest_charge
    validate("payment_intent", failed.to_dict())
    charges = client.v1.charges.list({"limit": 1}).data
    assert charges[0].outcome.type == "blocked"
    assert charges[0].outcome.risk_level == "highest"
    validate("charge", charges[0].to_dict())


def test_review_then_approve(server: Any) -> None:
    client = server.client()
    pi = client.v1.payment_intents.create(
        {"amount": 50_000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    assert pi.status == "succeeded"
    reviews = client.v1.reviews.list()
    assert len(reviews.data) == 1
    review = reviews.data[0]
    validate("review", review.to_dict())
    assert review.open is True
    assert review.payment_intent == pi.id
    approved = client.v1.reviews.approve(review.id)
    assert approved.open is False
    assert approved.closed_reason == "approved"
    assert client.v1.reviews.list().data == []
    assert client.v1.reviews.retrieve(review.id).reason == "approved"


def test_fraudulent_refund_blocks_the_card(server: Any) -> None:
    client = server.client()
    pm = client.v1.payment_methods.create({"type": "card", "card": CARD})
    pi = client.v1.payment_intents.create(
        {"amount": 3000, "currency": "usd", "payment_method": pm.id, "confirm": True}
    )
    refund = client.v1.refunds.create({"payment_intent": pi.id, "reason": "fraudulent"})
    validate("refund", refund.to_dict())
    assert refund.reason == "fraudulent"
    assert refund.amount == 3000
    assert client.v1.refunds.retrieve(refund.id).charge == pi.latest_charge
    assert [r.id for r in client.v1.refunds.list({"charge": pi.latest_charge}).data] == [refund.id]
    block = client.v1.radar.value_lists.list({"alias": "default_card_fingerprint_block_list"})
    items = client.v1.radar.value_list_items.list({"value_list": block.data[0].id})
    assert [i.value for i in items.data] == [pm.card.fingerprint]
    with pytest.raises(stripe.CardError) as error:
        client.v1.payment_intents.create(
            {"amount": 3000, "currency": "usd", "payment_method": pm.id, "confirm": True}
        )
    assert error.value.error.decline_code == "merchant_blacklist"


def test_value_lists_and_items_round_trip(server: Any) -> None:
    client = server.client()
    created = client.v1.radar.value_lists.create(
        {"alias": "blocked_ips", "name": "Blocked IPs", "item_type": "ip_address"}
    )
    validate("radar.value_list", created.to_dict())
    item = client.v1.radar.value_list_items.create(
        {"value_list": created.id, "value": "198.51.100.7"}
    )
    validate("radar.value_list_item", item.to_dict())
    fetched = client.v1.radar.value_lists.retrieve(created.id)
    assert [i.value for i in fetched.list_items.data] == ["198.51.100.7"]
    renamed = client.v1.radar.value_lists.update(created.id, {"name": "Bad IPs"})
    assert renamed.name == "Bad IPs"
    assert client.v1.radar.value_list_items.retrieve(item.id).value == "198.51.100.7"
    deleted = client.v1.radar.value_list_items.delete(item.id)
    validate("deleted_radar.value_list_item", deleted.to_dict())
    assert deleted.deleted is True
    gone = client.v1.radar.value_lists.delete(created.id)
    validate("deleted_radar.value_list", gone.to_dict())
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.radar.value_lists.retrieve(created.id)
    assert error.value.http_status == 404


def test_early_fraud_warning_round_trip(server: Any) -> None:
    client = server.client()
    pi = client.v1.payment_intents.create(
        {"amount": 4000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    response = client.raw_request(
        "post",
        "/v1/radar/early_fraud_warnings",
        charge=pi.latest_charge,
        fraud_type="made_with_stolen_card",
    )
    warning = client.deserialize(response, api_mode="V1")
    fetched = client.v1.radar.early_fraud_warnings.retrieve(warning.id)
    validate("radar.early_fraud_warning", fetched.to_dict())
    assert fetched.charge == pi.latest_charge
    assert fetched.actionable is True
    listed = client.v1.radar.early_fraud_warnings.list({"payment_intent": pi.id})
    assert [w.id for w in listed.data] == [warning.id]


def test_capture_and_cancel(server: Any) -> None:
    client = server.client()
    pi = client.v1.payment_intents.create(
        {
            "amount": 2500,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "capture_method": "manual",
        }
    )
    assert pi.status == "requires_capture"
    captured = client.v1.payment_intents.capture(pi.id)
    assert captured.status == "succeeded"
    assert captured.amount_received == 2500
    other = client.v1.payment_intents.create({"amount": 900, "currency": "usd"})
    canceled = client.v1.payment_intents.cancel(other.id, {"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled"
    validate("payment_intent", canceled.to_dict())
    later = client.v1.payment_intents.create({"amount": 900, "currency": "usd"})
    confirmed = client.v1.payment_intents.confirm(later.id, {"payment_method": "pm_card_visa"})
    assert confirmed.status == "succeeded"


def test_setup_intent_and_charges_api(server: Any) -> None:
    client = server.client()
    setup = client.v1.setup_intents.create(
        {"payment_method": "pm_card_visa", "confirm": True, "usage": "off_session"}
    )
    validate("setup_intent", setup.to_dict())
    assert setup.status == "succeeded"
    assert client.v1.setup_intents.retrieve(setup.id).id == setup.id
    charge = client.v1.charges.create(
        {"amount": 1200, "currency": "usd", "source": "tok_visa", "capture": False}
    )
    validate("charge", charge.to_dict())
    assert client.v1.charges.capture(charge.id).captured is True
    updated = client.v1.charges.update(charge.id, {"metadata": {"order": "42"}})
    assert updated.metadata.to_dict() == {"order": "42"}


def test_idempotent_requests(server: Any) -> None:
    client = server.client()
    params = {"amount": 2000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    first = client.v1.payment_intents.create(params, {"idempotency_key": "order-1"})
    again = client.v1.payment_intents.create(params, {"idempotency_key": "order-1"})
    assert again.id == first.id
    assert len(client.v1.charges.list().data) == 1
    with pytest.raises(stripe.IdempotencyError) as error:
        client.v1.payment_intents.create({**params, "amount": 3000}, {"idempotency_key": "order-1"})
    assert error.value.http_status == 400


def test_payment_evaluation(server: Any) -> None:
    with server.http() as http:
        response = http.post(
            "/v1/radar/payment_evaluations",
            data={
                "customer_details[email]": "jane@example.com",
                "payment_details[amount]": "2000",
                "payment_details[currency]": "usd",
                "payment_details[payment_method_details][billing_details][name]": "Jane",
            },
        )
        body = response.json()
        assert response.status_code == 200, body
        assert body["object"] == "radar.payment_evaluation"
        fetched = http.get(f"/v1/radar/payment_evaluations/{body['id']}").json()
        assert fetched["id"] == body["id"]
