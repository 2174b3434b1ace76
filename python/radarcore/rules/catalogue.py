"""The catalogue of Radar rule attributes: Stripe's exact names, value types and allowed values.

Every attribute of reference sections 2.1 to 2.7 is listed, the velocity families generated from
the tables of 2.4 and 2.5 exactly as written there (entities × windows × prefixes).

>>> lookup("card_country").value_type
<ValueType.COUNTRY: 'country'>
>>> lookup("cvc_check").post_authorization
True
>>> lookup("amount_in_jpy").value_type
<ValueType.NUMERIC: 'numeric'>
>>> lookup("no_such_attribute") is None
True
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from itertools import product

__all__ = [
    "ATTRIBUTES",
    "CURRENCIES",
    "Attribute",
    "ValueType",
    "attribute_names",
    "lookup",
]


class ValueType(enum.Enum):
    """The value types of Stripe's attribute reference (section 1.6)."""

    CASE_INSENSITIVE_STRING = "case_insensitive_string"
    CASE_SENSITIVE_STRING = "case_sensitive_string"
    COUNTRY = "country"
    STATE = "state"
    NUMERIC = "numeric"
    BOUNDED_NUMERIC = "bounded_numeric"
    BOOLEAN = "boolean"

    @property
    def is_string(self) -> bool:
        """Whether values are strings (compared with `=`, `!=`, `IN`, `INCLUDES`, `LIKE`)."""
        return self in _STRING_TYPES

    @property
    def is_numeric(self) -> bool:
        """Whether values are numbers (compared with `=`, `!=`, `<`, `>`, `<=`, `>=`, `IN`)."""
        return self in (ValueType.NUMERIC, ValueType.BOUNDED_NUMERIC)


_STRING_TYPES = frozenset(
    {
        ValueType.CASE_INSENSITIVE_STRING,
        ValueType.CASE_SENSITIVE_STRING,
        ValueType.COUNTRY,
        ValueType.STATE,
    }
)


@dataclass(frozen=True)
class Attribute:
    """One rule attribute.

    ``allowed_values`` is the closed set of values Stripe lists for the attribute (compared
    case-insensitively for case-insensitive attributes), or ``None`` when any value is possible.
    ``bound`` is the cap of a bounded counter (25 for every documented one).
    """

    name: str
    value_type: ValueType
    post_authorization: bool = False
    allowed_values: frozenset[str] | None = None
    bound: int | None = None

    @property
    def case_sensitive(self) -> bool:
        """Whether string comparisons on this attribute respect case."""
        return self.value_type is ValueType.CASE_SENSITIVE_STRING


_CURRENCY_CODES = (
    "aed ars aud brl cad chf clp cop czk dkk eur gbp hkd huf idr ils inr jpy khr krw mxn myr nok "
    "nzd php pln ron rub sek sgd thb try twd usd"
)
CURRENCIES: tuple[str, ...] = tuple(_CURRENCY_CODES.split(" "))

_CI = ValueType.CASE_INSENSITIVE_STRING
_CS = ValueType.CASE_SENSITIVE_STRING
_NUM = ValueType.NUMERIC
_BOOL = ValueType.BOOLEAN
_W4 = ("all_time", "weekly", "daily", "hourly")
_T3 = ("daily", "hourly", "weekly")
_OUTCOMES = ("authorized", "blocked", "declined", "total")
_CHECK_VALUES = frozenset({"pass", "fail", "unavailable", "unchecked", "not_provided"})


def _closed(*values: str) -> frozenset[str]:
    return frozenset(values)


