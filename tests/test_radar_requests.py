"""Radar Sessions on-session and off-session, request checking with Stripe's messages (nothing
written for a rejected request), and idempotency keys."""

from __future__ import annotations

from typing import Any

import pytest

from radarcore import CardError, IdempotencyError, InvalidRequestError
from radarcore.objects import OBJECT_TYPES
from radarcore.radar import Radar

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}


def everything(radar: Radar) -> tuple[Any, ...]:
    """The whole stored state: every object of every type and the event log."""
    objects = {
        kind: sorted(o.id for o in radar.store.list(kind, limit=None)[0])  # type: ignore[attr-defined]
        for kind in OBJECT_TYPES
    }
    return objects, [e.seq for e in radar.store.events()], radar.velocity_snapshot()


def test_on_session_payment_carries_both_sessions(radar: Radar) -> None:
    saved = radar.radar_sessions.create(
        ip_address="198.51.100.4",
        device_id="dev-saved",
        user_agent="Mozilla/5.0 (X11; Linux x86_64)",
    )
    pm = radar.payment_methods.create(type="card", card=CARD, radar_options={"session": saved.id})
    assert pm.radar_options.session == saved.id
    now = radar.radar_sessions.create(
        ip_address="203.0.113.7",
        device_id="dev-now",
        user_agent="Mozilla/5.0 (iPhone)",
        timezone_offset=60,
        automation=False,
    )
    pi = radar.payment_intents.create(
        amount=5_000,
        currency="usd",
        payment_method=pm.id,
        confirm=True,
        radar_options={"session": now.id},
    )
    assert radar.payment_intents.retrieve(pi.id).to_dict()["radar_options"] == {"session": now.id}
    charge = radar.charges.retrieve(pi.latest_charge)
    assert charge.to_dict()["radar_options"] == {"session": now.id}
    event = charge.event
    assert (event["ip_address"], event["device_id"], event["user_agent"]) == (
        "203.0.113.7",
        "dev-now",
        "Mozilla/5.0 (iPhone)",
    )
    assert (event["pm_ip_address"], event["pm_device_id"]) == ("198.51.100.4", "dev-saved")
    assert event["session_timezone_offset"] == 60
    assert radar.velocity_attributes(event)["user_agent"] == "Mozilla/5.0 (iPhone)"


def test_off_session_payment_uses_the_payment_method_session(radar: Radar) -> None:
    saved = radar.radar_sessions.create(ip_address="198.51.100.4", device_id="dev-saved")
    customer = radar.customers.create(email="jane@example.com")
    setup = radar.setup_intents.create(
        customer=customer.id,
        confirm=True,
        payment_method_data={"type": "card", "card": CARD, "radar_options": {"session": saved.id}},
    )
    assert setup.status == "succeeded"
    pi = radar.payment_intents.create(
        amount=5_000,
        currency="usd",
        customer=customer.id,
        payment_method=setup.payment_method,
        confirm=True,
        off_session=True,
    )
    charge = radar.charges.retrieve(pi.latest_charge)
    assert charge.radar_options is None
    event = charge.event
    assert (event["is_off_session"], event.get("ip_address"), event["pm_ip_address"]) == (
        True,
        None,
        "198.51.100.4",
    )
    assert radar.velocity_attributes(event)["is_off_session"] is True


def test_session_on_confirm(radar: Radar) -> None:
    session = radar.radar_sessions.create(ip_address="203.0.113.7")
    pi = radar.payment_intents.create(amount=5_000, currency="usd", payment_method="pm_card_visa")
    assert pi.status == "requires_confirmation"
    pi = radar.payment_intents.confirm(pi.id, radar_options={"session": session.id})
    assert pi.radar_options.session == session.id
    assert radar.charges.retrieve(pi.latest_charge).radar_options.session == session.id


def test_session_on_create_requires_confirm(radar: Radar) -> None:
    session = radar.radar_sessions.create(ip_address="203.0.113.7")
    before = everything(radar)
    with pytest.raises(
        InvalidRequestError, match=r"You can only pass `radar_options` when `confirm` is `true`."
    ) as info:
        radar.payment_intents.create(
            amount=5_000,
            currency="usd",
            payment_method="pm_card_visa",
            radar_options={"session": session.id},
        )
    assert info.value.param == "radar_options"
    assert everything(radar) == before


