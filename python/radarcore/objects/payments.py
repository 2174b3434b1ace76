"""Payment objects in Stripe's shape: Charge (with its Outcome), PaymentIntent, SetupIntent,
PaymentMethod, Refund, Dispute, Customer.

>>> outcome = Outcome(type="blocked", network_status="not_sent_to_network",
...                   reason="highest_risk_level", risk_level="highest", risk_score=92,
...                   seller_message="Stripe blocked this charge as too risky.")
>>> outcome.to_dict()["risk_score"]
92
>>> "risk_score" in Outcome(type="authorized", risk_level="not_assessed").to_dict()
False
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from radarcore.objects._base import PRIVATE, StripeObject

__all__ = [
    "Address",
    "BillingDetails",
    "Card",
    "CardChecks",
    "Charge",
    "Customer",
    "Dispute",
    "FraudDetails",
    "Outcome",
    "OutcomeRule",
    "PaymentIntent",
    "PaymentMethod",
    "PaymentMethodDetails",
    "PaymentMethodDetailsCard",
    "RadarOptions",
    "Refund",
    "SetupIntent",
    "Shipping",
    "ThreeDSecure",
]

OutcomeType = Literal["authorized", "manual_review", "issuer_declined", "blocked", "invalid"]
NetworkStatus = Literal[
    "approved_by_network", "declined_by_network", "not_sent_to_network", "reversed_after_approval"
]
RiskLevel = Literal["normal", "elevated", "highest", "not_assessed", "unknown"]
CheckResult = Literal["pass", "fail", "unavailable", "unchecked"]
RefundReason = Literal["duplicate", "fraudulent", "requested_by_customer"]
PaymentIntentStatus = Literal[
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "processing",
    "requires_capture",
    "canceled",
    "succeeded",
]


@dataclass
class Address(StripeObject):
    city: str | None = None
    country: str | None = None
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    state: str | None = None


@dataclass
class BillingDetails(StripeObject):
    address: Address = field(default_factory=Address)
    email: str | None = None
    name: str | None = None
    phone: str | None = None


@dataclass
class Shipping(StripeObject):
    address: Address = field(default_factory=Address)
    name: str | None = None
    phone: str | None = None


@dataclass
class RadarOptions(StripeObject):
    """``radar_options``: the Radar Session (``rse_...``) attached to the object."""

    session: str | None = None


@dataclass
class CardChecks(StripeObject):
    address_line1_check: CheckResult | None = None
    address_postal_code_check: CheckResult | None = None
    cvc_check: CheckResult | None = None


@dataclass
class Card(StripeObject):
    """``PaymentMethod.card``: never the number; a keyed fingerprint, the BIN kept privately."""

    brand: str = "unknown"
    checks: CardChecks = field(default_factory=CardChecks)
    country: str | None = None
    exp_month: int = 0
    exp_year: int = 0
    fingerprint: str | None = None
    funding: str = "unknown"
    last4: str = ""
    wallet: dict[str, Any] | None = None
    bin: str | None = field(default=None, metadata=PRIVATE)


@dataclass
class PaymentMethod(StripeObject):
    omit_if_none: ClassVar[frozenset[str]] = frozenset({"card", "radar_options"})

    id: str
    created: int
    type: str = "card"
    object: Literal["payment_method"] = "payment_method"
    billing_details: BillingDetails = field(default_factory=BillingDetails)
    card: Card | None = None
    customer: str | None = None
    livemode: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    radar_options: RadarOptions | None = None
    test_risk: str | None = field(default=None, metadata=PRIVATE)


@dataclass
class OutcomeRule(StripeObject):
    """``Charge.outcome.rule``: the Radar rule that decided the outcome."""

    id: str
    action: str
    predicate: str


@dataclass
class Outcome(StripeObject):
    """``Charge.outcome`` exactly as Stripe documents it (``risk_score`` absent when unscored)."""

    omit_if_none: ClassVar[frozenset[str]] = frozenset({"risk_score", "rule"})

    type: OutcomeType
    network_status: NetworkStatus | None = None
    reason: str | None = None
    risk_level: RiskLevel | None = None
    risk_score: int | None = None
    rule: OutcomeRule | None = None
    seller_message: str | None = None
    advice_code: str | None = None
    network_advice_code: str | None = None
    network_decline_code: str | None = None


@dataclass
class FraudDetails(StripeObject):
    """``Charge.fraud_details``; Stripe leaves out unset reports."""

    omit_if_none: ClassVar[frozenset[str]] = frozenset({"stripe_report", "user_report"})

    stripe_report: Literal["fraudulent"] | None = None
    user_report: Literal["safe", "fraudulent"] | None = None


@dataclass
class ThreeDSecure(StripeObject):
    authentication_flow: Literal["challenge", "frictionless"] | None = None
    result: str | None = None
    result_reason: str | None = None
    version: str | None = None


@dataclass
class PaymentMethodDetailsCard(StripeObject):
    brand: str = "unknown"
    checks: CardChecks = field(default_factory=CardChecks)
    country: str | None = None
    exp_month: int = 0
    exp_year: int = 0
    fingerprint: str | None = None
    funding: str = "unknown"
    last4: str = ""
    network: str | None = None
    three_d_secure: ThreeDSecure | None = None
    wallet: dict[str, Any] | None = None


@dataclass
class PaymentMethodDetails(StripeObject):
    type: str = "card"
    card: PaymentMethodDetailsCard | None = None


@dataclass
class Charge(StripeObject):
    omit_if_none: ClassVar[frozenset[str]] = frozenset({"radar_options"})

    id: str
    created: int
    amount: int
    currency: str
    object: Literal["charge"] = "charge"
    amount_captured: int = 0
    amount_refunded: int = 0
    billing_details: BillingDetails = field(default_factory=BillingDetails)
    captured: bool = False
    customer: str | None = None
    description: str | None = None
    disputed: bool = False
    failure_code: str | None = None
    failure_message: str | None = None
    fraud_details: FraudDetails = field(default_factory=FraudDetails)
    livemode: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    outcome: Outcome | None = None
    paid: bool = False
    payment_intent: str | None = None
    payment_method: str | None = None
    payment_method_details: PaymentMethodDetails | None = None
    radar_options: RadarOptions | None = None
    receipt_email: str | None = None
    refunded: bool = False
    review: str | None = None
    shipping: Shipping | None = None
    status: Literal["succeeded", "pending", "failed"] = "pending"
    score_holdout: bool = field(default=False, metadata=PRIVATE)
    ip_address: str | None = field(default=None, metadata=PRIVATE)
    label: str | None = field(default=None, metadata=PRIVATE)
    event: dict[str, Any] | None = field(default=None, metadata=PRIVATE)
    #: The feature row the engine assessed and the model version that scored it, for the risk
    #: insights (see ``Assessment.insight_record``).
    insight: dict[str, str] | None = field(default=None, metadata=PRIVATE)


@dataclass
class PaymentIntent(StripeObject):
    """A PaymentIntent; ``radar_options`` shows the session given on create/confirm."""

    omit_if_none: ClassVar[frozenset[str]] = frozenset({"amount_received"})

    id: str
    created: int
    amount: int
    currency: str
    object: Literal["payment_intent"] = "payment_intent"
    amount_received: int = 0
    canceled_at: int | None = None
    cancellation_reason: str | None = None
    capture_method: Literal["automatic", "automatic_async", "manual"] = "automatic"
    confirmation_method: Literal["automatic", "manual"] = "automatic"
    customer: str | None = None
    description: str | None = None
    last_payment_error: dict[str, Any] | None = None
    latest_charge: str | None = None
    livemode: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    next_action: dict[str, Any] | None = None
    off_session: bool | None = field(default=None, metadata=PRIVATE)
    payment_method: str | None = None
    payment_method_types: list[str] = field(default_factory=lambda: ["card"])
    radar_options: RadarOptions | None = None
    receipt_email: str | None = None
    review: str | None = None
    setup_future_usage: Literal["off_session", "on_session"] | None = None
    shipping: Shipping | None = None
    status: PaymentIntentStatus = "requires_payment_method"


@dataclass
class SetupIntent(StripeObject):
    id: str
    created: int
    object: Literal["setup_intent"] = "setup_intent"
    customer: str | None = None
    description: str | None = None
    last_setup_error: dict[str, Any] | None = None
    livemode: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    next_action: dict[str, Any] | None = None
    payment_method: str | None = None
    payment_method_types: list[str] = field(default_factory=lambda: ["card"])
    status: Literal[
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
        "processing",
        "canceled",
        "succeeded",
    ] = "requires_payment_method"
    usage: Literal["off_session", "on_session"] = "off_session"
    radar_options: RadarOptions | None = field(default=None, metadata=PRIVATE)
    outcome: Outcome | None = field(default=None, metadata=PRIVATE)


@dataclass
class Refund(StripeObject):
    id: str
    created: int
    amount: int
    currency: str
    charge: str
    object: Literal["refund"] = "refund"
    metadata: dict[str, str] = field(default_factory=dict)
    payment_intent: str | None = None
    reason: RefundReason | None = None
    status: Literal["pending", "succeeded", "failed", "canceled"] = "succeeded"


@dataclass
class Dispute(StripeObject):
    id: str
    created: int
    amount: int
    currency: str
    charge: str
    object: Literal["dispute"] = "dispute"
    balance_transactions: list[dict[str, Any]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    evidence_details: dict[str, Any] = field(default_factory=dict)
    is_charge_refundable: bool = True
    livemode: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    payment_intent: str | None = None
    reason: str = "fraudulent"
    status: str = "needs_response"


@dataclass
class Customer(StripeObject):
    id: str
    created: int
    object: Literal["customer"] = "customer"
    description: str | None = None
    email: str | None = None
    livemode: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    phone: str | None = None
