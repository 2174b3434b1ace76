"""Stripe-shaped objects: typed dataclasses whose ``to_dict()`` gives Stripe's JSON.

Each has Stripe's ``object`` discriminator and id prefix (``ch_ pi_ pm_ seti_ re_ prv_ rsl_
rsli_ issfr_ rse_ cus_ du_ peval_``); nested sub-objects are dataclasses too
(``Charge.outcome`` is an :class:`Outcome`, whose ``rule`` is an :class:`OutcomeRule`).

>>> charge = Charge(id=new_id("ch"), created=1700000000, amount=1000, currency="usd")
>>> charge.to_dict()["object"], charge.id[:3]
('charge', 'ch_')
>>> Charge.from_dict(charge.to_dict()) == charge
True
"""

from __future__ import annotations

from radarcore.objects._base import StripeObject, new_id
from radarcore.objects.fraud import (
    DeletedObject,
    EarlyFraudWarning,
    EvaluationEvent,
    EvaluationOutcome,
    EvaluationSignal,
    EvaluationSignals,
    IpAddressLocation,
    ListObject,
    PaymentEvaluation,
    RadarSession,
    RadarSessionBrowser,
    Review,
    ReviewSession,
    ValueList,
    ValueListItem,
)
from radarcore.objects.payments import (
    Address,
    BillingDetails,
    Card,
    CardChecks,
    Charge,
    Customer,
    Dispute,
    FraudDetails,
    Outcome,
    OutcomeRule,
    PaymentIntent,
    PaymentMethod,
    PaymentMethodDetails,
    PaymentMethodDetailsCard,
    RadarOptions,
    Refund,
    SetupIntent,
    Shipping,
    ThreeDSecure,
)
from radarcore.objects.webhooks import WebhookEndpoint

__all__ = [
    "OBJECT_TYPES",
    "Address",
    "BillingDetails",
    "Card",
    "CardChecks",
    "Charge",
    "Customer",
    "DeletedObject",
    "Dispute",
    "EarlyFraudWarning",
    "EvaluationEvent",
    "EvaluationOutcome",
    "EvaluationSignal",
    "EvaluationSignals",
    "FraudDetails",
    "IpAddressLocation",
    "ListObject",
    "Outcome",
    "OutcomeRule",
    "PaymentEvaluation",
    "PaymentIntent",
    "PaymentMethod",
    "PaymentMethodDetails",
    "PaymentMethodDetailsCard",
    "RadarOptions",
    "RadarSession",
    "RadarSessionBrowser",
    "Refund",
    "Review",
    "ReviewSession",
    "SetupIntent",
    "Shipping",
    "StripeObject",
    "ThreeDSecure",
    "ValueList",
    "ValueListItem",
    "WebhookEndpoint",
    "new_id",
]

#: Top-level objects by their ``object`` discriminator (what the store reads back).
OBJECT_TYPES: dict[str, type[StripeObject]] = {
    "charge": Charge,
    "customer": Customer,
    "dispute": Dispute,
    "payment_intent": PaymentIntent,
    "payment_method": PaymentMethod,
    "radar.early_fraud_warning": EarlyFraudWarning,
    "radar.payment_evaluation": PaymentEvaluation,
    "radar.session": RadarSession,
    "radar.value_list": ValueList,
    "radar.value_list_item": ValueListItem,
    "refund": Refund,
    "review": Review,
    "setup_intent": SetupIntent,
    "webhook_endpoint": WebhookEndpoint,
}