BAD_REQUESTS = [
    ({"colour": "red"}, "Received unknown parameter: colour", "colour", "parameter_unknown"),
    (
        {"radar_options": {"session": "rse_x", "x": 1}, "confirm": True},
        "Received unknown parameter: radar_options[x]",
        "radar_options[x]",
        "parameter_unknown",
    ),
    ({"amount": None}, "Missing required param: amount.", "amount", "parameter_missing"),
    ({"amount": "ten"}, "Invalid integer: ten", "amount", "parameter_invalid_integer"),
    ({"amount": True}, "Invalid integer: True", "amount", "parameter_invalid_integer"),
    (
        {"amount": 0},
        "This value must be greater than or equal to 1.",
        "amount",
        "parameter_invalid_integer",
    ),
    (
        {"amount": 100_000_000},
        "Amount must be no more than $999,999.99",
        "amount",
        "amount_too_large",
    ),
    ({"amount": 49}, "Amount must be at least $0.50 usd", "amount", "amount_too_small"),
    ({"currency": "zzz"}, "Invalid currency: zzz.", "currency", None),
    ({"confirm": "maybe"}, "Invalid boolean: maybe", "confirm", None),
    ({"metadata": "x"}, "Invalid object", "metadata", None),
    (
        {"description": ""},
        "You passed an empty string for 'description'.",
        "description",
        "parameter_invalid_empty",
    ),
    (
        {"capture_method": "later"},
        "Invalid capture_method: must be one of automatic, automatic_async, or manual",
        "capture_method",
        None,
    ),
    (
        {"customer": "cus_missing"},
        "No such customer: 'cus_missing'",
        "customer",
        "resource_missing",
    ),
    (
        {"payment_method": "pm_missing"},
        "No such PaymentMethod: 'pm_missing'",
        "payment_method",
        "resource_missing",
    ),
    (
        {"confirm": True, "radar_options": {"session": "rse_missing"}},
        "No such radar session: 'rse_missing'",
        "radar_options[session]",
        "resource_missing",
    ),
    (
        {
            "payment_method": None,
            "payment_method_data": {"type": "card", "card": {"number": "1234"}},
        },
        "Your card number is incorrect.",
        "payment_method_data[card][number]",
        "incorrect_number",
    ),
    (
        {"payment_method": None, "payment_method_data": {"type": "card"}},
        "Missing required param: payment_method_data[card].",
        "payment_method_data[card]",
        "parameter_missing",
    ),
]


@pytest.mark.parametrize(("change", "message", "param", "code"), BAD_REQUESTS)
def test_bad_payment_intent_requests(
    radar: Radar, change: dict[str, Any], message: str, param: str, code: str | None
) -> None:
    request: dict[str, Any] = {"amount": 5_000, "currency": "usd", "payment_method": "pm_card_visa"}
    request.update(change)
    request = {k: v for k, v in request.items() if v is not None}
    before = everything(radar)
    with pytest.raises((InvalidRequestError, CardError)) as info:
        radar.payment_intents.create(request)
    assert str(info.value).startswith(message)
    assert (info.value.param, info.value.code) == (param, code)
    assert info.value.to_dict()["error"]["message"] == str(info.value)
    assert everything(radar) == before


def test_unknown_objects_are_resource_missing(radar: Radar) -> None:
    for call, noun, param in [
        (lambda: radar.payment_intents.retrieve("pi_nope"), "payment_intent", "intent"),
        (lambda: radar.charges.retrieve("ch_nope"), "charge", "charge"),
        (lambda: radar.reviews.approve("prv_nope"), "review", "review"),
        (lambda: radar.radar_sessions.retrieve("rse_nope"), "radar session", "id"),
        (lambda: radar.refunds.create(charge="ch_nope"), "charge", "charge"),
    ]:
        with pytest.raises(InvalidRequestError, match=f"No such {noun}: ") as info:
            call()
        assert (info.value.code, info.value.param, info.value.http_status) == (
            "resource_missing",
            param,
            404,
        )


def test_bad_session_and_payment_method_requests(radar: Radar) -> None:
    before = everything(radar)
    with pytest.raises(InvalidRequestError, match=r"Invalid IP address: 300\.1\.1\.1") as info:
        radar.radar_sessions.create(ip_address="300.1.1.1")
    assert info.value.param == "ip_address"
    with pytest.raises(InvalidRequestError, match=r"Missing required param: type\.") as info:
        radar.payment_methods.create(card=CARD)
    assert info.value.param == "type"
    with pytest.raises(CardError, match="expiration month is invalid") as card_info:
        radar.payment_methods.create(type="card", card={**CARD, "exp_month": 13})
    assert (card_info.value.param, card_info.value.code) == (
        "card[exp_month]",
        "invalid_expiry_month",
    )
    with pytest.raises(InvalidRequestError, match="Invalid integer: x") as info:
        radar.radar_sessions.create(timezone_offset="x")
    assert info.value.param == "timezone_offset"
    assert everything(radar) == before


