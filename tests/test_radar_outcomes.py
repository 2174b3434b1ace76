"""Outcomes exactly as Stripe documents them: each risk level, not_assessed, unknown, thresholds,
the Radar test cards, and every rule action."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest

from engine_model import STEPS
from radarcore import CardError, ModelError
from radarcore.models.calibration import RiskCalibration
from radarcore.objects import RadarSession
from radarcore.radar import Radar, RadarSettings
from radarcore.rules import RuleSet

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}


def expected_score(amount_usd: float) -> int:
    """The oracle: the stepped model's margin through the fixed calibration scale."""
    margin = next(m for limit, m in STEPS if limit is None or amount_usd <= limit)
    return int(RiskCalibration(slope=1.0, intercept=0.0).risk_score([margin])[0])


def pay(radar: Radar, amount: int, **kwargs: Any) -> Any:
    pm = (
        kwargs.pop("payment_method", None)
        or radar.payment_methods.create(
            type="card", card=CARD, billing_details={"email": "jane@example.com"}
        ).id
    )
    return radar.payment_intents.create(
        amount=amount, currency="usd", payment_method=pm, confirm=True, **kwargs
    )


def test_normal_risk_is_authorized(radar: Radar) -> None:
    pi = pay(radar, 5_000)
    assert pi.status == "succeeded"
    charge = radar.charges.retrieve(pi.latest_charge)
    assert charge.outcome.to_dict() == {
        "type": "authorized",
        "network_status": "approved_by_network",
        "reason": None,
        "risk_level": "normal",
        "risk_score": expected_score(50.0),
        "seller_message": "The charge was authorized.",
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
    }
    assert charge.paid
    assert charge.review is None
    assert radar.reviews.list().data == []


def test_elevated_risk_goes_to_manual_review(radar: Radar) -> None:
    pi = pay(radar, 50_000)
    charge = radar.charges.retrieve(pi.latest_charge)
    outcome = charge.outcome
    assert (outcome.type, outcome.reason, outcome.risk_level, outcome.risk_score) == (
        "manual_review",
        "elevated_risk_level",
        "elevated",
        expected_score(500.0),
    )
    assert outcome.network_status == "approved_by_network"
    assert outcome.seller_message == (
        "Stripe evaluated this charge as having elevated risk, and placed it in your manual "
        "review queue."
    )
    assert outcome.rule.to_dict() == {
        "id": "manual_review_if_elevated_risk",
        "action": "manual_review",
        "predicate": ":risk_level: = 'elevated'",
    }
    assert pi.status == "succeeded"
    review = radar.reviews.retrieve(pi.review)
    assert charge.review == review.id
    assert (review.open, review.reason, review.opened_reason, review.closed_reason) == (
        True,
        "rule",
        "rule",
        None,
    )
    assert (review.charge, review.payment_intent) == (charge.id, pi.id)
    assert [r.id for r in radar.reviews.list()] == [review.id]


def test_highest_risk_is_blocked_and_raises_card_error(radar: Radar) -> None:
    with pytest.raises(CardError, match=r"Your card was declined\.") as info:
        pay(radar, 500_000)
    assert info.value.code == "card_declined"
    assert info.value.decline_code == "fraudulent"
    assert info.value.http_status == 402
    pi = radar.payment_intents.list().data[0]
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error["decline_code"] == "fraudulent"
    charge = radar.charges.retrieve(pi.latest_charge)
    assert charge.outcome.to_dict()["risk_score"] == expected_score(5000.0)
    assert (charge.outcome.type, charge.outcome.network_status, charge.outcome.reason) == (
        "blocked",
        "not_sent_to_network",
        "highest_risk_level",
    )
    assert charge.outcome.seller_message == "Stripe blocked this charge as too risky."
    assert charge.outcome.rule.id == "block_if_high_risk"
    assert (charge.paid, charge.status, charge.failure_code) == (False, "failed", "card_declined")


def test_thresholds_are_configurable(radar_factory: Any) -> None:
    radar = radar_factory(settings=RadarSettings(elevated_threshold=50, highest_threshold=60))
    with pytest.raises(CardError):
        pay(radar, 5_000)
    charge = radar.charges.list().data[0]
    assert charge.outcome.risk_level == "highest"


@pytest.mark.parametrize(("elevated", "highest"), [(75, 75), (80, 70), (-1, 50), (10, 101)])
def test_bad_thresholds_are_rejected(elevated: int, highest: int) -> None:
    with pytest.raises(ValueError, match="risk thresholds must satisfy"):
        RadarSettings(elevated_threshold=elevated, highest_threshold=highest)


