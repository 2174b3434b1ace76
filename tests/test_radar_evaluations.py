"""Payment evaluations (payments processed elsewhere), setup intents, score holdout, card
handling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from radarcore import CardError, InvalidRequestError
from radarcore.cards import card_fingerprint
from radarcore.radar import Radar, RadarSettings

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}


def evaluate(radar: Radar, amount: int, **payment: Any) -> Any:
    return radar.payment_evaluations.create(
        customer_details={"email": "jane@example.com", "name": "Jane Doe"},
        payment_details={"amount": amount, "currency": "usd", **payment},
    )


@pytest.mark.parametrize(
    ("amount", "level", "action"),
    [
        (5_000, "normal", "continue"),
        (50_000, "elevated", "continue"),
        (500_000, "highest", "block"),
    ],
)
def test_evaluation_signals(radar: Radar, amount: int, level: str, action: str) -> None:
    evaluation = evaluate(radar, amount)
    data = evaluation.to_dict()
    assert data["object"] == "radar.payment_evaluation"
    assert data["id"].startswith("peval_")
    assert data["recommended_action"] == action
    signal = data["signals"]["fraudulent_payment"]
    assert signal["risk_level"] == level
    charge_score = {"normal": 61.0, "elevated": 70.0, "highest": 84.0}[level]
    assert signal["score"] == charge_score
    assert radar.payment_evaluations.retrieve(evaluation.id) == evaluation


def test_evaluation_without_a_model_is_not_scored(radar_factory: Any) -> None:
    signal = evaluate(radar_factory(model=False), 5_000).signals.fraudulent_payment
    assert (signal.risk_level, signal.score) == ("not_assessed", -1.0)


def test_evaluation_with_device_and_payment_method(radar: Radar) -> None:
    session = radar.radar_sessions.create(ip_address="203.0.113.7", device_id="dev-1")
    pm = radar.payment_methods.create(type="card", card=CARD)
    evaluation = radar.payment_evaluations.create(
        customer_details={"email": "jane@example.com"},
        payment_details={
            "amount": 5_000,
            "currency": "usd",
            "money_movement_details": {
                "card": {"customer_presence": "off_session", "payment_type": "recurring"}
            },
            "payment_method_details": {
                "payment_method": pm.id,
                "billing_details": {"address": {"country": "US"}},
            },
        },
        client_device_metadata_details={"radar_session": session.id},
    )
    event = evaluation.event
    assert (
        event["ip_address"],
        event["card_fingerprint"],
        event["is_off_session"],
        event["is_recurring"],
        event["billing_country"],
    ) == ("203.0.113.7", pm.card.fingerprint, True, True, "US")


def test_reported_outcome_and_events_label_the_payment(radar: Radar, clock: Any) -> None:
    evaluation = evaluate(radar, 5_000)
    evaluation = radar.payment_evaluations.report_outcome(
        evaluation.id, type="succeeded", succeeded={"card": {"cvc_check": "pass"}}
    )
    assert evaluation.outcome.type == "succeeded"
    with pytest.raises(InvalidRequestError, match="already been reported") as info:
        radar.payment_evaluations.report_outcome(evaluation.id, type="rejected")
    assert info.value.param == "type"
    clock.advance(3600)
    radar.payment_evaluations.report_event(
        evaluation.id,
        type="early_fraud_warning_received",
        early_fraud_warning_received={"fraud_type": "misc"},
    )
    evaluation = radar.payment_evaluations.report_event(
        evaluation.id,
        type="refunded",
        refunded={"amount": 5_000, "currency": "usd", "reason": "fraudulent"},
    )
    assert [e.type for e in evaluation.events] == ["early_fraud_warning_received", "refunded"]
    assert evaluation.events[0].occurred_at == clock.now
    (row,) = radar.training_events()
    assert row["labels"] == ["authorized", "early_fraud_warning", "fraudulent_refund"]
    assert row["is_fraud"]


def test_evaluation_errors(radar: Radar) -> None:
    with pytest.raises(InvalidRequestError, match=r"Missing required param: customer_details\."):
        radar.payment_evaluations.create(payment_details={"amount": 1, "currency": "usd"})
    with pytest.raises(
        InvalidRequestError, match=r"Missing required param: payment_details\[currency\]."
    ) as info:
        radar.payment_evaluations.create(customer_details={}, payment_details={"amount": 1})
    assert info.value.param == "payment_details[currency]"
    with pytest.raises(InvalidRequestError, match="No such radar session: 'rse_x'") as info:
        radar.payment_evaluations.create(
            customer_details={},
            payment_details={"amount": 1, "currency": "usd"},
            client_device_metadata_details={"radar_session": "rse_x"},
        )
    assert info.value.param == "client_device_metadata_details[radar_session]"
    with pytest.raises(InvalidRequestError, match="Invalid type: must be one of"):
        radar.payment_evaluations.report_event(evaluate(radar, 1).id, type="exploded")


def test_setup_intents_screened_only_when_enabled(radar_factory: Any) -> None:
    plain = radar_factory(model=False)
    setup = plain.setup_intents.create(
        payment_method="pm_card_chargeDeclinedFraudulent", confirm=True
    )
    assert setup.status == "succeeded"
    screened = radar_factory(model=False, settings=RadarSettings(screen_setup_intents=True))
    with pytest.raises(CardError) as info:
        screened.setup_intents.create(
            payment_method="pm_card_chargeDeclinedFraudulent", confirm=True
        )
    assert info.value.decline_code == "fraudulent"
    elevated = screened.setup_intents.create(
        payment_method="pm_card_riskLevelElevated", confirm=True
    )
    assert elevated.status == "succeeded"
    assert screened.reviews.list().data == []


def test_setup_intent_confirm_later(radar: Radar) -> None:
    customer = radar.customers.create(email="a@example.com")
    setup = radar.setup_intents.create(customer=customer.id)
    assert setup.status == "requires_payment_method"
    setup = radar.setup_intents.confirm(setup.id, payment_method="pm_card_visa")
    assert setup.status == "succeeded"
    assert radar.payment_methods.retrieve(setup.payment_method).customer == customer.id
    with pytest.raises(InvalidRequestError, match="status of succeeded"):
        radar.setup_intents.confirm(setup.id)


def test_score_holdout_not_enforced(radar_factory: Any) -> None:
    radar = radar_factory(settings=RadarSettings(score_holdout_fraction=1.0))
    pi = radar.payment_intents.create(
        amount=500_000, currency="usd", payment_method="pm_card_visa", confirm=True
    )
    charge = radar.charges.retrieve(pi.latest_charge)
    assert (charge.outcome.type, charge.outcome.risk_level, charge.outcome.risk_score) == (
        "authorized",
        "highest",
        84,
    )
    assert charge.score_holdout
    assert "score_holdout" not in charge.to_dict()
    assert radar.counters["score_holdouts"] == 1


def test_score_holdout_perturbed(radar_factory: Any) -> None:
    radar = radar_factory(
        settings=RadarSettings(
            score_holdout_fraction=1.0, score_holdout_mode="perturbed", score_holdout_perturbation=3
        )
    )
    scores = set()
    for _ in range(12):
        pi = radar.payment_intents.create(
            amount=5_000, currency="usd", payment_method="pm_card_visa", confirm=True
        )
        scores.add(radar.charges.retrieve(pi.latest_charge).outcome.risk_score)
    assert scores <= set(range(58, 65))
    assert len(scores) > 1


def test_score_holdout_picks_its_fraction(radar_factory: Any) -> None:
    radar = radar_factory(model=False, settings=RadarSettings(score_holdout_fraction=0.25))
    picked = [radar._in_holdout(f"ch_{i}") for i in range(4000)]
    assert 800 < sum(picked) < 1200
    assert picked == [radar._in_holdout(f"ch_{i}") for i in range(4000)]


def test_holdout_is_off_by_default() -> None:
    assert RadarSettings().score_holdout_fraction == 0.0
    with pytest.raises(ValueError, match=r"score_holdout_fraction must be in \[0, 1\]"):
        RadarSettings(score_holdout_fraction=1.5)


def test_card_numbers_are_never_stored(radar: Radar, store_url: str) -> None:
    number = "5105105105105100"
    pm = radar.payment_methods.create(type="card", card={**CARD, "number": number})
    radar.payment_intents.create(amount=5_000, currency="usd", payment_method=pm.id, confirm=True)
    assert (pm.card.brand, pm.card.funding, pm.card.country, pm.card.last4) == (
        "mastercard",
        "prepaid",
        "US",
        "5100",
    )
    assert pm.card.fingerprint == card_fingerprint(radar.fingerprint_key, number)
    if store_url.startswith("sqlite"):
        path = Path(store_url.removeprefix("sqlite:///"))
        data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert number.encode() not in data
        assert pm.card.fingerprint.encode() in data
    else:
        import psycopg

        with psycopg.connect(store_url) as conn:
            rows = conn.execute("SELECT doc FROM objects UNION ALL SELECT payload FROM events")
            assert not any(number in row[0] for row in rows)


def test_caller_supplied_card_details_win(radar: Radar) -> None:
    pm = radar.payment_methods.create(
        type="card",
        card={
            **CARD,
            "brand": "cartes_bancaires",
            "funding": "debit",
            "country": "FR",
            "checks": {"cvc_check": "fail"},
        },
    )
    assert (pm.card.brand, pm.card.funding, pm.card.country, pm.card.checks.cvc_check) == (
        "cartes_bancaires",
        "debit",
        "FR",
        "fail",
    )
    tokenized = radar.payment_methods.create(
        type="card",
        card={
            "fingerprint": "fp_elsewhere",
            "bin": "378282",
            "last4": "0005",
            "exp_month": 1,
            "exp_year": 2030,
        },
    )
    assert (tokenized.card.fingerprint, tokenized.card.brand) == ("fp_elsewhere", "amex")