def _scalars() -> list[Attribute]:
    attrs = [
        Attribute(
            "risk_level",
            _CI,
            allowed_values=_closed("normal", "elevated", "highest", "not_assessed"),
        ),
        Attribute("risk_score", _NUM),
        Attribute("billing_address", _CI),
        Attribute("shipping_address", _CI),
    ]
    for prefix in ("billing_address", "shipping_address"):
        attrs += [
            Attribute(f"{prefix}_{part}", _CI)
            for part in ("line1", "line2", "postal_code", "city", "state")
        ]
        attrs.append(Attribute(f"{prefix}_country", ValueType.COUNTRY))
    attrs += [Attribute(f"amount_in_{code}", _NUM) for code in CURRENCIES]
    attrs += [
        Attribute("browser", _CI),
        Attribute("isp", _CI),
        Attribute("operating_system", _CI),
        Attribute("user_agent", _CI),
        Attribute("customer", _CS),
        Attribute("distance_between_billing_and_shipping_address", _NUM),
        Attribute("distance_between_ip_and_billing_address", _NUM),
        Attribute("distance_between_ip_and_shipping_address", _NUM),
        Attribute("email", _CI),
        Attribute("email_commonality", _CI, allowed_values=_closed("common", "uncommon", "rare")),
        Attribute("email_domain", _CI),
        Attribute("is_disposable_email", _BOOL),
        Attribute("ip_address", _CI),
        Attribute(
            "ip_address_connection_type",
            _CI,
            allowed_values=_closed("cable/dsl", "cellular", "corporate", "dialup"),
        ),
        Attribute("ip_country", ValueType.COUNTRY),
        Attribute("ip_state", ValueType.STATE),
        Attribute("is_anonymous_ip", _BOOL),
        Attribute("is_my_login_ip", _BOOL),
        Attribute(
            "payment_method_type",
            _CI,
            allowed_values=_closed("card", "sepa_debit", "us_bank_account"),
        ),
        Attribute("charge_description", _CI),
        Attribute("crypto_fingerprint", _CS),
        Attribute("crypto_payins_network", _CI),
        Attribute("crypto_payins_token_currency", _CI),
        Attribute("currency", _CI),
        Attribute("destination", _CS),
        Attribute("is_checkout", _BOOL),
        Attribute("is_off_session", _BOOL),
        Attribute("is_recurring", _BOOL),
        Attribute("is_setup_intent", _BOOL),
        Attribute(
            "transaction_type",
            _CI,
            allowed_values=_closed("charge", "payment_intent", "setup_intent"),
        ),
    ]
    return attrs


def _card() -> list[Attribute]:
    return [
        Attribute("is_3d_secure", _BOOL),
        Attribute("is_3d_secure_authenticated", _BOOL),
        Attribute("has_liability_shift", _BOOL),
        Attribute("card_bin", _CI),
        Attribute(
            "card_brand",
            _CI,
            allowed_values=_closed(
                "amex", "visa", "mc", "dscvr", "diners", "interac", "jcb", "cup"
            ),
        ),
        Attribute("card_country", ValueType.COUNTRY),
        Attribute("card_fingerprint", _CS),
        Attribute(
            "card_funding", _CI, allowed_values=_closed("credit", "debit", "prepaid", "unknown")
        ),
        Attribute("card_description", _CI),
        Attribute("card_issuer", _CI),
        Attribute(
            "card_3d_secure_result",
            _CI,
            allowed_values=_closed(
                "authenticated", "attempt_acknowledged", "processing_error", "exempted"
            ),
        ),
        Attribute(
            "card_3d_secure_support",
            _CI,
            allowed_values=_closed("required", "recommended", "optional", "not_supported"),
        ),
        Attribute("statement_descriptor", _CI),
        Attribute("is_new_card_on_customer", _BOOL),
        Attribute(
            "address_line1_check", _CS, post_authorization=True, allowed_values=_CHECK_VALUES
        ),
        Attribute("address_zip_check", _CS, post_authorization=True, allowed_values=_CHECK_VALUES),
        Attribute("cvc_check", _CS, post_authorization=True, allowed_values=_CHECK_VALUES),
        Attribute("cardholder_name", _CI),
        Attribute(
            "digital_wallet",
            _CI,
            allowed_values=_closed(
                "android_pay",
                "amex_express_checkout",
                "apple_pay",
                "masterpass",
                "network_token",
                "samsung_pay",
                "visa_checkout",
                "meta_pay",
                "amazon_pay",
                "revolut_pay",
                "demo_pay",
                "unknown",
                "none",
            ),
        ),
        Attribute("has_cryptogram", _BOOL),
    ]


def _bank() -> list[Attribute]:
    return [
        Attribute("us_bank_account_bank_name", _CI),
        Attribute("us_bank_account_fingerprint", _CS),
        Attribute("us_bank_account_routing_number", _CI),
        Attribute("sepa_debit_bank_code", _CI),
        Attribute("sepa_debit_country", ValueType.COUNTRY),
        Attribute("sepa_debit_fingerprint", _CS),
    ]


def _velocity() -> list[str]:
    numeric: list[str] = []
    entities = (
        "billing_address",
        "card_number",
        "customer",
        "email",
        "ip_address",
        "shipping_address",
    )
    for outcome, entity, window in product(_OUTCOMES, entities, _W4):
        numeric.append(f"{outcome}_charges_per_{entity}_{window}")
    for outcome, entity, window in product(_OUTCOMES, entities, _T3):
        numeric.append(f"{outcome}_transactions_per_{entity}_{window}")
    for outcome, window in product(_OUTCOMES, _T3):
        numeric.append(f"{outcome}_transactions_per_payment_instrument_fingerprint_{window}")
    numeric.append("total_transactions_per_payment_instrument_fingerprint_all_time")
    return numeric


