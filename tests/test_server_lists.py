"""List filters and update endpoints over HTTP with the official ``stripe`` package: cursors in
both directions (``auto_paging_iter``), ``created`` ranges, the subset's per-resource filters,
and the updates of PaymentIntents, PaymentMethods, Refunds, Customers and value lists with
Stripe's rules on what may change in which state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from conftest import START, Clock
from engine_model import stepped_model
from server_support import PUBLISHABLE, SECRET, Running, serve_in_thread, validate

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}


@pytest.fixture
def timed(tmp_path: Path) -> Iterator[tuple[Running, Clock]]:
    """The server on an engine whose clock the test sets, so objects get known ``created``."""
    from radarcore.radar import Radar
    from radarcore.server import ServerConfig, create_app

    url = f"sqlite:///{tmp_path / 'lists.db'}"
    clock = Clock()
    config = ServerConfig(database_url=url, secret_keys=(SECRET,), publishable_keys=(PUBLISHABLE,))
    engine = Radar(url, model=stepped_model(), clock=clock)  # type: ignore[arg-type]
    try:
        with serve_in_thread(create_app(config, radar=engine)) as running:
            yield running, clock
    finally:
        engine.close()


def _pay(client: Any, clock: Clock, **extra: Any) -> Any:
    clock.advance(10)
    return client.v1.payment_intents.create(
        {"amount": 1000, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
        | extra
    )


def test_auto_paging_walks_both_directions(timed: tuple[Running, Clock]) -> None:
    running, clock = timed
    client = running.client()
    made = [_pay(client, clock).id for _ in range(7)]
    newest_first = made[::-1]
    forward = [pi.id for pi in client.v1.payment_intents.list({"limit": 3}).auto_paging_iter()]
    assert forward == newest_first
    # Backwards from the oldest: stripe-python reads pages with ending_before=data[0].id and
    # yields each page reversed, so the walk is oldest first.
    backward = client.v1.payment_intents.list({"limit": 3, "ending_before": made[0]})
    assert [pi.id for pi in backward.data] == newest_first[3:6]
    assert backward.has_more is True
    assert [pi.id for pi in backward.auto_paging_iter()] == made[1:]
    last = client.v1.payment_intents.list({"limit": 3, "ending_before": made[4]})
    assert [pi.id for pi in last.data] == newest_first[:2]
    assert last.has_more is False
    charges = client.v1.charges.list({"limit": 2})
    assert len(charges.data) == 2
    assert charges.has_more is True
    validate("charge", charges.data[0].to_dict())


def test_created_ranges(timed: tuple[Running, Clock]) -> None:
    running, clock = timed
    client = running.client()
    made = [_pay(client, clock) for _ in range(5)]
    times = [pi.created for pi in made]
    assert times == [START + 10 * (i + 1) for i in range(5)]

    def ids(**created: int) -> list[str]:
        page = client.v1.payment_intents.list({"created": created or times[2]})
        return [pi.id for pi in page.data]

    assert [pi.id for pi in client.v1.payment_intents.list({"created": times[2]}).data] == [
        made[2].id
    ]
    assert ids(gt=times[1]) == [pi.id for pi in made[:1:-1]]
    assert ids(gte=times[1], lt=times[3]) == [made[2].id, made[1].id]
    assert ids(lte=times[0]) == [made[0].id]
    assert ids(gt=times[4]) == []
    charge_ids = [c.id for c in client.v1.charges.list({"created": {"lt": times[1]}}).data]
    assert charge_ids == [made[0].latest_charge]


def test_per_resource_filters(timed: tuple[Running, Clock]) -> None:
    running, clock = timed
    client = running.client()
    customer = client.v1.customers.create({"email": "kim@example.com"})
    mine = _pay(client, clock, customer=customer.id)
    other = _pay(client, clock)
    by_customer = client.v1.payment_intents.list({"customer": customer.id})
    assert [pi.id for pi in by_customer.data] == [mine.id]
    assert [c.id for c in client.v1.charges.list({"customer": customer.id}).data] == [
        mine.latest_charge
    ]
    assert [c.id for c in client.v1.charges.list({"payment_intent": other.id}).data] == [
        other.latest_charge
    ]
    assert client.v1.charges.list({"transfer_group": "order_1"}).data == []
    refund = client.v1.refunds.create({"payment_intent": mine.id})
    _ = client.v1.refunds.create({"payment_intent": other.id})
    assert [r.id for r in client.v1.refunds.list({"charge": mine.latest_charge}).data] == [
        refund.id
    ]
    assert [r.id for r in client.v1.refunds.list({"payment_intent": mine.id}).data] == [refund.id]

    card = client.v1.payment_methods.create({"type": "card", "card": CARD})
    client.v1.payment_methods.attach(card.id, {"customer": customer.id})
    sepa = client.v1.payment_methods.create(
        {"type": "sepa_debit", "sepa_debit": {"iban": "DE89370400440532013000"}}
    )
    listed = client.v1.payment_methods.list({"customer": customer.id})
    assert [pm.id for pm in listed.data] == [card.id]
    validate("payment_method", listed.data[0].to_dict())
    assert [pm.id for pm in client.v1.payment_methods.list({"type": "sepa_debit"}).data] == [
        sepa.id
    ]

    setup = client.v1.setup_intents.create({"customer": customer.id, "payment_method": card.id})
    client.v1.setup_intents.create({"payment_method": sepa.id})
    assert [s.id for s in client.v1.setup_intents.list({"customer": customer.id}).data] == [
        setup.id
    ]
    assert [s.id for s in client.v1.setup_intents.list({"payment_method": card.id}).data] == [
        setup.id
    ]

    value_list = client.v1.radar.value_lists.create(
        {"alias": "vip_emails", "name": "VIP", "item_type": "email"}
    )
    item = client.v1.radar.value_list_items.create(
        {"value_list": value_list.id, "value": "kim@example.com"}
    )
    client.v1.radar.value_list_items.create({"value_list": value_list.id, "value": "a@b.co"})
    found = client.v1.radar.value_list_items.list(
        {"value_list": value_list.id, "value": "kim@example.com"}
    )
    assert [i.id for i in found.data] == [item.id]
    lists = client.v1.radar.value_lists.list({"contains": "kim@example.com", "limit": 100})
    assert [v.id for v in lists.data] == [value_list.id]


@pytest.mark.parametrize(
    ("params", "param", "message"),
    [
        ({"created": {"gt": "soon"}}, "created[gt]", "Invalid integer: soon"),
        ({"created": {"after": "1"}}, "created[after]", "Received unknown parameter"),
        ({"created": "yesterday"}, "created", "Invalid integer: yesterday"),
        ({"starting_after": "pi_nope"}, "starting_after", "No such payment_intent: 'pi_nope'"),
        ({"ending_before": "pi_nope"}, "ending_before", "No such payment_intent: 'pi_nope'"),
        ({"transfer_group": "x"}, "transfer_group", "Received unknown parameter"),
        ({"limit": "0"}, "limit", "greater than or equal to 1"),
    ],
)
def test_bad_list_parameters_are_stripe_errors(
    server: Running, params: dict[str, Any], param: str, message: str
) -> None:
    with server.http() as http:
        response = http.get("/v1/payment_intents", params=_flatten(params))
    error = response.json()["error"]
    assert response.status_code == (404 if error.get("code") == "resource_missing" else 400)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert message in error["message"]


def test_both_cursors_and_a_cursor_of_another_type(timed: tuple[Running, Clock]) -> None:
    running, clock = timed
    client = running.client()
    pi = _pay(client, clock)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.list({"starting_after": pi.id, "ending_before": pi.id})
    assert error.value.param == "ending_before"
    assert "only specify one of" in str(error.value.user_message)
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.charges.list({"starting_after": pi.id})
    assert error.value.param == "starting_after"
    assert error.value.code == "resource_missing"


def _flatten(params: dict[str, Any]) -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat.update({f"{key}[{k}]": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def test_payment_intent_update_follows_the_state_rules(timed: tuple[Running, Clock]) -> None:
    running, _clock = timed
    client = running.client()
    open_pi = client.v1.payment_intents.create({"amount": 1000, "currency": "usd"})
    assert open_pi.status == "requires_payment_method"
    updated = client.v1.payment_intents.update(
        open_pi.id,
        {
            "amount": 2500,
            "currency": "eur",
            "description": "order 7",
            "metadata": {"order": "7", "channel": "web"},
            "payment_method": "pm_card_visa",
            "shipping": {"name": "Kim", "address": {"country": "FR", "line1": "1 rue X"}},
        },
    )
    validate("payment_intent", updated.to_dict())
    assert (updated.amount, updated.currency, updated.status) == (
        2500,
        "eur",
        "requires_confirmation",
    )
    assert updated.metadata.to_dict() == {"order": "7", "channel": "web"}
    assert updated.shipping.address.country == "FR"
    merged = client.v1.payment_intents.update(open_pi.id, {"metadata": {"channel": ""}})
    assert merged.metadata.to_dict() == {"order": "7"}
    confirmed = client.v1.payment_intents.confirm(open_pi.id)
    assert confirmed.status == "succeeded"
    assert client.v1.charges.retrieve(confirmed.latest_charge).amount == 2500

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.update(open_pi.id, {"amount": 3000})
    assert error.value.code == "payment_intent_unexpected_state"
    assert error.value.param == "amount"
    assert "status of succeeded" in str(error.value.user_message)
    late = client.v1.payment_intents.update(open_pi.id, {"description": "order 7 (shipped)"})
    assert late.description == "order 7 (shipped)"
    assert late.amount == 2500

    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.update(open_pi.id, {"amount": 3000, "currency": "usd"})
    assert error.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.update(open_pi.id, {"confirm": "true"})
    assert error.value.code == "parameter_unknown"
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_intents.update("pi_missing", {"description": "x"})
    assert error.value.http_status == 404


def test_payment_method_refund_customer_and_value_list_updates(
    timed: tuple[Running, Clock],
) -> None:
    running, clock = timed
    client = running.client()
    customer = client.v1.customers.create({"email": "kim@example.com", "metadata": {"a": "1"}})
    loose = client.v1.payment_methods.create({"type": "card", "card": CARD})
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_methods.update(loose.id, {"metadata": {"k": "v"}})
    assert "save this PaymentMethod to a customer" in str(error.value.user_message)
    client.v1.payment_methods.attach(loose.id, {"customer": customer.id})
    pm = client.v1.payment_methods.update(
        loose.id,
        {
            "card": {"exp_month": 3, "exp_year": 2031},
            "billing_details": {"name": "Kim Lee", "address": {"postal_code": "94107"}},
            "metadata": {"k": "v"},
        },
    )
    validate("payment_method", pm.to_dict())
    assert (pm.card.exp_month, pm.card.exp_year) == (3, 2031)
    assert pm.billing_details.name == "Kim Lee"
    assert pm.billing_details.address.postal_code == "94107"
    assert pm.card.fingerprint == loose.card.fingerprint
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_methods.update(loose.id, {"card": {"exp_month": 13}})
    assert error.value.param == "card[exp_month]"
    detached = client.v1.payment_methods.detach(loose.id)
    assert detached.customer is None
    assert client.v1.payment_methods.list({"customer": customer.id}).data == []
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.payment_methods.detach(loose.id)
    assert "not attached to a customer" in str(error.value.user_message)

    pi = _pay(client, clock)
    refund = client.v1.refunds.create({"payment_intent": pi.id, "metadata": {"ticket": "1"}})
    changed = client.v1.refunds.update(refund.id, {"metadata": {"agent": "sam"}})
    validate("refund", changed.to_dict())
    assert changed.metadata.to_dict() == {"ticket": "1", "agent": "sam"}
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.refunds.update(refund.id, {"amount": 5})
    assert error.value.param == "amount"

    renamed = client.v1.customers.update(customer.id, {"name": "Kim", "metadata": {"b": "2"}})
    assert renamed.name == "Kim"
    assert renamed.metadata.to_dict() == {"a": "1", "b": "2"}

    value_list = client.v1.radar.value_lists.create(
        {"alias": "vip", "name": "VIP", "item_type": "email", "metadata": {"x": "1"}}
    )
    renamed_list = client.v1.radar.value_lists.update(
        value_list.id, {"name": "Very important", "metadata": {"x": ""}}
    )
    validate("radar.value_list", renamed_list.to_dict())
    assert renamed_list.name == "Very important"
    assert renamed_list.metadata.to_dict() == {}


def test_a_filter_the_store_cannot_apply_pages_through_chunks(clock: Clock) -> None:
    """``type`` on payment methods is checked on what the store reads, chunk by chunk from the
    cursor: pages are full and exact both ways across chunk boundaries."""
    from radarcore.radar import Radar

    radar = Radar("memory://", clock=clock, model=None)
    ids = []
    for i in range(260):
        clock.advance(1)
        if i % 5 == 0:
            pm = radar.payment_methods.create(
                type="sepa_debit", sepa_debit={"iban": "DE89370400440532013000"}
            )
            ids.append(pm.id)
        else:
            radar.payment_methods.create(type="card", card=CARD)
    newest_first = ids[::-1]
    walked, after = [], None
    while True:
        page = radar.payment_methods.list(type="sepa_debit", limit=7, starting_after=after)
        walked += [pm.id for pm in page.data]
        if not page.has_more:
            break
        after = page.data[-1].id
    assert walked == newest_first
    back, before = [], ids[0]
    while True:
        page = radar.payment_methods.list(type="sepa_debit", limit=7, ending_before=before)
        back += [pm.id for pm in reversed(page.data)]
        if not page.has_more:
            break
        before = page.data[0].id
    assert back == ids[1:]
    radar.close()