def test_idempotent_create_returns_the_first_result(radar: Radar) -> None:
    request = {
        "amount": 5_000,
        "currency": "usd",
        "payment_method": "pm_card_visa",
        "confirm": True,
    }
    first = radar.payment_intents.create(request, idempotency_key="order-1")
    again = radar.payment_intents.create(request, idempotency_key="order-1")
    assert again.to_dict() == first.to_dict()
    assert len(radar.charges.list()) == 1
    with pytest.raises(IdempotencyError, match="Keys for idempotent requests") as info:
        radar.payment_intents.create({**request, "amount": 6_000}, idempotency_key="order-1")
    assert info.value.http_status == 400
    assert info.value.to_dict()["error"]["type"] == "idempotency_error"


def test_idempotent_blocked_payment_replays_the_error(radar: Radar) -> None:
    request = {
        "amount": 5_000,
        "currency": "usd",
        "confirm": True,
        "payment_method": "pm_card_chargeDeclinedFraudulent",
    }
    with pytest.raises(CardError) as first:
        radar.payment_intents.create(request, idempotency_key="k-blocked")
    with pytest.raises(CardError) as again:
        radar.payment_intents.create(request, idempotency_key="k-blocked")
    assert again.value.to_dict() == first.value.to_dict()
    assert len(radar.charges.list()) == 1
    assert len(list(radar.store.events())) == 1


def test_rejected_requests_are_not_remembered(radar: Radar) -> None:
    with pytest.raises(InvalidRequestError):
        radar.payment_intents.create(amount=1, currency="usd", idempotency_key="k-bad")
    pi = radar.payment_intents.create(amount=5_000, currency="usd", idempotency_key="k-bad")
    assert pi.amount == 5_000


def test_params_dict_and_keywords_read_the_same(radar: Radar) -> None:
    a = radar.customers.create({"email": "a@example.com"}, name="A")
    assert (a.email, a.name) == ("a@example.com", "A")
    assert radar.customers.retrieve(a.id) == a


def test_a_failing_event_sink_rolls_the_request_back(radar: Radar) -> None:
    """The request's events go to ``event_sink`` inside its transaction: when the sink fails
    nothing is written, the velocity state is unchanged, and the engine takes the next request."""
    pm = radar.payment_methods.create(type="card", card=CARD)
    before = everything(radar)
    received: list[list[str]] = []

    def failing_sink(unit: Any) -> None:
        received.append([kind for kind, _ in unit.events])
        raise RuntimeError("sink down")

    radar.event_sink = failing_sink
    with pytest.raises(RuntimeError, match="sink down"):
        radar.payment_intents.create(
            amount=5_000, currency="usd", payment_method=pm.id, confirm=True
        )
    assert received == [["charge.succeeded", "payment_intent.succeeded"]]
    assert everything(radar) == before
    radar.event_sink = None
    pi = radar.payment_intents.create(
        amount=5_000, currency="usd", payment_method=pm.id, confirm=True
    )
    assert pi.status == "succeeded"
    assert everything(radar) != before


def test_nested_units_commit_once_with_the_outer_one(radar: Radar) -> None:
    """``radar.unit()`` is re-entrant: writes inside a nested unit commit with the outer one,
    and roll back with it."""
    before = everything(radar)

    def pay_then_fail() -> None:
        with radar.unit():
            radar.payment_methods.create(type="card", card=CARD)
            with radar.unit():
                radar.customers.create(email="nested@example.com")
            raise RuntimeError("outer fails")

    with pytest.raises(RuntimeError, match="outer fails"):
        pay_then_fail()
    assert everything(radar) == before
    with radar.unit():
        radar.payment_methods.create(type="card", card=CARD)
        with radar.unit():
            radar.customers.create(email="nested@example.com")
    objects = everything(radar)[0]
    assert len(objects["payment_method"]) == len(before[0]["payment_method"]) + 1
    assert len(objects["customer"]) == len(before[0]["customer"]) + 1