def _bounded() -> list[str]:
    names: list[str] = []
    card_entities = ("billing_address", "customer", "email", "ip_address", "shipping_address")
    email_entities = ("billing_address", "ip", "shipping_address", "card")
    for family, entities in (
        ("card_count_for", card_entities),
        ("email_count_for", email_entities),
    ):
        for entity in entities:
            names += [f"{family}_{entity}_{w}" for w in _W4]
            names += [f"{family}_{entity}_transactions_{w}" for w in _T3]
    names += [f"name_count_for_card_{w}" for w in _W4]
    names += [f"name_count_for_card_transactions_{w}" for w in _T3]
    for entity in ("email", "card"):
        names += [f"total_customers_for_{entity}_{w}" for w in ("yearly", "weekly")]
        names.append(f"total_customers_for_{entity}_transactions_weekly")
    for entity in ("email", "card"):
        names += [
            f"total_customers_with_prior_fraud_activity_for_{entity}_{w}"
            for w in ("yearly", "weekly")
        ]
    names += [f"dispute_count_on_ip_{w}" for w in _W4]
    names += [f"dispute_count_on_card_number_{w}" for w in ("all_time", "yearly")]
    names += [f"efw_count_on_card_{w}" for w in _W4]
    names += [f"efw_count_on_ip_{w}" for w in _W4]
    names += [f"refund_count_on_card_{w}" for w in _W4]
    return names


def _amounts_and_time_since() -> list[str]:
    names: list[str] = []
    for owner in ("customer", "card"):
        names += [
            f"average_usd_amount_attempted_on_{owner}_all_time",
            f"average_usd_amount_successful_on_{owner}_all_time",
            f"total_usd_amount_charged_on_{owner}_all_time",
            f"total_usd_amount_failed_on_{owner}_all_time",
            f"total_usd_amount_successful_on_{owner}_all_time",
        ]
    for kind, outcome in product(("average", "total"), ("attempted", "successful")):
        names.append(f"{kind}_usd_amount_{outcome}_on_payment_instrument_fingerprint_all_time")
    since = [
        "customer_was_created",
        "email_first_seen",
        "email_first_seen_on_stripe",
        "card_first_seen",
        "first_successful_auth_on_card",
    ]
    since += [f"{event}_on_transactions" for event in since]
    since += [
        "per_payment_instrument_fingerprint_first_seen",
        "first_successful_auth_on_payment_instrument_fingerprint",
    ]
    for unit, event in product(("hours", "minutes", "seconds"), since):
        names.append(f"{unit}_since_{event}")
    return names


def _scores() -> list[str]:
    return [
        "fraudulent_payment_score",
        "fraudulent_dispute_score",
        "early_fraud_warning_score",
        "bot_score",
    ]


def _platform() -> list[Attribute]:
    attrs = [
        Attribute("account", _CS),
        Attribute("days_since_account_was_created", _NUM),
        Attribute(
            "account_risk_level", _CI, allowed_values=_closed("normal", "elevated", "highest")
        ),
        Attribute("account_fraud_risk_score", _NUM),
        Attribute("account_country", ValueType.COUNTRY),
        Attribute("business_type", _CI),
        Attribute("treasury_transaction_risk_level", _CI),
    ]
    periods = ("monthly", "weekly", "daily")
    measures = (
        "dispute_count",
        "usd_amount_disputed",
        "failure_count",
        "usd_amount_failed",
        "refund_count",
        "usd_amount_refunded",
        "total_transaction_count",
        "transaction_count",
        "total_usd_amount_charged",
        "usd_amount_charged",
        "efw_count",
        "efw_usd_amount",
        "dispute_rate",
        "failure_rate",
        "refund_rate",
        "charge_count",
    )
    attrs += [Attribute(f"{m}_for_account_{p}", _NUM) for m, p in product(measures, periods)]
    attrs += [Attribute(f"bank_account_change_count_{p}", _NUM) for p in periods]
    return attrs


def _build() -> tuple[Attribute, ...]:
    attrs = _scalars() + _card() + _bank()
    attrs += [Attribute(name, _NUM) for name in _velocity()]
    attrs += [Attribute(name, ValueType.BOUNDED_NUMERIC, bound=25) for name in _bounded()]
    attrs += [Attribute(name, _NUM) for name in _amounts_and_time_since() + _scores()]
    attrs += _platform()
    names = [a.name for a in attrs]
    assert len(names) == len(set(names)), "duplicate attribute names in the catalogue"
    return tuple(attrs)


ATTRIBUTES: tuple[Attribute, ...] = _build()
"""Every attribute radarcore knows, in catalogue order."""

_BY_NAME = {a.name: a for a in ATTRIBUTES}


def lookup(name: str) -> Attribute | None:
    """The attribute called ``name`` (Stripe's exact, lower-case name), or ``None``."""
    return _BY_NAME.get(name)


def attribute_names() -> tuple[str, ...]:
    """The names of every attribute, in catalogue order."""
    return tuple(_BY_NAME)
