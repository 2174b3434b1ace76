"""Radar's own objects in Stripe's shape: Review, ValueList, ValueListItem, EarlyFraudWarning,
RadarSession, PaymentEvaluation, and the ``list`` envelope.

>>> item = ValueListItem(id="rsli_1", created=0, value="1.2.3.4", value_list="rsl_1")
>>> item.to_dict()["object"]
'radar.value_list_item'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from radarcore.objects._base import PRIVATE, StripeObject
from radarcore.rules.lists import ItemType

__all__ = [
    "DeletedObject",
    "EarlyFraudWarning",
    "EvaluationEvent",
    "EvaluationOutcome",
    "EvaluationSignal",
    "EvaluationSignals",
    "IpAddressLocation",
    "ListObject",
    "PaymentEvaluation",
    "RadarSession",
    "RadarSessionBrowser",
    "Review",
    "ReviewSession",
    "ValueList",
    "ValueListItem",
]

ReviewReason = Literal[
    "rule",
    "manual",
    "approved",
    "refunded",
    "refunded_as_fraud",
    "disputed",
    "redacted",
    "canceled",
    "payment_never_settled",
    "acknowledged",
]
ClosedReason = Literal[
    "approved",
    "refunded",
    "refunded_as_fraud",
    "disputed",
    "redacted",
    "canceled",
    "payment_never_settled",
    "acknowledged",
]
FraudType = Literal[
    "card_never_received",
    "fraudulent_card_application",
    "made_with_counterfeit_card",
    "made_with_lost_card",
    "made_with_stolen_card",
    "misc",
    "unauthorized_use_of_card",
]


@dataclass
class IpAddressLocation(StripeObject):
    city: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    region: str | None = None


@dataclass
class ReviewSession(StripeObject):
    browser: str | None = None
    device: str | None = None
    platform: str | None = None
    version: str | None = None


@dataclass
class Review(StripeObject):
    """A payment in the review queue (``open``) or taken out of it (``closed_reason``)."""

    omit_if_none: ClassVar[frozenset[str]] = frozenset({"payment_intent"})

    id: str
    created: int
    object: Literal["review"] = "review"
    billing_zip: str | None = None
    charge: str | None = None
    closed_reason: ClosedReason | None = None
    ip_address: str | None = None
    ip_address_location: IpAddressLocation | None = None
    livemode: bool = False
    open: bool = True
    opened_reason: Literal["rule", "manual"] = "rule"
    payment_intent: str | None = None
    reason: ReviewReason = "rule"
    session: ReviewSession | None = None


@dataclass
class ListObject(StripeObject):
    """Stripe's ``list`` envelope (``data`` holds plain dicts in Stripe's shape)."""

    url: str
    data: list[dict[str, Any]] = field(default_factory=list)
    has_more: bool = False
    object: Literal["list"] = "list"


@dataclass
class ValueList(StripeObject):
    id: str
    created: int
    alias: str
    name: str
    object: Literal["radar.value_list"] = "radar.value_list"
    created_by: str = ""
    item_type: ItemType = "string"
    list_items: ListObject | None = None
    livemode: bool = False
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class ValueListItem(StripeObject):
    id: str
    created: int
    value: str
    value_list: str
    object: Literal["radar.value_list_item"] = "radar.value_list_item"
    created_by: str = ""
    livemode: bool = False


@dataclass
class DeletedObject(StripeObject):
    id: str
    object: str
    deleted: bool = True


@dataclass
class EarlyFraudWarning(StripeObject):
    omit_if_none: ClassVar[frozenset[str]] = frozenset({"payment_intent"})

    id: str
    created: int
    charge: str
    fraud_type: FraudType
    object: Literal["radar.early_fraud_warning"] = "radar.early_fraud_warning"
    actionable: bool = True
    livemode: bool = False
    payment_intent: str | None = None


@dataclass
class RadarSessionBrowser(StripeObject):
    """``RadarSession.browser``: what radarcore's ``radar.js`` read from the browser besides the
    fields the features use (a radarcore addition; Stripe publishes no session fields).

    ``screen`` and ``window`` are ``"{width}x{height}"`` in CSS pixels; ``timezone`` is the
    IANA name (``Europe/Paris``); ``languages`` in the browser's order of preference.
    """

    languages: list[str] = field(default_factory=list)
    timezone: str | None = None
    screen: str | None = None
    window: str | None = None
    color_depth: int | None = None
    platform: str | None = None
    hardware_concurrency: int | None = None
    device_memory: float | None = None
    touch_points: int | None = None
    cookies_enabled: bool | None = None


@dataclass
class RadarSession(StripeObject):
    """A Radar Session (``rse_...``): the device data a browser collector sent.

    Stripe publishes only the id; the other fields are what radarcore's collector records and
    what the features read (``user_agent``, ``device_id``, ``ip_address``, ...).
    """

    id: str
    created: int
    object: Literal["radar.session"] = "radar.session"
    ip_address: str | None = None
    user_agent: str | None = None
    device_id: str | None = None
    timezone_offset: int | None = None
    automation: bool = False
    browser: RadarSessionBrowser | None = None
    livemode: bool = False
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class EvaluationSignal(StripeObject):
    """``signals.fraudulent_payment``: ``score`` 0..100 with two decimals, -1 when unscored."""

    evaluated_at: int
    risk_level: Literal["low", "normal", "elevated", "highest", "not_assessed", "unknown"]
    score: float


@dataclass
class EvaluationSignals(StripeObject):
    fraudulent_payment: EvaluationSignal


@dataclass
class EvaluationOutcome(StripeObject):
    """The authorisation outcome the caller reported for an evaluated payment."""

    type: Literal["failed", "merchant_blocked", "rejected", "rerouted", "succeeded"]
    payment_intent_id: str | None = None
    merchant_blocked: dict[str, Any] | None = None
    rejected: dict[str, Any] | None = None
    succeeded: dict[str, Any] | None = None


@dataclass
class EvaluationEvent(StripeObject):
    type: Literal[
        "dispute_opened",
        "early_fraud_warning_received",
        "refunded",
        "user_intervention_raised",
        "user_intervention_resolved",
    ]
    occurred_at: int
    details: dict[str, Any] | None = None


@dataclass
class PaymentEvaluation(StripeObject):
    """``radar.payment_evaluation``: a risk evaluation of a payment processed elsewhere."""

    id: str
    created_at: int
    recommended_action: Literal["block", "continue"]
    signals: EvaluationSignals
    object: Literal["radar.payment_evaluation"] = "radar.payment_evaluation"
    events: list[EvaluationEvent] = field(default_factory=list)
    livemode: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    outcome: EvaluationOutcome | None = None
    event: dict[str, Any] | None = field(default=None, metadata=PRIVATE)
