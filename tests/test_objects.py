"""Stripe-shaped objects: ids, discriminators, JSON shape against Stripe's OpenAPI schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from radarcore.objects import (
    OBJECT_TYPES,
    BillingDetails,
    Card,
    Charge,
    Customer,
    Dispute,
    EarlyFraudWarning,
    EvaluationEvent,
    EvaluationOutcome,
    EvaluationSignal,
    EvaluationSignals,
    FraudDetails,
    ListObject,
    Outcome,
    OutcomeRule,
    PaymentEvaluation,
    PaymentIntent,
    PaymentMethod,
    PaymentMethodDetails,
    PaymentMethodDetailsCard,
    RadarOptions,
    RadarSession,
    Refund,
    Review,
    SetupIntent,
    StripeObject,
    ValueList,
    ValueListItem,
    WebhookEndpoint,
    new_id,
)
from radarcore.server.openapi import stripe_subset

SPEC = stripe_subset()
SCHEMAS = SPEC["components"]["schemas"]
NEWER = SPEC["x_newer_in_stripe_python"]

# Fields Stripe returns that are newer than the 2023 schema (see x_newer_in_stripe_python), and
# radarcore's documented choice to show radar_options on the PaymentIntent (radar.md 5.5).
EXTRA_FIELDS = {
    "charge_outcome": set(NEWER["objects"]["charge_outcome"]["added_since_spec"]),
    "payment_intent": {"radar_options"},
}

OUTCOME = Outcome(
    type="manual_review",
    network_status="approved_by_network",
    reason="rule",
    risk_level="elevated",
    risk_score=68,
    rule=OutcomeRule(id="rule_1", action="review", predicate=":risk_level: = 'elevated'"),
    seller_message="Stripe evaluated this charge as having elevated risk.",
)


def samples() -> list[StripeObject]:
    return [
        Charge(
            id=new_id("ch"),
            created=1,
            amount=100,
            currency="usd",
            outcome=OUTCOME,
            fraud_details=FraudDetails(user_report="fraudulent"),
            status="succeeded",
            payment_method_details=PaymentMethodDetails(
                card=PaymentMethodDetailsCard(brand="visa", fingerprint="fp", last4="4242")
            ),
            radar_options=RadarOptions(session="rse_1"),
            review="prv_1",
            ip_address="1.2.3.4",
        ),
        PaymentIntent(
            id=new_id("pi"),
            created=1,
            amount=100,
            currency="usd",
            radar_options=RadarOptions(session="rse_1"),
            status="succeeded",
        ),
        PaymentMethod(
            id=new_id("pm"),
            created=1,
            card=Card(brand="visa", last4="4242", bin="424242"),
            billing_details=BillingDetails(email="a@b.co"),
        ),
        SetupIntent(id=new_id("seti"), created=1, status="succeeded"),
        Refund(
            id=new_id("re"),
            created=1,
            amount=100,
            currency="usd",
            charge="ch_1",
            reason="fraudulent",
        ),
        Review(
            id=new_id("prv"),
            created=1,
            charge="ch_1",
            open=False,
            reason="approved",
            closed_reason="approved",
        ),
        ValueList(
            id=new_id("rsl"),
            created=1,
            alias="blocked_ips",
            name="Blocked IPs",
            item_type="ip_address",
            list_items=ListObject(url="/v1/radar/value_list_items"),
        ),
        ValueListItem(id=new_id("rsli"), created=1, value="1.2.3.4", value_list="rsl_1"),
        EarlyFraudWarning(id=new_id("issfr"), created=1, charge="ch_1", fraud_type="misc"),
        Dispute(id=new_id("du"), created=1, amount=100, currency="usd", charge="ch_1"),
        Customer(id=new_id("cus"), created=1, email="a@b.co"),
        RadarSession(id=new_id("rse"), created=1, ip_address="1.2.3.4"),
        PaymentEvaluation(
            id=new_id("peval"),
            created_at=1,
            recommended_action="continue",
            signals=EvaluationSignals(
                EvaluationSignal(evaluated_at=1, risk_level="normal", score=12.5)
            ),
            outcome=EvaluationOutcome(type="succeeded"),
            events=[EvaluationEvent(type="refunded", occurred_at=2)],
        ),
        WebhookEndpoint(
            id=new_id("we"),
            created=1,
            url="https://example.com/hooks",
            enabled_events=["charge.succeeded"],
            secret="whsec_1",
        ),
    ]


PREFIXES = {
    "charge": "ch_",
    "payment_intent": "pi_",
    "payment_method": "pm_",
    "setup_intent": "seti_",
    "refund": "re_",
    "review": "prv_",
    "radar.value_list": "rsl_",
    "radar.value_list_item": "rsli_",
    "radar.early_fraud_warning": "issfr_",
    "dispute": "du_",
    "customer": "cus_",
    "radar.session": "rse_",
    "radar.payment_evaluation": "peval_",
    "webhook_endpoint": "we_",
}


def test_every_object_type_has_a_sample() -> None:
    assert {obj.to_dict()["object"] for obj in samples()} == set(OBJECT_TYPES) == set(PREFIXES)


@pytest.mark.parametrize("obj", samples(), ids=lambda o: o.to_dict()["object"])
def test_round_trip_and_prefix(obj: StripeObject) -> None:
    data = obj.to_dict()
    assert data["id"].startswith(PREFIXES[data["object"]])
    cls = OBJECT_TYPES[data["object"]]
    assert isinstance(obj, cls)
    assert cls.from_dict(obj.to_record()) == obj
    assert json.loads(json.dumps(data)) == data


def _check_against_schema(name: str, data: dict[str, Any]) -> None:
    schema = SCHEMAS[name]
    properties = schema.get("properties", {})
    allowed = set(properties) | set(schema.get("required", [])) | EXTRA_FIELDS.get(name, set())
    assert set(data) <= allowed, name
    assert set(schema.get("required", [])) <= set(data), name
    for key, value in data.items():
        spec = properties.get(key, {})
        if "enum" in spec and value is not None:
            assert value in spec["enum"], (name, key, value)


@pytest.mark.parametrize(
    "obj",
    [o for o in samples() if o.to_dict()["object"] in SCHEMAS],
    ids=lambda o: o.to_dict()["object"],
)
def test_json_matches_stripe_schema(obj: StripeObject) -> None:
    data = obj.to_dict()
    _check_against_schema(data["object"], data)


def test_nested_outcome_and_rule_match_schema() -> None:
    data = OUTCOME.to_dict()
    _check_against_schema("charge_outcome", data)
    _check_against_schema("rule", data["rule"])


def test_private_fields_stay_out_of_stripe_json() -> None:
    charge = samples()[0]
    assert "ip_address" not in charge.to_dict()
    assert "score_holdout" not in charge.to_dict()
    assert charge.to_record()["ip_address"] == "1.2.3.4"
    pm = samples()[2]
    assert "bin" not in pm.to_dict()["card"]
    assert pm.to_record()["card"]["bin"] == "424242"


def test_risk_score_and_reports_are_absent_when_unset() -> None:
    data = Outcome(type="authorized", risk_level="not_assessed").to_dict()
    assert "risk_score" not in data
    assert FraudDetails().to_dict() == {}


def test_to_dict_returns_fresh_containers() -> None:
    charge = Charge(id="ch_1", created=1, amount=1, currency="usd", metadata={"a": "1"})
    charge.to_dict()["metadata"]["b"] = "2"
    assert charge.metadata == {"a": "1"}


def test_ids_are_unique_and_alphanumeric() -> None:
    ids = {new_id("ch") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i[3:].isalnum() and len(i) == 27 for i in ids)


def test_a_forked_process_draws_other_ids() -> None:
    """Ids come from a buffer of OS randomness; a forked child must not replay the parent's."""
    import os

    new_id("ch")  # the parent's buffer now holds the bytes of its next ids
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child process
        os.write(write, new_id("ch").encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert child.startswith("ch_")
    assert child != new_id("ch")


@pytest.mark.parametrize("obj", samples(), ids=lambda o: o.to_dict()["object"])
def test_adopt_equals_from_dict(obj: StripeObject) -> None:
    """``adopt`` takes a decoded record over as the object's state, or falls back to
    ``from_dict`` when the record lacks fields (Stripe's JSON has no private fields)."""
    from radarcore.store._base import decode, encode

    cls = OBJECT_TYPES[obj.to_dict()["object"]]
    assert cls.adopt(decode(encode(obj))) == obj
    assert cls.adopt(obj.to_dict()) == cls.from_dict(obj.to_dict())
    assert cls.adopt({**obj.to_record(), "unknown": 1}) == obj