def test_without_a_model_payments_are_not_assessed(radar_factory: Any) -> None:
    radar = radar_factory(model=False)
    assert not radar.has_model
    charge = radar.charges.retrieve(pay(radar, 500_000).latest_charge)
    data = charge.outcome.to_dict()
    assert "risk_score" not in data
    assert (data["type"], data["risk_level"], data["reason"]) == (
        "authorized",
        "not_assessed",
        "not_assessed_risk_level",
    )
    assert "No risk model is configured" in data["seller_message"]


def test_without_a_model_rules_still_decide(radar_factory: Any) -> None:
    radar = radar_factory(model=False, rules="Block if :amount_in_usd: > 1000")
    with pytest.raises(CardError):
        pay(radar, 500_000)
    outcome = radar.charges.list().data[0].outcome
    assert (outcome.type, outcome.reason, outcome.risk_level) == ("blocked", "rule", "not_assessed")


def test_opting_out_is_not_assessed(radar_factory: Any) -> None:
    radar = radar_factory(settings=RadarSettings(assess_risk=False))
    outcome = radar.charges.retrieve(pay(radar, 500_000).latest_charge).outcome
    assert (outcome.type, outcome.risk_level, outcome.reason, outcome.risk_score) == (
        "authorized",
        "not_assessed",
        "not_assessed_risk_level",
        None,
    )
    assert outcome.seller_message == "Your business has opted out of Radar fraud risk assessments."


def test_payment_method_types_radar_does_not_assess(radar: Radar) -> None:
    pm = radar.payment_methods.create(type="ideal")
    outcome = radar.charges.retrieve(
        pay(radar, 500_000, payment_method=pm.id).latest_charge
    ).outcome
    assert (outcome.type, outcome.risk_level, outcome.reason) == (
        "authorized",
        "not_assessed",
        "not_assessed_risk_level",
    )


def test_sepa_debit_is_assessed(radar: Radar) -> None:
    pm = radar.payment_methods.create(
        type="sepa_debit", sepa_debit={"iban": "DE89370400440532013000"}
    )
    outcome = radar.charges.retrieve(pay(radar, 50_000, payment_method=pm.id).latest_charge).outcome
    assert outcome.risk_level == "elevated"


def test_a_failing_assessment_fails_open(
    radar: Radar, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import radarcore.radar

    built = radarcore.radar._Assessor

    class BrokenCore:
        def assess(self, event: Any) -> Any:
            raise RuntimeError("feature store unavailable")

    def broken(*args: Any) -> Any:
        assessor = built(*args)
        assessor.core = BrokenCore()  # type: ignore[assignment]
        return assessor

    monkeypatch.setattr(radarcore.radar, "_Assessor", broken)
    monkeypatch.setattr(radar, "_assessor", None)
    with caplog.at_level(logging.ERROR, logger="radarcore.radar"):
        outcome = radar.charges.retrieve(pay(radar, 500_000).latest_charge).outcome
    assert outcome.to_dict() == {
        "type": "authorized",
        "network_status": "approved_by_network",
        "reason": "unknown_risk_level",
        "risk_level": "unknown",
        "seller_message": (
            "Something went wrong while evaluating this payment. Our engineers have been "
            "notified and we’ll look into this as soon as possible."
        ),
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
    }
    assert radar.counters["assessment_failures"] == 1
    assert "feature store unavailable" in caplog.text


@pytest.mark.parametrize(
    ("payment_method", "level", "outcome_type"),
    [
        ("pm_card_riskLevelHighest", "highest", "blocked"),
        ("pm_card_chargeDeclinedFraudulent", "highest", "blocked"),
        ("pm_card_riskLevelElevated", "elevated", "manual_review"),
    ],
)
def test_radar_test_cards(
    radar_factory: Any, payment_method: str, level: str, outcome_type: str
) -> None:
    radar = radar_factory(model=False)
    if outcome_type == "blocked":
        with pytest.raises(CardError) as info:
            pay(radar, 1_000, payment_method=payment_method)
        assert info.value.decline_code == "fraudulent"
    else:
        pay(radar, 1_000, payment_method=payment_method)
    outcome = radar.charges.list().data[0].outcome
    assert (outcome.risk_level, outcome.type) == (level, outcome_type)


@pytest.mark.parametrize(
    ("number", "level"),
    [
        ("4000000000004954", "highest"),
        ("4100000000000019", "highest"),
        ("4000000000009235", "elevated"),
    ],
)
def test_test_card_numbers_match_their_payment_methods(
    radar_factory: Any, number: str, level: str
) -> None:
    radar = radar_factory(model=False, rules=RuleSet([]))
    pm = radar.payment_methods.create(type="card", card={**CARD, "number": number})
    if number == "4100000000000019":
        with pytest.raises(CardError):
            pay(radar, 1_000, payment_method=pm.id)
    else:
        pay(radar, 1_000, payment_method=pm.id)
    assert radar.charges.list().data[0].outcome.risk_level == level


def test_highest_test_card_is_blocked_only_by_the_rule(radar_factory: Any) -> None:
    radar = radar_factory(model=False, rules=RuleSet([]))
    outcome = radar.charges.retrieve(
        pay(radar, 1_000, payment_method="pm_card_riskLevelHighest").latest_charge
    ).outcome
    assert (outcome.type, outcome.risk_level) == ("authorized", "highest")
    with pytest.raises(CardError):
        pay(radar, 1_000, payment_method="pm_card_chargeDeclinedFraudulent")


def test_test_cards_do_nothing_in_live_mode(radar_factory: Any) -> None:
    radar = radar_factory(model=False, settings=RadarSettings(livemode=True))
    outcome = radar.charges.retrieve(
        pay(radar, 1_000, payment_method="pm_card_riskLevelHighest").latest_charge
    ).outcome
    assert outcome.risk_level == "not_assessed"


def test_issuer_decline_does_not_open_a_review(radar: Radar) -> None:
    with pytest.raises(CardError) as info:
        pay(radar, 50_000, payment_method="pm_card_chargeDeclined")
    assert info.value.decline_code == "generic_decline"
    charge = radar.charges.list().data[0]
    assert (charge.outcome.type, charge.outcome.network_status, charge.outcome.reason) == (
        "issuer_declined",
        "declined_by_network",
        "generic_decline",
    )
    assert charge.review is None
    assert radar.reviews.list().data == []


def test_block_rule(radar_factory: Any) -> None:
    radar = radar_factory(rules=["Block if :amount_in_usd: > 20 and :amount_in_usd: < 60"])
    with pytest.raises(CardError) as info:
        pay(radar, 5_000)
    assert info.value.decline_code == "generic_decline"
    outcome = radar.charges.list().data[0].outcome
    assert (outcome.type, outcome.reason, outcome.rule.action) == ("blocked", "rule", "block")
    assert outcome.rule.predicate == ":amount_in_usd: > 20 AND :amount_in_usd: < 60"
    assert outcome.seller_message == "Stripe blocked this payment."


def test_allow_rule_overrides_the_default_block(radar_factory: Any) -> None:
    radar = radar_factory(rules=["Allow if :email: = 'jane@example.com'"])
    outcome = radar.charges.retrieve(pay(radar, 500_000).latest_charge).outcome
    assert (outcome.type, outcome.reason, outcome.risk_level) == ("authorized", "rule", "highest")
    assert outcome.rule.action == "allow"


def test_review_rule(radar_factory: Any) -> None:
    radar = radar_factory(rules=["Review if :card_country: = 'US'"])
    pi = pay(radar, 5_000)
    outcome = radar.charges.retrieve(pi.latest_charge).outcome
    assert (outcome.type, outcome.reason, outcome.rule.action) == (
        "manual_review",
        "rule",
        "manual_review",
    )
    assert radar.reviews.retrieve(pi.review).open


def test_request_three_d_secure_then_authenticate(radar_factory: Any) -> None:
    radar = radar_factory(rules=["Request 3D Secure if :amount_in_usd: > 10"])
    pi = pay(radar, 5_000)
    assert pi.status == "requires_action"
    assert pi.next_action["type"] == "use_stripe_sdk"
    assert pi.latest_charge is None
    assert radar.charges.list().data == []
    pi = radar.payment_intents.confirm(pi.id, three_d_secure_result="authenticated")
    assert pi.status == "succeeded"
    charge = radar.charges.retrieve(pi.latest_charge)
    assert charge.payment_method_details.card.three_d_secure.result == "authenticated"
    assert charge.event["three_d_secure_result"] == "authenticated"


def test_failed_three_d_secure_does_not_charge(radar_factory: Any) -> None:
    radar = radar_factory(rules=["Request 3D Secure if :amount_in_usd: > 10"])
    pi = radar.payment_intents.confirm(pay(radar, 5_000).id, three_d_secure_result="failed")
    assert pi.status == "requires_payment_method"
    assert pi.last_payment_error["code"] == "payment_intent_authentication_failure"
    assert radar.charges.list().data == []


def test_charges_api_runs_no_three_d_secure_rules(radar_factory: Any) -> None:
    radar = radar_factory(rules=["Request 3D Secure if :amount_in_usd: > 10"])
    charge = radar.charges.create(amount=5_000, currency="usd", source="tok_visa")
    assert charge.outcome.type == "authorized"


def test_metadata_is_readable_by_rules(radar_factory: Any) -> None:
    radar = radar_factory(rules=["Block if ::order_kind:: = 'gift_card'"])
    with pytest.raises(CardError):
        pay(radar, 5_000, metadata={"order_kind": "gift_card"})
    assert pay(radar, 5_000, metadata={"order_kind": "book"}).status == "succeeded"


def test_risk_scores_follow_the_calibration(radar_factory: Any) -> None:
    calibration = RiskCalibration(slope=2.0, intercept=-1.0)
    radar = radar_factory(calibration=calibration)
    score = radar.charges.retrieve(pay(radar, 5_000).latest_charge).outcome.risk_score
    logit = 2.0 * -3.0 - 1.0
    assert score == max(0, min(100, round(75 + 10 / math.log(9) * logit)))


def test_a_model_on_another_schema_is_rejected(store_url: str) -> None:
    from radarcore.forest import Forest
    from radarcore.models._spec import SpecBuilder, TreeSpec

    tree = TreeSpec()
    tree.add_leaf(0.0)
    forest = Forest.from_spec(SpecBuilder(feature_names=["shoe_size"], trees=[tree]))
    with pytest.raises(
        ModelError, match=r"features the extractor does not compute: \['shoe_size'\]"
    ):
        Radar(store_url, model=forest)


@pytest.mark.parametrize(
    "event",
    [
        {
            "id": "ch_full",
            "created": 1_700_000_000,
            "amount": 120_000,
            "currency": "eur",
            "email": "Jane@Mailinator.com",
            "card_country": "FR",
            "ip_address": "203.0.113.9",
            "is_off_session": True,
            "metadata": {"tier": "Gold"},
        },
        {
            "id": "ch_unicode",
            "created": 1_700_000_000,
            "amount": 900,
            "currency": "usd",
            "email": "GRÜSSE@Straße.de",
            "card_country": "DE",
            "ip_country": "de",
            "metadata": {"tier": "Gold", "limit": "20"},
        },
        {"id": "ch_bare", "created": 1_700_000_000, "amount": 100, "currency": "usd"},
    ],
)
def test_the_assessor_decides_as_the_attribute_mapping_does(
    radar_factory: Any, event: dict[str, Any]
) -> None:
    """The core's assessor reads the rules' inputs straight from the feature row, the string
    attributes (case-folded in C++) and the values the engine supplies; each rule alone, and
    the whole set, must decide as ``RuleSet.evaluate_one`` on the payment's attributes."""
    from radarcore.radar import _Assessor
    from radarcore.rules import RuleSet

    radar = radar_factory(rules=[])
    texts = [
        "Block if :amount_in_usd: > 1000 and :is_disposable_email:",
        "Block if :email: LIKE 'jane@%'",
        "Block if :email: = 'grüße@straße.de'",
        "Block if :card_country: IN ('fr', 'de')",
        "Block if :card_country: = :ip_country:",
        "Block if ::tier:: = 'Gold' and :risk_score: > 50",
        "Block if :risk_score: > ::limit::",
        "Block if :is_anonymous_ip: or :risk_level: = 'normal'",
        "Block if :is_off_session:",
        "Block if NOT :is_off_session:",
        "Block if :total_charges_per_email_hourly: > 3",
        "Block if is_missing(:sepa_debit_fingerprint:)",
        "Block if is_missing(:ip_address:)",
        "Review if :risk_level: = 'elevated'",
    ]
    attributes = radar._features.attributes_one(event)
    metadata = event.get("metadata", {})
    created = event["created"]
    sets = [RuleSet([text]) for text in texts] + [RuleSet(texts)]
    decided = set()
    for rule_set in sets:
        assessor = _Assessor(radar._core_features, rule_set, radar._layout, None, None)
        payment, live, shadow = assessor.core.assess(event)
        assert live is None
        assert shadow is None
        for score, level in ((80.0, "elevated"), (10.0, "normal"), (None, None)):
            got = rule_set.decision(
                *assessor.core.decide(payment, score, level, metadata, 1, created)
            )
            mapping = attributes | {"risk_score": score, "risk_level": level}
            mapping |= {f"::{k}::": v for k, v in metadata.items()}
            assert got == rule_set.evaluate_one(mapping, at=created), (rule_set, score)
            decided.add(got.action)
    assert decided == {None, "block", "review"}


def test_payments_read_a_radar_session_from_the_store_at_most_once(radar: Radar) -> None:
    """Sessions never change once created, so the engine keeps the ones payments read, and the
    ones it created itself from the start (a decoded copy: changing the object the caller got
    back changes nothing); one created elsewhere (another process, an engine restarted) is read
    once."""
    session = radar.radar_sessions.create(ip_address="203.0.113.7", user_agent="Mozilla/5.0")
    session.ip_address = "192.0.2.1"
    elsewhere = RadarSession(id="rse_elsewhere", created=1, ip_address="203.0.113.8")
    with radar.store.transaction():
        radar.store.put(elsewhere)  # as another process writes it
    reads: list[str] = []
    get = radar.store.get

    def counting_get(object_id: str) -> Any:
        reads.append(object_id)
        return get(object_id)

    radar.store.get = counting_get  # type: ignore[method-assign]
    for _ in range(3):
        for made, ip in ((session, "203.0.113.7"), (elsewhere, "203.0.113.8")):
            pi = pay(radar, 5_000, radar_options={"session": made.id})
            assert pi.radar_options.session == made.id
            assert radar.charges.retrieve(pi.latest_charge).event["ip_address"] == ip
    assert reads.count(session.id) == 0
    assert reads.count(elsewhere.id) == 1


def test_objects_created_by_a_request_that_fails_to_commit_are_not_kept(
    radar: Radar, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decoded copies a request keeps for later payments are kept only once it commits."""
    transaction = radar.store.transaction

    class FailingCommit:
        def __enter__(self) -> None:
            self._inner = transaction()
            self._inner.__enter__()

        def __exit__(self, exc_type: Any, *exc: Any) -> None:
            if exc_type is None:
                self._inner.__exit__(RuntimeError, RuntimeError("commit failed"), None)
                raise RuntimeError("commit failed")
            self._inner.__exit__(exc_type, *exc)

    sessions, read_only = dict(radar._sessions), dict(radar._read_only)
    monkeypatch.setattr(radar.store, "transaction", FailingCommit)
    with pytest.raises(RuntimeError, match="commit failed"):
        radar.radar_sessions.create(ip_address="203.0.113.7")
    with pytest.raises(RuntimeError, match="commit failed"):
        radar.payment_methods.create(type="card", card=CARD)
    monkeypatch.setattr(radar.store, "transaction", transaction)
    assert (radar._sessions, radar._read_only) == (sessions, read_only)
    assert radar.store.list("radar.session", limit=None)[0] == []
    assert radar.store.list("payment_method", limit=None)[0] == []


def test_payments_decode_a_payment_method_again_only_when_its_document_changed(
    radar: Radar, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Payments keep the PaymentMethod they read while its stored document is the same; any
    change (another process's, an update), or a rolled-back one, is read afresh."""
    from radarcore import services

    pm = radar.payment_methods.create(
        type="card", card=CARD, billing_details={"email": "jane@example.com"}
    )
    decoded: list[object] = []
    decode = services.decode_object
    monkeypatch.setattr(services, "decode_object", lambda doc: decoded.append(doc) or decode(doc))

    def email() -> object:
        pi = pay(radar, 5_000, payment_method=pm.id)
        return radar.charges.retrieve(pi.latest_charge).event["email"]

    assert [email(), email()] == ["jane@example.com", "jane@example.com"]
    assert decoded == []  # decoded by the request that created it
    changed = radar.payment_methods.retrieve(pm.id)
    changed.billing_details.email = "new@example.com"
    seen: list[object] = []

    def change_then_fail() -> None:
        with radar.store.transaction():
            radar.store.put(changed)
            seen.append(email())
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError, match="rolled back"):
        change_then_fail()
    assert seen == ["new@example.com"]
    assert email() == "jane@example.com"
    radar.store.put(changed)
    assert [email(), email()] == ["new@example.com", "new@example.com"]
    assert len(decoded) == 3
