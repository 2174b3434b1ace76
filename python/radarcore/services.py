"""The engine's services, named and shaped like the official Stripe client's.

Every method takes Stripe's parameters, either as keyword arguments or as one ``params`` dict
(``radar.refunds.create(charge=ch.id)`` or ``radar.refunds.create({"charge": ch.id})``), checks
them as Stripe does (unknown, missing, mistyped parameters raise
:class:`radarcore.InvalidRequestError` with Stripe's message and ``param``, before anything is
written) and returns typed objects from :mod:`radarcore.objects`. ``create`` and the other
writing methods accept ``idempotency_key``: the same key with the same parameters returns the
first result (or raises the first error) without doing anything again; with other parameters it
raises :class:`radarcore.IdempotencyError`.

A payment Radar blocks or the issuer declines raises :class:`radarcore.CardError` (as Stripe's
API does) after its Charge and PaymentIntent have been written; the error's ``decline_code`` is
``fraudulent`` (risk), ``merchant_blacklist`` (a default block list) or ``generic_decline``.

Parameters radarcore adds to Stripe's (for what a gateway knows that Stripe's servers would):
``card[fingerprint|bin|last4]`` for cards tokenized elsewhere, ``card[brand|funding|country]``
overriding the BIN table, ``card[checks]`` (the issuer's CVC/address checks),
``three_d_secure_result`` on ``payment_intents.confirm`` (the 3D Secure result after a
``requires_action``), ``radar.disputes.create`` and ``radar.early_fraud_warnings.create`` (what
the card network sends), and ``radar.charges.add_to_allow_list``.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar

from radarcore._params import P, Spec, check
from radarcore.cards import (
    TEST_CARD_RISK,
    TEST_PAYMENT_METHODS,
    card_fingerprint,
    lookup_bin,
    luhn_valid,
    normalize_number,
)
from radarcore.errors import (
    CardError,
    IdempotencyError,
    InvalidRequestError,
    StripeError,
    ValueListError,
)
from radarcore.objects import (
    OBJECT_TYPES,
    Address,
    BillingDetails,
    Card,
    CardChecks,
    Charge,
    Customer,
    DeletedObject,
    Dispute,
    EarlyFraudWarning,
    EvaluationEvent,
    EvaluationOutcome,
    EvaluationSignal,
    EvaluationSignals,
    ListObject,
    PaymentEvaluation,
    PaymentIntent,
    PaymentMethod,
    PaymentMethodDetails,
    PaymentMethodDetailsCard,
    RadarOptions,
    RadarSession,
    RadarSessionBrowser,
    Refund,
    Review,
    SetupIntent,
    Shipping,
    StripeObject,
    ThreeDSecure,
    ValueList,
    ValueListItem,
    new_id,
)
from radarcore.rules import ValueList as RuleValueList
from radarcore.rules.lists import DEFAULT_LIST_KINDS, ITEM_TYPES
from radarcore.store import Range
from radarcore.store._base import decode_object

if TYPE_CHECKING:
    from radarcore.radar import Assessment, Radar

__all__ = [
    "ChargeService",
    "CustomerService",
    "DisputeService",
    "EarlyFraudWarningService",
    "PaymentEvaluationService",
    "PaymentIntentService",
    "PaymentMethodService",
    "RadarSessionService",
    "RefundService",
    "ReviewService",
    "SetupIntentService",
    "StripeList",
    "ValueListItemService",
    "ValueListService",
    "ensure_default_lists",
    "load_rule_lists",
]

T = TypeVar("T", bound=StripeObject)

_MAX_AMOUNT = 99_999_999
_SESSION_CACHE_SIZE = 4096
_READ_ONLY_CACHE_SIZE = 4096
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")

# --- parameter specs ---------------------------------------------------------------------------

_ADDRESS: Spec = {k: P() for k in ("city", "country", "line1", "line2", "postal_code", "state")}
_BILLING: Spec = {
    "address": P("object", fields=_ADDRESS),
    "email": P(),
    "name": P(),
    "phone": P(),
}
_SHIPPING: Spec = {
    "address": P("object", required=True, fields=_ADDRESS),
    "name": P(required=True),
    "phone": P(),
    "carrier": P(),
    "tracking_number": P(),
}
_RADAR_OPTIONS: Spec = {"session": P()}
_CHECK = ("pass", "fail", "unavailable", "unchecked")
_CARD: Spec = {
    "number": P(),
    "exp_month": P("int"),
    "exp_year": P("int"),
    "cvc": P(),
    "token": P(),
    "fingerprint": P(),
    "bin": P(),
    "last4": P(),
    "brand": P(),
    "funding": P(choices=("credit", "debit", "prepaid", "unknown")),
    "country": P(),
    "wallet": P(),
    "checks": P(
        "object",
        fields={
            "cvc_check": P(choices=_CHECK),
            "address_line1_check": P(choices=_CHECK),
            "address_postal_code_check": P(choices=_CHECK),
        },
    ),
}
_PM_DATA: Spec = {
    "type": P(required=True),
    "card": P("object", fields=_CARD),
    "sepa_debit": P("object", fields={"iban": P(required=True)}),
    "us_bank_account": P(
        "object",
        fields={
            "account_number": P(required=True),
            "routing_number": P(required=True),
            "account_holder_type": P(choices=("individual", "company")),
        },
    ),
    "billing_details": P("object", fields=_BILLING),
    "metadata": P("metadata"),
    "radar_options": P("object", fields=_RADAR_OPTIONS),
}
_LIST: Spec = {
    "limit": P("int", minimum=1, maximum=100),
    "starting_after": P(),
    "ending_before": P(),
}
#: ``_LIST`` with Stripe's ``created`` filter (an integer, or ``gt``/``gte``/``lt``/``lte``).
_LIST_CREATED: Spec = {**_LIST, "created": P("range")}


def _merge(params: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(params or {})
    merged.update(kwargs)
    return merged


def _name(path: str | None, key: str) -> str:
    """Stripe's name of a nested parameter: ``payment_method_data[card]``."""
    return key if path is None else f"{path}[{key}]"


def _missing(noun: str, object_id: str, param: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"No such {noun}: '{object_id}'", param=param, code="resource_missing"
    )


def _merged_metadata(current: Mapping[str, str], update: Mapping[str, str]) -> dict[str, str]:
    """Stripe's metadata update: the keys given are set, a key given as ``""`` is removed."""
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


@dataclass
class StripeList(Generic[T]):
    """A page of a list endpoint: ``data`` newest first, ``has_more``, Stripe's ``url``."""

    data: list[T]
    has_more: bool
    url: str
    object: Literal["list"] = "list"

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def to_dict(self) -> dict[str, Any]:
        return ListObject(
            url=self.url, data=[o.to_dict() for o in self.data], has_more=self.has_more
        ).to_dict()


@dataclass
class Unit:
    """Writes of one request: committed together, then the post-commit actions run.
    ``events`` are the Stripe events the request produced (given to ``radar.event_sink``
    before the commit)."""

    after_commit: list[Callable[[], None]] = field(default_factory=list)
    events: list[tuple[str, StripeObject]] = field(default_factory=list)


class _UnitScope:
    """A writing request's unit, re-entrant: the outermost one holds the engine's lock, opens
    the store's transaction and catches up with what other engines committed; at the end it
    gives the request's events to ``radar.event_sink``, commits (or, when the block raised,
    rolls back) and then runs the post-commit actions. Nested ones join it. (A class rather
    than a generator context manager: one is entered per request.)"""

    __slots__ = ("_radar", "_transaction", "_unit")

    def __init__(self, radar: Radar) -> None:
        self._radar = radar
        self._transaction: AbstractContextManager[None] | None = None
        self._unit: Unit | None = None

    def __enter__(self) -> Unit:
        radar = self._radar
        radar._lock.acquire()
        current = radar._current_unit
        if current is not None:
            return current
        try:
            unit = radar._current_unit = Unit()
            transaction = radar.store.transaction()
            transaction.__enter__()
            try:
                radar._catch_up()
            except BaseException:
                transaction.__exit__(*sys.exc_info())
                raise
        except BaseException:
            radar._current_unit = None
            radar._lock.release()
            raise
        self._transaction, self._unit = transaction, unit
        return unit

    def __exit__(self, exc_type: type[BaseException] | None, *exc: Any) -> None:
        radar = self._radar
        try:
            transaction, unit = self._transaction, self._unit
            if transaction is None or unit is None:
                return
            try:
                if exc_type is None and unit.events and radar.event_sink is not None:
                    try:
                        radar.event_sink(unit)
                    except BaseException:
                        transaction.__exit__(*sys.exc_info())
                        raise
                transaction.__exit__(exc_type, *exc)
            finally:
                radar._current_unit = None
            if exc_type is None:
                for action in unit.after_commit:
                    action()
        finally:
            radar._lock.release()


class _Service:
    def __init__(self, radar: Radar) -> None:
        self._radar = radar
        self._store = radar.store

    def _now(self) -> int:
        return self._radar.clock()

    def _get(self, object_id: str, cls: type[T], noun: str, param: str) -> T:
        obj = self._store.get(object_id) if isinstance(object_id, str) else None
        if not isinstance(obj, cls):
            raise _missing(noun, str(object_id), param)
        return obj

    def _read_only(self, object_id: str, cls: type[T], noun: str, param: str) -> T:
        """:meth:`_get` for a payment that only reads the object (never changes it, never hands
        it to the caller): the object decoded for an earlier payment while its stored document
        is the same, which saves decoding it again. The read itself still goes to the store, so
        a change by any process (or a rolled-back one) is seen."""
        document = self._store.document(object_id) if isinstance(object_id, str) else None
        if document is None:
            raise _missing(noun, str(object_id), param)
        cache = self._radar._read_only
        cached = cache.get(object_id)
        if cached is not None and cached[0] == document:
            obj = cached[1]
        else:
            obj = decode_object(document)
            _keep(cache, object_id, (document, obj), _READ_ONLY_CACHE_SIZE)
        if not isinstance(obj, cls):
            raise _missing(noun, str(object_id), param)
        return obj

    def _stored_copy(self, object_id: str) -> tuple[bytes | str, StripeObject]:
        """An object this request wrote, as stored: its document and a copy decoded from it,
        for the engine's read caches (never the caller's object, which the caller may
        change)."""
        document = self._store.document(object_id)
        if document is None:
            raise AssertionError(f"{object_id} was just written")
        return document, decode_object(document)

    def _unit(self) -> AbstractContextManager[Unit]:
        return _UnitScope(self._radar)

    def _record(
        self,
        unit: Unit,
        kind: str,
        created: int,
        payment: str,
        payload: dict[str, Any],
        packed: Any = None,
    ) -> None:
        """Log an entry; once committed it updates the velocity state (``packed``: the event
        already packed for the core, to save packing it again)."""
        seq = self._store.append_event(kind, created, payment, payload)
        unit.after_commit.append(
            lambda: self._radar._after_commit(seq, kind, created, payload, packed)
        )

    def _idempotent(
        self,
        key: str | None,
        endpoint: str,
        params: Mapping[str, Any],
        run: Callable[[Unit], tuple[T, StripeError | None]],
    ) -> T:
        """Run a writing request in one transaction, once per idempotency key."""
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 255):
            raise InvalidRequestError(
                "Idempotency keys must be strings of 1 to 255 characters.",
                param="idempotency_key",
            )
        fingerprint = ""
        # The key is looked up inside the transaction: it holds the database's write lock, so
        # two processes given the same key cannot both run the request (and the unit holds the
        # engine's lock, so two threads cannot either).
        with self._unit() as unit:
            if key is not None:
                fingerprint = hashlib.sha256(
                    (endpoint + json.dumps(params, sort_keys=True, default=str)).encode()
                ).hexdigest()
                stored = self._store.idempotent_response(key)
                if stored is not None:
                    return self._replay(key, fingerprint, *stored)  # type: ignore[return-value]
            obj, error = run(unit)
            if key is not None:
                response = {
                    "object": obj.to_record(),
                    "error": None if error is None else _error_record(error),
                }
                self._store.save_idempotent_response(key, fingerprint, response)
        if error is not None:
            raise error
        return obj

    @staticmethod
    def _replay(
        key: str, fingerprint: str, stored_fingerprint: str, response: dict[str, Any]
    ) -> StripeObject:
        if stored_fingerprint != fingerprint:
            raise IdempotencyError(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                code="idempotency_key_in_use",
            )
        record = response["object"]
        obj = OBJECT_TYPES[record["object"]].from_dict(record)
        if response["error"] is not None:
            raise _error_from_record(response["error"])
        return obj


def _keep(cache: dict[str, Any], key: str, value: Any, size: int) -> None:
    """Put ``value`` in a first-in-first-out ``cache`` of at most ``size`` entries."""
    if key not in cache and len(cache) >= size:
        del cache[next(iter(cache))]
    cache[key] = value


def _error_record(error: StripeError) -> dict[str, Any]:
    return {**error.to_dict()["error"], "http_status": error.http_status}


def _error_from_record(record: dict[str, Any]) -> StripeError:
    kwargs = {k: record.get(k) for k in ("param", "code")}
    status = record["http_status"]
    if record["type"] == "card_error":
        return CardError(
            record["message"],
            decline_code=record.get("decline_code"),
            http_status=status,
            charge=record.get("charge"),
            payment_intent=record.get("payment_intent"),
            **kwargs,
        )
    return InvalidRequestError(record["message"], http_status=status, **kwargs)


def _address(data: Mapping[str, Any] | None) -> Address:
    return Address(**dict(data or {}))


def _billing(data: Mapping[str, Any] | None) -> BillingDetails:
    data = dict(data or {})
    return BillingDetails(
        address=_address(data.get("address")),
        email=data.get("email"),
        name=data.get("name"),
        phone=data.get("phone"),
    )


def _shipping(data: Mapping[str, Any] | None) -> Shipping | None:
    if not data:
        return None
    return Shipping(
        address=_address(data.get("address")), name=data.get("name"), phone=data.get("phone")
    )


def _check_amount(amount: int, currency: str) -> None:
    if amount < 1:
        raise InvalidRequestError(
            "This value must be greater than or equal to 1.",
            param="amount",
            code="parameter_invalid_integer",
        )
    if amount > _MAX_AMOUNT:
        raise InvalidRequestError(
            "Amount must be no more than $999,999.99", param="amount", code="amount_too_large"
        )
    if currency == "usd" and amount < 50:
        raise InvalidRequestError(
            "Amount must be at least $0.50 usd", param="amount", code="amount_too_small"
        )


@functools.cache
def _currencies() -> frozenset[str]:
    from radarcore.features import default_currency_rates

    return frozenset(default_currency_rates())


def _check_currency(currency: str) -> str:
    lowered = currency.lower()
    if lowered not in _currencies():
        raise InvalidRequestError(
            f"Invalid currency: {currency}. Stripe currently supports these currencies: "
            + ", ".join(sorted(_currencies())),
            param="currency",
        )
    return lowered


def _emails(*texts: str | None) -> list[str]:
    found: list[str] = []
    for text in texts:
        if text:
            found += [m.lower() for m in _EMAIL.findall(text)]
    return list(dict.fromkeys(found))


# --- lists shared with the engine ------------------------------------------------------------


def ensure_default_lists(radar: Radar) -> None:
    """Create Radar's default allow and block lists in the store where they are missing."""
    store = radar.store
    with store.transaction():
        for kind, (item_type, _) in sorted(DEFAULT_LIST_KINDS.items()):
            for verb in ("allow", "block"):
                alias = f"default_{kind}_{verb}_list"
                if store.list("radar.value_list", alias=alias, limit=1)[0]:
                    continue
                store.put(
                    ValueList(
                        id=new_id("rsl"),
                        created=radar.clock(),
                        alias=alias,
                        name=f"Default {kind.replace('_', ' ')} {verb} list",
                        created_by="radarcore",
                        item_type=item_type,
                        livemode=radar.settings.livemode,
                    )
                )


def load_rule_lists(radar: Radar) -> list[RuleValueList]:
    """The stored value lists, with their items, as the rules read them."""
    lists = []
    for stored in radar.store.list("radar.value_list", limit=None)[0]:
        assert isinstance(stored, ValueList)
        rule_list = RuleValueList(
            stored.alias,
            item_type=stored.item_type,
            name=stored.name,
            max_lifetime=radar.default_list_lifetime(stored.alias),
        )
        items = radar.store.list("radar.value_list_item", limit=None, value_list=stored.id)[0]
        for item in reversed(items):
            assert isinstance(item, ValueListItem)
            rule_list.add(item.value, created=item.created)
        lists.append(rule_list)
    return lists


# --- services ----------------------------------------------------------------------------------


class CustomerService(_Service):
    """``radar.customers``: the Customer a payment belongs to (email, age, other cards)."""

    _SPEC: ClassVar[Spec] = {
        "email": P(max_length=512),
        "name": P(),
        "phone": P(),
        "description": P(),
        "metadata": P("metadata"),
    }

    def create(
        self,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> Customer:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[Customer, None]:
            p = check(self._SPEC, request)
            customer = Customer(
                id=new_id("cus"), created=self._now(), livemode=self._radar.settings.livemode, **p
            )
            self._store.put(customer)
            return customer, None

        return self._idempotent(idempotency_key, "POST /v1/customers", request, run)

    def retrieve(self, id: str) -> Customer:
        return self._get(id, Customer, "customer", "id")

    def update(
        self,
        id: str,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> Customer:
        """Stripe's Customer update: the fields given replace the stored ones; metadata is
        merged (a key given as ``""`` is removed)."""
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[Customer, None]:
            p = check(self._SPEC, request)
            customer = self.retrieve(id)
            if "metadata" in p:
                p["metadata"] = _merged_metadata(customer.metadata, p["metadata"])
            for key, value in p.items():
                setattr(customer, key, value)
            self._store.put(customer)
            return customer, None

        return self._idempotent(idempotency_key, f"POST /v1/customers/{id}", request, run)


class RadarSessionService(_Service):
    """``radar.radar_sessions``: device data from the browser collector (``rse_...``)."""

    _SPEC: ClassVar[Spec] = {
        "ip_address": P(),
        "user_agent": P(),
        "device_id": P(),
        "timezone_offset": P("int", minimum=-840, maximum=840),
        "automation": P("bool"),
        "browser": P(
            "object",
            fields={
                "languages": P("list"),
                "timezone": P(max_length=100),
                "screen": P(max_length=40),
                "window": P(max_length=40),
                "color_depth": P("int", minimum=0, maximum=128),
                "platform": P(max_length=200),
                "hardware_concurrency": P("int", minimum=0, maximum=4096),
                "device_memory": P("float"),
                "touch_points": P("int", minimum=0, maximum=1024),
                "cookies_enabled": P("bool"),
            },
        ),
        "metadata": P("metadata"),
    }

    def create(
        self,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> RadarSession:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[RadarSession, None]:
            p = check(self._SPEC, request)
            if "ip_address" in p:
                try:
                    ipaddress.ip_address(p["ip_address"])
                except ValueError:
                    raise InvalidRequestError(
                        f"Invalid IP address: {p['ip_address']}", param="ip_address"
                    ) from None
            browser = p.pop("browser", None)
            session = RadarSession(
                id=new_id("rse"),
                created=self._now(),
                livemode=self._radar.settings.livemode,
                browser=None if browser is None else RadarSessionBrowser(**browser),
                **p,
            )
            self._store.put(session)
            # The payments that read the session take it from the engine's cache: decode it
            # now, in the request that created it, not in the first payment (after the commit,
            # so a rolled-back session is never cached).
            _, stored = self._stored_copy(session.id)
            unit.after_commit.append(
                lambda: _keep(self._radar._sessions, session.id, stored, _SESSION_CACHE_SIZE)
            )
            return session, None

        return self._idempotent(idempotency_key, "POST /v1/radar/sessions", request, run)

    def retrieve(self, id: str) -> RadarSession:
        return self._get(id, RadarSession, "radar session", "id")


class PaymentMethodService(_Service):
    """``radar.payment_methods``: cards (never stored: a keyed fingerprint, BIN and last 4),
    SEPA debits and US bank accounts; ``radar_options[session]`` attaches a Radar Session."""

    _SPEC: ClassVar[Spec] = {**_PM_DATA, "customer": P()}

    def create(
        self,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> PaymentMethod:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[PaymentMethod, None]:
            p = check(self._SPEC, request)
            customer = p.pop("customer", None)
            if customer is not None:
                self._get(customer, Customer, "customer", "customer")
            pm = self.build(p, path=None)
            pm.customer = customer
            self._store.put(pm)
            # As for sessions: the first payment with it finds it decoded (see _read_only).
            stored = self._stored_copy(pm.id)
            unit.after_commit.append(
                lambda: _keep(self._radar._read_only, pm.id, stored, _READ_ONLY_CACHE_SIZE)
            )
            return pm, None

        return self._idempotent(idempotency_key, "POST /v1/payment_methods", request, run)

    def retrieve(self, id: str) -> PaymentMethod:
        return self._get(id, PaymentMethod, "PaymentMethod", "payment_method")

    _UPDATE: ClassVar[Spec] = {
        "billing_details": P("object", fields=_BILLING),
        "card": P(
            "object",
            fields={
                "exp_month": P("int", minimum=1, maximum=12),
                "exp_year": P("int", minimum=1970, maximum=2100),
            },
        ),
        "metadata": P("metadata"),
    }

    def update(
        self,
        id: str,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> PaymentMethod:
        """Stripe's PaymentMethod update: billing details (the fields given replace the
        stored ones), a card's expiry, metadata; only for a PaymentMethod saved to a
        customer, as in Stripe."""
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[PaymentMethod, None]:
            p = check(self._UPDATE, request)
            pm = self.retrieve(id)
            if pm.customer is None:
                raise InvalidRequestError(
                    "You must save this PaymentMethod to a customer before you can update it.",
                    param="payment_method",
                )
            if "card" in p:
                if pm.card is None:
                    raise InvalidRequestError(
                        f"You cannot update `card` on a PaymentMethod of type {pm.type}.",
                        param="card",
                    )
                for key, value in p["card"].items():
                    setattr(pm.card, key, value)
            billing = p.get("billing_details", {})
            for key, value in billing.items():
                if key == "address":
                    for part, text in value.items():
                        setattr(pm.billing_details.address, part, text)
                else:
                    setattr(pm.billing_details, key, value)
            if "metadata" in p:
                pm.metadata = _merged_metadata(pm.metadata, p["metadata"])
            self._store.put(pm)
            return pm, None

        return self._idempotent(idempotency_key, f"POST /v1/payment_methods/{id}", request, run)

    def list(
        self, params: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> StripeList[PaymentMethod]:
        """Newest first; ``customer`` is an indexed filter, ``type`` is checked on what the
        other filters select."""
        p = check({**_LIST, "customer": P(), "type": P()}, _merge(params, kwargs))
        kind = p.pop("type", None)
        url = "/v1/payment_methods"
        if kind is None:
            return _list(self._store, "payment_method", url, p)
        return _list(self._store, "payment_method", url, p, lambda pm: pm.type == kind)

    def attach(self, id: str, *, customer: str) -> PaymentMethod:
        def run(unit: Unit) -> tuple[PaymentMethod, None]:
            pm = self.retrieve(id)
            self._get(customer, Customer, "customer", "customer")
            pm.customer = customer
            self._store.put(pm)
            return pm, None

        return self._idempotent(None, "POST /v1/payment_methods/attach", {}, run)

    def detach(self, id: str) -> PaymentMethod:
        """Detach it from its customer (Stripe's error when it is attached to none)."""

        def run(unit: Unit) -> tuple[PaymentMethod, None]:
            pm = self.retrieve(id)
            if pm.customer is None:
                raise InvalidRequestError(
                    "The payment method you provided is not attached to a customer so "
                    "detachment is impossible.",
                    param="payment_method",
                )
            pm.customer = None
            self._store.put(pm)
            return pm, None

        return self._idempotent(None, f"POST /v1/payment_methods/{id}/detach", {}, run)

    def resolve(self, id: str, param: str, *, read_only: bool = False) -> PaymentMethod:
        """A stored PaymentMethod, or a new one for Stripe's test ids (``pm_card_visa``);
        ``read_only``: for a payment that will not change it (see :meth:`_read_only`)."""
        number = TEST_PAYMENT_METHODS.get(id)
        if number is not None:
            pm = self.build(
                {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034}},
                path=None,
            )
            self._store.put(pm)
            return pm
        if read_only:
            return self._read_only(id, PaymentMethod, "PaymentMethod", param)
        return self._get(id, PaymentMethod, "PaymentMethod", param)

    def build(self, p: Mapping[str, Any], *, path: str | None) -> PaymentMethod:
        """A new PaymentMethod from checked ``payment_method_data``-style parameters."""
        radar = self._radar
        kind = p["type"]
        session = (p.get("radar_options") or {}).get("session")
        if session is not None:
            self._get(
                session,
                RadarSession,
                "radar session",
                _name(_name(path, "radar_options"), "session"),
            )
        pm = PaymentMethod(
            id=new_id("pm"),
            created=self._now(),
            type=kind,
            billing_details=_billing(p.get("billing_details")),
            livemode=radar.settings.livemode,
            metadata=p.get("metadata", {}),
            radar_options=None if session is None else RadarOptions(session=session),
        )
        if kind == "card":
            card = p.get("card")
            if card is None:
                raise InvalidRequestError(
                    f"Missing required param: {_name(path, 'card')}.",
                    param=_name(path, "card"),
                    code="parameter_missing",
                )
            pm.card, pm.test_risk = self._card(card, _name(path, "card"))
        elif kind in ("sepa_debit", "us_bank_account"):
            details = p.get(kind)
            if details is None:
                raise InvalidRequestError(
                    f"Missing required param: {_name(path, kind)}.",
                    param=_name(path, kind),
                    code="parameter_missing",
                )
        return pm

    def _card(self, card: Mapping[str, Any], param: str) -> tuple[Card, str | None]:
        number = card.get("number")
        token = card.get("token")
        if token is not None:
            number = TEST_PAYMENT_METHODS.get(token)
            if number is None:
                raise _missing("token", token, f"{param}[token]")
        checks = CardChecks(**card.get("checks", {}))
        if number is None:
            fingerprint = card.get("fingerprint")
            if fingerprint is None:
                raise InvalidRequestError(
                    f"Missing required param: {param}[number].",
                    param=f"{param}[number]",
                    code="parameter_missing",
                )
            bin_ = card.get("bin")
            info = lookup_bin(bin_) if bin_ else None
            test_risk = None
            last4 = card.get("last4", "")
        else:
            digits = normalize_number(number)
            if not digits.isdigit() or not 12 <= len(digits) <= 19 or not luhn_valid(digits):
                raise CardError(
                    "Your card number is incorrect.",
                    param=f"{param}[number]",
                    code="incorrect_number",
                )
            info = lookup_bin(digits)
            bin_ = digits[:6]
            fingerprint = card_fingerprint(self._radar.fingerprint_key, digits)
            test_risk = TEST_CARD_RISK.get(digits)
            last4 = digits[-4:]
        for key in ("exp_month", "exp_year"):
            if key not in card and token is None:
                raise InvalidRequestError(
                    f"Missing required param: {param}[{key}].",
                    param=f"{param}[{key}]",
                    code="parameter_missing",
                )
        exp_month = int(card.get("exp_month", 12))
        if not 1 <= exp_month <= 12:
            raise CardError(
                "Your card's expiration month is invalid.",
                param=f"{param}[exp_month]",
                code="invalid_expiry_month",
            )
        return (
            Card(
                brand=card.get("brand") or (info.brand if info else "unknown"),
                checks=checks,
                country=card.get("country") or (info.country if info else None),
                exp_month=exp_month,
                exp_year=int(card.get("exp_year", 2034)),
                fingerprint=fingerprint,
                funding=card.get("funding") or (info.funding if info else "unknown"),
                last4=last4,
                wallet=None if card.get("wallet") is None else {"type": card["wallet"]},
                bin=bin_,
            ),
            test_risk,
        )


# Address fields and the event fields they fill: (field, billing_<field>, shipping_<field>).
_ADDRESS_EVENT_KEYS = tuple(
    (key, f"billing_{key}", f"shipping_{key}")
    for key in ("line1", "line2", "city", "state", "postal_code", "country")
)
_NO_SHIPPING = dict.fromkeys(shipping_key for _, _, shipping_key in _ADDRESS_EVENT_KEYS)


def build_event(
    radar: Radar,
    *,
    payment_id: str,
    created: int,
    amount: int,
    currency: str,
    pm: PaymentMethod | None,
    customer: Customer | None,
    session: RadarSession | None,
    description: str | None = None,
    receipt_email: str | None = None,
    shipping: Shipping | None = None,
    off_session: bool = False,
    recurring: bool = False,
    setup: bool = False,
    three_d_secure_result: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The payment event (:mod:`radarcore.events` schema) of a payment made with these objects."""
    store = radar.store
    event: dict[str, Any] = {
        "id": payment_id,
        "created": created,
        "amount": amount,
        "currency": currency,
        "payment_method_type": pm.type if pm is not None else "card",
        "customer": None if customer is None else customer.id,
        "customer_created": None if customer is None else customer.created,
        "description": description,
        "is_off_session": off_session,
        "is_recurring": recurring,
        "is_checkout": False,
        "is_setup_intent": setup,
        "three_d_secure_result": three_d_secure_result,
        "merchant": radar.settings.merchant,
        "metadata": dict(metadata or {}),
    }
    billing = pm.billing_details if pm is not None else BillingDetails()
    event["email"] = (
        receipt_email or billing.email or (customer.email if customer is not None else None)
    )
    event["name"] = billing.name or (customer.name if customer is not None else None)
    event["phone"] = billing.phone or (customer.phone if customer is not None else None)
    address = billing.address.__dict__
    for key, billing_key, _ in _ADDRESS_EVENT_KEYS:
        event[billing_key] = address[key]
    if shipping is None:
        event.update(_NO_SHIPPING)
    else:
        address = shipping.address.__dict__
        for key, _, shipping_key in _ADDRESS_EVENT_KEYS:
            event[shipping_key] = address[key]
    card = pm.card if pm is not None else None
    if card is not None:
        event.update(
            card_fingerprint=card.fingerprint,
            card_bin=card.bin,
            card_brand=card.brand,
            card_funding=card.funding,
            card_country=card.country,
            cvc_check=card.checks.cvc_check,
            address_zip_check=card.checks.address_postal_code_check,
            address_line1_check=card.checks.address_line1_check,
            digital_wallet=(card.wallet or {}).get("type", "none"),
        )
    if session is not None:
        event.update(
            ip_address=session.ip_address,
            user_agent=session.user_agent,
            device_id=session.device_id,
            session_timezone_offset=session.timezone_offset,
            session_automation=session.automation,
        )
    pm_session_id = pm.radar_options.session if pm is not None and pm.radar_options else None
    if pm_session_id is not None:
        pm_session = store.get(pm_session_id)
        if isinstance(pm_session, RadarSession):
            event["pm_device_id"] = pm_session.device_id
            event["pm_ip_address"] = pm_session.ip_address
    return event


class _PaymentFlow(_Service):
    """The payment attempt shared by PaymentIntents and Charges: assess, write, record."""

    def _attempt(
        self,
        unit: Unit,
        *,
        kind: Literal["charge", "payment_intent"],
        amount: int,
        currency: str,
        pm: PaymentMethod,
        customer: Customer | None,
        session: RadarSession | None,
        description: str | None,
        receipt_email: str | None,
        shipping: Shipping | None,
        metadata: Mapping[str, str],
        off_session: bool,
        capture: bool,
        payment_intent: str | None,
        three_d_secure_result: str | None,
    ) -> tuple[Charge | None, Review | None, Assessment]:
        radar = self._radar
        now = self._now()
        charge_id = new_id("ch")
        event = build_event(
            radar,
            payment_id=charge_id,
            created=now,
            amount=amount,
            currency=currency,
            pm=pm,
            customer=customer,
            session=session,
            description=description,
            receipt_email=receipt_email,
            shipping=shipping,
            off_session=off_session,
            three_d_secure_result=three_d_secure_result,
            metadata=metadata,
        )
        assessment = radar.assess(
            event,
            object=kind,
            test_risk=pm.test_risk,
            three_d_secure_done=three_d_secure_result is not None,
        )
        if assessment.requires_action:
            return None, None, assessment
        outcome = assessment.outcome
        succeeded = outcome.type in ("authorized", "manual_review")
        card = pm.card
        charge = Charge(
            id=charge_id,
            created=now,
            amount=amount,
            currency=currency,
            amount_captured=amount if succeeded and capture else 0,
            billing_details=pm.billing_details,
            captured=succeeded and capture,
            customer=None if customer is None else customer.id,
            description=description,
            failure_code=None if succeeded else "card_declined",
            failure_message=None if succeeded else "Your card was declined.",
            livemode=radar.settings.livemode,
            metadata=dict(metadata),
            outcome=outcome,
            paid=succeeded,
            payment_intent=payment_intent,
            payment_method=pm.id,
            payment_method_details=PaymentMethodDetails(
                type=pm.type,
                card=None
                if card is None
                else PaymentMethodDetailsCard(
                    brand=card.brand,
                    checks=card.checks,
                    country=card.country,
                    exp_month=card.exp_month,
                    exp_year=card.exp_year,
                    fingerprint=card.fingerprint,
                    funding=card.funding,
                    last4=card.last4,
                    network=card.brand,
                    three_d_secure=None
                    if three_d_secure_result is None
                    else ThreeDSecure(result=three_d_secure_result),
                    wallet=card.wallet,
                ),
            ),
            radar_options=None if session is None else RadarOptions(session=session.id),
            receipt_email=receipt_email,
            shipping=shipping,
            status="succeeded" if succeeded else "failed",
            score_holdout=assessment.score_holdout,
            ip_address=None if session is None else session.ip_address,
            event=event,
            insight=assessment.insight_record(),
        )
        review = None
        if outcome.type == "manual_review":
            review = Review(
                id=new_id("prv"),
                created=now,
                billing_zip=pm.billing_details.address.postal_code,
                charge=charge.id,
                ip_address=charge.ip_address,
                livemode=radar.settings.livemode,
                payment_intent=payment_intent,
            )
            charge.review = review.id
            self._store.put(review)
        self._store.put(charge)
        radar.emit("charge.succeeded" if succeeded else "charge.failed", charge)
        if review is not None:
            radar.emit("review.opened", review)
        self._record(
            unit,
            "payment",
            now,
            charge.id,
            {
                "event": event,
                "result": assessment.result,
                "labels": list(assessment.labels),
                **assessment.model_record(),
            },
            assessment.packed,
        )
        return charge, review, assessment

    @staticmethod
    def _card_error(assessment: Assessment, charge: Charge) -> CardError:
        return CardError(
            "Your card was declined.",
            code="card_declined",
            decline_code=assessment.decline_code,
            charge=charge.id,
        )

    def _session(self, p: Mapping[str, Any], param: str) -> RadarSession | None:
        session_id = (p.get("radar_options") or {}).get("session")
        if session_id is None:
            return None
        return self._read_session(session_id, param)

    def _read_session(self, session_id: str, param: str) -> RadarSession:
        """The Radar Session a payment reads (never handed to the caller, never changed).
        Sessions cannot change once created, so the engine keeps the ones it has read and
        saves a store read per payment."""
        cache = self._radar._sessions
        session = cache.get(session_id)
        if session is None:
            session = self._get(session_id, RadarSession, "radar session", param)
            _keep(cache, session_id, session, _SESSION_CACHE_SIZE)
        return session

    def _customer(self, customer_id: str | None) -> Customer | None:
        """The Customer a payment reads (see :meth:`_read_only`)."""
        if customer_id is None:
            return None
        return self._read_only(customer_id, Customer, "customer", "customer")


class PaymentIntentService(_PaymentFlow):
    """``radar.payment_intents``: create (optionally ``confirm=True``), confirm, capture,
    cancel, retrieve, list. ``radar_options[session]`` on create requires ``confirm=true``."""

    _CREATE: ClassVar[Spec] = {
        "amount": P("int", required=True),
        "currency": P(required=True),
        "payment_method": P(),
        "payment_method_data": P("object", fields=_PM_DATA),
        "payment_method_types": P("list"),
        "customer": P(),
        "description": P(),
        "receipt_email": P(),
        "metadata": P("metadata"),
        "shipping": P("object", fields=_SHIPPING),
        "confirm": P("bool"),
        "off_session": P("bool"),
        "setup_future_usage": P(choices=("off_session", "on_session")),
        "capture_method": P(choices=("automatic", "automatic_async", "manual")),
        "confirmation_method": P(choices=("automatic", "manual")),
        "radar_options": P("object", fields=_RADAR_OPTIONS),
        "statement_descriptor": P(max_length=22),
    }
    _CONFIRM: ClassVar[Spec] = {
        "payment_method": P(),
        "payment_method_data": P("object", fields=_PM_DATA),
        "radar_options": P("object", fields=_RADAR_OPTIONS),
        "off_session": P("bool"),
        "receipt_email": P(),
        "three_d_secure_result": P(
            choices=(
                "authenticated",
                "attempt_acknowledged",
                "exempted",
                "failed",
                "not_supported",
                "processing_error",
            )
        ),
    }

    def create(
        self,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> PaymentIntent:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[PaymentIntent, StripeError | None]:
            p = check(self._CREATE, request)
            currency = _check_currency(p["currency"])
            _check_amount(p["amount"], currency)
            confirm = p.get("confirm", False)
            for name in ("radar_options", "off_session"):
                if name in p and not confirm:
                    raise InvalidRequestError(
                        f"You can only pass `{name}` when `confirm` is `true`.", param=name
                    )
            if "payment_method" in p and "payment_method_data" in p:
                raise InvalidRequestError(
                    "You cannot provide both `payment_method` and `payment_method_data`.",
                    param="payment_method_data",
                )
            customer = self._customer(p.get("customer"))
            session = self._session(p, "radar_options[session]")
            pm = self._payment_method(p)
            pi = PaymentIntent(
                id=new_id("pi"),
                created=self._now(),
                amount=p["amount"],
                currency=currency,
                capture_method=p.get("capture_method", "automatic"),
                confirmation_method=p.get("confirmation_method", "automatic"),
                customer=p.get("customer"),
                description=p.get("description"),
                livemode=self._radar.settings.livemode,
                metadata=p.get("metadata", {}),
                payment_method=None if pm is None else pm.id,
                payment_method_types=p.get("payment_method_types", ["card"]),
                receipt_email=p.get("receipt_email"),
                setup_future_usage=p.get("setup_future_usage"),
                shipping=_shipping(p.get("shipping")),
                status="requires_confirmation" if pm is not None else "requires_payment_method",
            )
            if not confirm:
                self._store.put(pi)
                return pi, None
            return self._confirm(unit, pi, pm, customer, session, p.get("off_session", False), None)

        return self._idempotent(idempotency_key, "POST /v1/payment_intents", request, run)

    def confirm(
        self,
        id: str,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> PaymentIntent:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[PaymentIntent, StripeError | None]:
            p = check(self._CONFIRM, request)
            pi = self.retrieve(id)
            if pi.status not in (
                "requires_payment_method",
                "requires_confirmation",
                "requires_action",
            ):
                raise InvalidRequestError(
                    "You cannot confirm this PaymentIntent because it has a status of "
                    f"{pi.status}.",
                    code="payment_intent_unexpected_state",
                )
            if "receipt_email" in p:
                pi.receipt_email = p["receipt_email"]
            session = self._session(p, "radar_options[session]")
            if session is None and pi.radar_options is not None and pi.radar_options.session:
                session = self._read_session(pi.radar_options.session, "radar_options[session]")
            pm = self._payment_method(p)
            if pm is None and pi.payment_method is not None:
                pm = self._read_only(
                    pi.payment_method, PaymentMethod, "PaymentMethod", "payment_method"
                )
            if pm is None:
                raise InvalidRequestError(
                    "You cannot confirm this PaymentIntent because it's missing a payment "
                    "method. Update the PaymentIntent with a payment method and then confirm "
                    "it again.",
                    param="payment_method",
                    code="payment_intent_unexpected_state",
                )
            tds = p.get("three_d_secure_result")
            if tds is not None and pi.status != "requires_action":
                raise InvalidRequestError(
                    "three_d_secure_result can only be given for a PaymentIntent that "
                    "requires_action.",
                    param="three_d_secure_result",
                )
            customer = self._customer(pi.customer)
            off_session = p.get("off_session", bool(pi.off_session))
            if tds == "failed":
                pi.status = "requires_payment_method"
                pi.next_action = None
                pi.last_payment_error = {
                    "type": "invalid_request_error",
                    "code": "payment_intent_authentication_failure",
                    "message": "The provided PaymentMethod has failed authentication.",
                }
                self._store.put(pi)
                return pi, None
            return self._confirm(unit, pi, pm, customer, session, off_session, tds)

        return self._idempotent(
            idempotency_key, f"POST /v1/payment_intents/{id}/confirm", request, run
        )

    def _payment_method(self, p: Mapping[str, Any]) -> PaymentMethod | None:
        if "payment_method" in p:
            return self._radar.payment_methods.resolve(
                p["payment_method"], "payment_method", read_only=True
            )
        if "payment_method_data" in p:
            pm = self._radar.payment_methods.build(
                p["payment_method_data"], path="payment_method_data"
            )
            self._store.put(pm)
            return pm
        return None

    def _confirm(
        self,
        unit: Unit,
        pi: PaymentIntent,
        pm: PaymentMethod | None,
        customer: Customer | None,
        session: RadarSession | None,
        off_session: bool,
        three_d_secure_result: str | None,
    ) -> tuple[PaymentIntent, StripeError | None]:
        if pm is None:
            raise InvalidRequestError(
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                param="payment_method",
                code="payment_intent_unexpected_state",
            )
        pi.payment_method = pm.id
        pi.off_session = off_session
        pi.radar_options = None if session is None else RadarOptions(session=session.id)
        charge, review, assessment = self._attempt(
            unit,
            kind="payment_intent",
            amount=pi.amount,
            currency=pi.currency,
            pm=pm,
            customer=customer,
            session=session,
            description=pi.description,
            receipt_email=pi.receipt_email,
            shipping=pi.shipping,
            metadata=pi.metadata,
            off_session=off_session,
            capture=pi.capture_method != "manual",
            payment_intent=pi.id,
            three_d_secure_result=three_d_secure_result,
        )
        error: StripeError | None = None
        if charge is None:
            pi.status = "requires_action"
            pi.next_action = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect"},
            }
        else:
            pi.latest_charge = charge.id
            pi.next_action = None
            if charge.paid:
                manual = pi.capture_method == "manual"
                pi.status = "requires_capture" if manual else "succeeded"
                pi.amount_received = 0 if manual else pi.amount
                pi.last_payment_error = None
                pi.review = None if review is None else review.id
            else:
                error = self._card_error(assessment, charge)
                pi.status = "requires_payment_method"
                pi.last_payment_error = {**error.to_dict()["error"], "payment_method": pm.to_dict()}
        self._store.put(pi)
        if isinstance(error, CardError):
            error.payment_intent = pi.to_dict()
        if pi.status in _PI_EVENTS:
            self._radar.emit(_PI_EVENTS[pi.status], pi)
        return pi, error

    def retrieve(self, id: str) -> PaymentIntent:
        return self._get(id, PaymentIntent, "payment_intent", "intent")

    _UPDATE: ClassVar[Spec] = {
        "amount": P("int"),
        "currency": P(),
        "customer": P(),
        "description": P(max_length=1000),
        "metadata": P("metadata"),
        "payment_method": P(),
        "payment_method_data": P("object", fields=_PM_DATA),
        "payment_method_types": P("list"),
        "receipt_email": P(),
        "setup_future_usage": P(choices=("off_session", "on_session")),
        "shipping": P("object", fields=_SHIPPING),
        "capture_method": P(choices=("automatic", "automatic_async", "manual")),
        "statement_descriptor": P(max_length=22),
    }
    #: What may change only before the payment is attempted (Stripe's rule).
    _UNSETTLED = ("requires_payment_method", "requires_confirmation", "requires_action")
    _PAYMENT_FIELDS = (
        "amount",
        "currency",
        "payment_method",
        "payment_method_data",
        "payment_method_types",
        "capture_method",
        "setup_future_usage",
        "customer",
    )

    def update(
        self,
        id: str,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> PaymentIntent:
        """Stripe's PaymentIntent update. Description, metadata (merged), receipt email and
        shipping may change in any state; the amount, currency, payment method, capture method
        and customer only while the PaymentIntent awaits a payment (``requires_payment_method``,
        ``requires_confirmation``, ``requires_action``). A new payment method makes it
        ``requires_confirmation`` again."""
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[PaymentIntent, None]:
            p = check(self._UPDATE, request)
            pi = self.retrieve(id)
            for name in self._PAYMENT_FIELDS:
                if name in p and pi.status not in self._UNSETTLED:
                    raise InvalidRequestError(
                        f"This PaymentIntent's {name} could not be updated because it has a "
                        f"status of {pi.status}. You may only update the {name} of a "
                        "PaymentIntent with one of the following statuses: "
                        + ", ".join(self._UNSETTLED)
                        + ".",
                        param=name,
                        code="payment_intent_unexpected_state",
                    )
            if "payment_method" in p and "payment_method_data" in p:
                raise InvalidRequestError(
                    "You cannot provide both `payment_method` and `payment_method_data`.",
                    param="payment_method_data",
                )
            currency = _check_currency(p["currency"]) if "currency" in p else pi.currency
            amount = p.get("amount", pi.amount)
            if "currency" in p or "amount" in p:
                _check_amount(amount, currency)
            pi.amount, pi.currency = amount, currency
            if "customer" in p:
                self._customer(p["customer"])
                pi.customer = p["customer"]
            pm = self._payment_method(p)
            if pm is not None:
                pi.payment_method = pm.id
                pi.status = "requires_confirmation"
                pi.next_action = None
            if "shipping" in p:
                pi.shipping = _shipping(p["shipping"])
            if "metadata" in p:
                pi.metadata = _merged_metadata(pi.metadata, p["metadata"])
            for name in (
                "description",
                "receipt_email",
                "payment_method_types",
                "setup_future_usage",
                "capture_method",
            ):
                if name in p:
                    setattr(pi, name, p[name])
            self._store.put(pi)
            return pi, None

        return self._idempotent(idempotency_key, f"POST /v1/payment_intents/{id}", request, run)

    def capture(self, id: str, *, idempotency_key: str | None = None) -> PaymentIntent:
        def run(unit: Unit) -> tuple[PaymentIntent, None]:
            pi = self.retrieve(id)
            if pi.status != "requires_capture" or pi.latest_charge is None:
                raise InvalidRequestError(
                    "This PaymentIntent could not be captured because it has a status of "
                    f"{pi.status}. Only a PaymentIntent with one of the following statuses may "
                    "be captured: requires_capture.",
                    code="payment_intent_unexpected_state",
                )
            charge = self._get(pi.latest_charge, Charge, "charge", "charge")
            charge.captured = True
            charge.amount_captured = charge.amount
            pi.status = "succeeded"
            pi.amount_received = pi.amount
            self._store.put(charge)
            self._store.put(pi)
            self._radar.emit("charge.captured", charge)
            self._radar.emit("payment_intent.succeeded", pi)
            return pi, None

        return self._idempotent(idempotency_key, f"POST /v1/payment_intents/{id}/capture", {}, run)

    def cancel(
        self,
        id: str,
        *,
        cancellation_reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> PaymentIntent:
        request = {"cancellation_reason": cancellation_reason}

        def run(unit: Unit) -> tuple[PaymentIntent, None]:
            p = check(
                {
                    "cancellation_reason": P(
                        choices=("abandoned", "duplicate", "fraudulent", "requested_by_customer")
                    )
                },
                request,
            )
            pi = self.retrieve(id)
            if pi.status in ("succeeded", "canceled"):
                raise InvalidRequestError(
                    f"You cannot cancel this PaymentIntent because it has a status of {pi.status}.",
                    code="payment_intent_unexpected_state",
                )
            pi.status = "canceled"
            pi.canceled_at = self._now()
            pi.cancellation_reason = p.get("cancellation_reason")
            if pi.review is not None:
                _close_review(self._radar, pi.review, "canceled")
            self._store.put(pi)
            self._radar.emit("payment_intent.canceled", pi)
            return pi, None

        return self._idempotent(
            idempotency_key, f"POST /v1/payment_intents/{id}/cancel", request, run
        )

    def list(
        self, params: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> StripeList[PaymentIntent]:
        p = check({**_LIST_CREATED, "customer": P()}, _merge(params, kwargs))
        return _list(self._store, "payment_intent", "/v1/payment_intents", p)


_PI_EVENTS = {
    "succeeded": "payment_intent.succeeded",
    "requires_capture": "payment_intent.amount_capturable_updated",
    "requires_payment_method": "payment_intent.payment_failed",
    "requires_action": "payment_intent.requires_action",
}


def _list(
    store: Any,
    object_type: str,
    url: str,
    p: dict[str, Any],
    where: Callable[[Any], bool] | None = None,
) -> StripeList[Any]:
    """A page of ``object_type`` as Stripe lists it from checked list parameters ``p`` (the
    rest of ``p`` are the store's column filters). ``where``: a further condition on objects
    the store cannot filter on; the store is then read in chunks from the cursor until the
    page is full, so the cost follows the objects skipped, not the whole table."""
    limit = p.pop("limit", 10)
    cursors = {name: p.pop(name, None) for name in ("starting_after", "ending_before")}
    if None not in cursors.values():
        raise InvalidRequestError(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
        )
    for name, cursor in cursors.items():
        found = None if cursor is None else store.get(cursor)
        if cursor is not None and (found is None or found.object != object_type):
            raise _missing(object_type, cursor, name)
    if "created" in p:
        p["created"] = Range(*p["created"])
    if where is None:
        data, more = store.list(object_type, limit=limit, **cursors, **p)
        return StripeList(data=data, has_more=more, url=url)
    backwards = cursors["ending_before"] is not None
    direction = "ending_before" if backwards else "starting_after"
    cursor = cursors[direction]
    chunk = max(4 * limit, 100)
    matches: list[Any] = []  # nearest the cursor first
    while len(matches) <= limit:
        page, more = store.list(object_type, limit=chunk, **{direction: cursor}, **p)
        ordered = page[::-1] if backwards else page
        matches += [o for o in ordered if where(o)]
        if not more or not page:
            break
        cursor = ordered[-1].id
    data = matches[:limit]
    return StripeList(
        data=data[::-1] if backwards else data, has_more=len(matches) > limit, url=url
    )


def _close_review(radar: Radar, review_id: str, reason: str) -> Review | None:
    review = radar.store.get(review_id)
    if not isinstance(review, Review) or not review.open:
        return None
    review.open = False
    review.closed_reason = reason  # type: ignore[assignment]
    review.reason = reason  # type: ignore[assignment]
    radar.store.put(review)
    radar.emit("review.closed", review)
    return review


class SetupIntentService(_PaymentFlow):
    """``radar.setup_intents``: saving a card for later. Screened by Radar (Request 3D Secure,
    Allow, Block; never Review) only with ``RadarSettings(screen_setup_intents=True)``."""

    _CREATE: ClassVar[Spec] = {
        "payment_method": P(),
        "payment_method_data": P("object", fields=_PM_DATA),
        "payment_method_types": P("list"),
        "customer": P(),
        "confirm": P("bool"),
        "usage": P(choices=("off_session", "on_session")),
        "description": P(),
        "metadata": P("metadata"),
    }
    _CONFIRM: ClassVar[Spec] = {
        "payment_method": P(),
        "payment_method_data": P("object", fields=_PM_DATA),
    }

    def create(
        self,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> SetupIntent:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[SetupIntent, StripeError | None]:
            p = check(self._CREATE, request)
            customer = self._customer(p.get("customer"))
            pm = self._payment_method(p)
            si = SetupIntent(
                id=new_id("seti"),
                created=self._now(),
                customer=p.get("customer"),
                description=p.get("description"),
                livemode=self._radar.settings.livemode,
                metadata=p.get("metadata", {}),
                payment_method=None if pm is None else pm.id,
                payment_method_types=p.get("payment_method_types", ["card"]),
                status="requires_confirmation" if pm is not None else "requires_payment_method",
                usage=p.get("usage", "off_session"),
            )
            if not p.get("confirm"):
                self._store.put(si)
                return si, None
            return self._confirm(unit, si, pm, customer)

        return self._idempotent(idempotency_key, "POST /v1/setup_intents", request, run)

    def confirm(
        self,
        id: str,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> SetupIntent:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[SetupIntent, StripeError | None]:
            p = check(self._CONFIRM, request)
            si = self.retrieve(id)
            if si.status not in (
                "requires_payment_method",
                "requires_confirmation",
                "requires_action",
            ):
                raise InvalidRequestError(
                    f"You cannot confirm this SetupIntent because it has a status of {si.status}.",
                    code="setup_intent_unexpected_state",
                )
            pm = self._payment_method(p)
            if pm is None and si.payment_method is not None:
                pm = self._radar.payment_methods.retrieve(si.payment_method)
            return self._confirm(unit, si, pm, self._customer(si.customer))

        return self._idempotent(
            idempotency_key, f"POST /v1/setup_intents/{id}/confirm", request, run
        )

    def _payment_method(self, p: Mapping[str, Any]) -> PaymentMethod | None:
        if "payment_method" in p:
            return self._radar.payment_methods.resolve(p["payment_method"], "payment_method")
        if "payment_method_data" in p:
            pm = self._radar.payment_methods.build(
                p["payment_method_data"], path="payment_method_data"
            )
            self._store.put(pm)
            return pm
        return None

    def _confirm(
        self, unit: Unit, si: SetupIntent, pm: PaymentMethod | None, customer: Customer | None
    ) -> tuple[SetupIntent, StripeError | None]:
        if pm is None:
            raise InvalidRequestError(
                "You cannot confirm this SetupIntent because it's missing a payment method.",
                param="payment_method",
                code="setup_intent_unexpected_state",
            )
        radar = self._radar
        si.payment_method = pm.id
        error: StripeError | None = None
        if radar.settings.screen_setup_intents:
            session = None
            if pm.radar_options is not None and pm.radar_options.session is not None:
                stored = self._store.get(pm.radar_options.session)
                session = stored if isinstance(stored, RadarSession) else None
            now = self._now()
            event = build_event(
                radar,
                payment_id=si.id,
                created=now,
                amount=0,
                currency="usd",
                pm=pm,
                customer=customer,
                session=session,
                description=si.description,
                setup=True,
                off_session=si.usage == "off_session",
                metadata=si.metadata,
            )
            assessment = radar.assess(event, object="setup_intent", test_risk=pm.test_risk)
            si.outcome = assessment.outcome
            if assessment.requires_action:
                si.status = "requires_action"
                si.next_action = {"type": "use_stripe_sdk"}
                self._store.put(si)
                return si, None
            self._record(
                unit,
                "payment",
                now,
                si.id,
                {
                    "event": event,
                    "result": assessment.result,
                    "labels": list(assessment.labels),
                    **assessment.model_record(),
                },
            )
            if assessment.outcome.type in ("blocked", "issuer_declined"):
                error = CardError(
                    "Your card was declined.",
                    code="card_declined",
                    decline_code=assessment.decline_code,
                )
                si.status = "requires_payment_method"
                si.last_setup_error = error.to_dict()["error"]
                self._store.put(si)
                return si, error
        si.status = "succeeded"
        si.next_action = None
        if si.customer is not None:
            pm.customer = si.customer
            self._store.put(pm)
        self._store.put(si)
        return si, error

    def retrieve(self, id: str) -> SetupIntent:
        return self._get(id, SetupIntent, "setupintent", "intent")

    def list(
        self, params: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> StripeList[SetupIntent]:
        """Newest first; ``created`` and ``customer`` are indexed filters, ``payment_method`` is
        checked on what the others select."""
        p = check({**_LIST_CREATED, "customer": P(), "payment_method": P()}, _merge(params, kwargs))
        pm = p.pop("payment_method", None)
        url = "/v1/setup_intents"
        if pm is None:
            return _list(self._store, "setup_intent", url, p)
        return _list(self._store, "setup_intent", url, p, lambda si: si.payment_method == pm)


class ChargeService(_PaymentFlow):
    """``radar.charges``: the legacy Charges API (no Request 3D Secure rules), retrieve, list,
    update (``fraud_details[user_report]``), capture, and ``add_to_allow_list``."""

    _CREATE: ClassVar[Spec] = {
        "amount": P("int", required=True),
        "currency": P(required=True),
        "source": P(),
        "payment_method": P(),
        "customer": P(),
        "description": P(),
        "receipt_email": P(),
        "metadata": P("metadata"),
        "shipping": P("object", fields=_SHIPPING),
        "capture": P("bool"),
        "radar_options": P("object", fields=_RADAR_OPTIONS),
        "statement_descriptor": P(max_length=22),
    }
    _UPDATE: ClassVar[Spec] = {
        "description": P(),
        "metadata": P("metadata"),
        "receipt_email": P(),
        "fraud_details": P(
            "object", fields={"user_report": P(required=True, choices=("fraudulent", "safe"))}
        ),
    }

    def create(
        self,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> Charge:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[Charge, StripeError | None]:
            p = check(self._CREATE, request)
            currency = _check_currency(p["currency"])
            _check_amount(p["amount"], currency)
            source = p.get("source") or p.get("payment_method")
            if source is None:
                raise InvalidRequestError(
                    "Must provide source or customer.", param="source", code="parameter_missing"
                )
            customer = self._customer(p.get("customer"))
            session = self._session(p, "radar_options[session]")
            pm = self._radar.payment_methods.resolve(
                source, "source" if "source" in p else "payment_method"
            )
            charge, _, assessment = self._attempt(
                unit,
                kind="charge",
                amount=p["amount"],
                currency=currency,
                pm=pm,
                customer=customer,
                session=session,
                description=p.get("description"),
                receipt_email=p.get("receipt_email"),
                shipping=_shipping(p.get("shipping")),
                metadata=p.get("metadata", {}),
                off_session=False,
                capture=p.get("capture", True),
                payment_intent=None,
                three_d_secure_result=None,
            )
            assert charge is not None
            error = None if charge.paid else self._card_error(assessment, charge)
            return charge, error

        return self._idempotent(idempotency_key, "POST /v1/charges", request, run)

    def retrieve(self, id: str) -> Charge:
        return self._get(id, Charge, "charge", "charge")

    def list(self, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> StripeList[Charge]:
        spec = {**_LIST_CREATED, "customer": P(), "payment_intent": P(), "transfer_group": P()}
        p = check(spec, _merge(params, kwargs))
        # radarcore's charges belong to no transfer group, so a transfer_group matches none.
        if p.pop("transfer_group", None) is not None:
            return StripeList(data=[], has_more=False, url="/v1/charges")
        return _list(self._store, "charge", "/v1/charges", p)

    def capture(self, id: str, *, idempotency_key: str | None = None) -> Charge:
        def run(unit: Unit) -> tuple[Charge, None]:
            charge = self.retrieve(id)
            if not charge.paid or charge.captured or charge.refunded:
                raise InvalidRequestError(
                    f"Charge {id} has already been captured or cannot be captured.",
                    code="charge_already_captured",
                )
            charge.captured = True
            charge.amount_captured = charge.amount
            self._store.put(charge)
            self._radar.emit("charge.captured", charge)
            return charge, None

        return self._idempotent(idempotency_key, f"POST /v1/charges/{id}/capture", {}, run)

    def update(
        self,
        id: str,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> Charge:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[Charge, None]:
            p = check(self._UPDATE, request)
            charge = self.retrieve(id)
            if "metadata" in p:
                p["metadata"] = _merged_metadata(charge.metadata, p["metadata"])
            for key in ("description", "metadata", "receipt_email"):
                if key in p:
                    setattr(charge, key, p[key])
            report = p.get("fraud_details", {}).get("user_report")
            if report == "fraudulent":
                _report_fraud(self, unit, charge)
            elif report == "safe":
                charge.fraud_details.user_report = "safe"
            self._store.put(charge)
            return charge, None

        return self._idempotent(idempotency_key, f"POST /v1/charges/{id}", request, run)

    def add_to_allow_list(self, id: str) -> Charge:
        """ "Add to allow list" on a blocked payment: its card fingerprint (30 days) and email
        go on the default allow lists, so Radar stops blocking them; the payment is not
        retried."""

        def run(unit: Unit) -> tuple[Charge, None]:
            charge = self.retrieve(id)
            if charge.outcome is None or charge.outcome.type != "blocked":
                raise InvalidRequestError(
                    "Only a payment Radar blocked can be added to the allow list.", param="id"
                )
            items = self._radar.value_list_items
            event = charge.event or {}
            if event.get("card_fingerprint"):
                items.add_default(unit, "card_fingerprint", "allow", event["card_fingerprint"])
            if event.get("email"):
                items.add_default(unit, "email", "allow", event["email"])
            return charge, None

        return self._idempotent(None, f"POST /v1/charges/{id}/allow", {}, run)


def _report_fraud(service: _Service, unit: Unit, charge: Charge) -> None:
    """A payment reported fraudulent (refund reason or ``fraud_details``): Radar's list effects
    (card fingerprints and emails to the default block lists) and the fraud label."""
    if charge.fraud_details.user_report == "fraudulent":
        return
    radar = service._radar
    store = service._store
    charge.fraud_details.user_report = "fraudulent"
    charge.label = "fraudulent"
    event = charge.event or {}
    items = radar.value_list_items
    if event.get("payment_method_type", "card") == "card":
        fingerprints = [event.get("card_fingerprint")]
        customer = store.get(charge.customer) if charge.customer else None
        if charge.customer:
            for pm in store.list("payment_method", limit=None, customer=charge.customer)[0]:
                if isinstance(pm, PaymentMethod) and pm.card is not None:
                    fingerprints.append(pm.card.fingerprint)
        for fingerprint in dict.fromkeys(f for f in fingerprints if f):
            items.add_default(unit, "card_fingerprint", "block", fingerprint)
        emails = _emails(
            charge.receipt_email,
            charge.billing_details.email,
            charge.billing_details.name,
            charge.description,
            getattr(customer, "email", None),
            getattr(customer, "description", None),
        )
        for email in emails:
            items.add_default(unit, "email", "block", email)
    if charge.event is not None:
        service._record(
            unit,
            "label",
            service._now(),
            charge.id,
            {"event": charge.event, "label": "fraudulent_refund"},
        )


class RefundService(_Service):
    """``radar.refunds``: ``reason="fraudulent"`` blocks the card and emails and labels the
    payment; any refund closes an open review (``refunded`` / ``refunded_as_fraud``)."""

    _CREATE: ClassVar[Spec] = {
        "charge": P(),
        "payment_intent": P(),
        "amount": P("int", minimum=1),
        "reason": P(choices=("duplicate", "fraudulent", "requested_by_customer")),
        "metadata": P("metadata"),
    }

    def create(
        self,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> Refund:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[Refund, None]:
            p = check(self._CREATE, request)
            if "charge" in p:
                charge = self._get(p["charge"], Charge, "charge", "charge")
            elif "payment_intent" in p:
                pi = self._get(
                    p["payment_intent"], PaymentIntent, "payment_intent", "payment_intent"
                )
                if pi.latest_charge is None:
                    raise InvalidRequestError(
                        f"This PaymentIntent ({pi.id}) does not have a successful charge to "
                        "refund.",
                        param="payment_intent",
                    )
                charge = self._get(pi.latest_charge, Charge, "charge", "payment_intent")
            else:
                raise InvalidRequestError(
                    "One of `charge` or `payment_intent` is required.",
                    code="parameter_missing",
                )
            if not charge.paid:
                raise InvalidRequestError(
                    f"Charge {charge.id} was not successful and cannot be refunded.",
                    param="charge",
                )
            remaining = charge.amount - charge.amount_refunded
            if remaining <= 0:
                raise InvalidRequestError(
                    f"Charge {charge.id} has already been refunded.",
                    code="charge_already_refunded",
                )
            amount = p.get("amount", remaining)
            if amount > remaining:
                raise InvalidRequestError(
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                    f"({remaining})",
                    param="amount",
                    code="amount_too_large",
                )
            now = self._now()
            refund = Refund(
                id=new_id("re"),
                created=now,
                amount=amount,
                currency=charge.currency,
                charge=charge.id,
                metadata=p.get("metadata", {}),
                payment_intent=charge.payment_intent,
                reason=p.get("reason"),
            )
            charge.amount_refunded += amount
            charge.refunded = charge.amount_refunded >= charge.amount
            fraudulent = refund.reason == "fraudulent"
            if charge.review is not None:
                _close_review(
                    self._radar, charge.review, "refunded_as_fraud" if fraudulent else "refunded"
                )
            if fraudulent:
                _report_fraud(self, unit, charge)
            elif charge.event is not None:
                self._record(
                    unit, "label", now, charge.id, {"event": charge.event, "label": "refund"}
                )
            if charge.refunded:
                _not_actionable(self._store, charge.id)
            self._store.put(refund)
            self._store.put(charge)
            self._radar.emit("charge.refunded", charge)
            return refund, None

        return self._idempotent(idempotency_key, "POST /v1/refunds", request, run)

    def retrieve(self, id: str) -> Refund:
        return self._get(id, Refund, "refund", "refund")

    def update(
        self,
        id: str,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> Refund:
        """Stripe's Refund update: only ``metadata`` (merged) may change."""
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[Refund, None]:
            p = check({"metadata": P("metadata")}, request)
            refund = self.retrieve(id)
            refund.metadata = _merged_metadata(refund.metadata, p.get("metadata", {}))
            self._store.put(refund)
            return refund, None

        return self._idempotent(idempotency_key, f"POST /v1/refunds/{id}", request, run)

    def list(self, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> StripeList[Refund]:
        p = check({**_LIST_CREATED, "charge": P(), "payment_intent": P()}, _merge(params, kwargs))
        return _list(self._store, "refund", "/v1/refunds", p)


def _not_actionable(store: Any, charge_id: str) -> None:
    for warning in store.list("radar.early_fraud_warning", limit=None, charge=charge_id)[0]:
        if warning.actionable:
            warning.actionable = False
            store.put(warning)


class DisputeService(_Service):
    """``radar.disputes``: a dispute the card network opened (radarcore's entry point for it).
    It closes an open review (``disputed``) and, when ``fraudulent``, labels the payment."""

    _CREATE: ClassVar[Spec] = {
        "charge": P(required=True),
        "amount": P("int", minimum=1),
        "reason": P(
            choices=(
                "bank_cannot_process",
                "check_returned",
                "credit_not_processed",
                "customer_initiated",
                "debit_not_authorized",
                "duplicate",
                "fraudulent",
                "general",
                "incorrect_account_details",
                "insufficient_funds",
                "product_not_received",
                "product_unacceptable",
                "subscription_canceled",
                "unrecognized",
            )
        ),
        "metadata": P("metadata"),
    }

    def create(
        self,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> Dispute:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[Dispute, None]:
            p = check(self._CREATE, request)
            charge = self._get(p["charge"], Charge, "charge", "charge")
            if not charge.paid:
                raise InvalidRequestError(
                    f"Charge {charge.id} was not successful and cannot be disputed.",
                    param="charge",
                )
            if charge.disputed:
                raise InvalidRequestError(
                    f"Charge {charge.id} has already been disputed.",
                    param="charge",
                    code="charge_disputed",
                )
            now = self._now()
            dispute = Dispute(
                id=new_id("du"),
                created=now,
                amount=p.get("amount", charge.amount),
                currency=charge.currency,
                charge=charge.id,
                livemode=self._radar.settings.livemode,
                metadata=p.get("metadata", {}),
                payment_intent=charge.payment_intent,
                reason=p.get("reason", "fraudulent"),
            )
            charge.disputed = True
            if charge.review is not None:
                _close_review(self._radar, charge.review, "disputed")
            _not_actionable(self._store, charge.id)
            if dispute.reason == "fraudulent":
                charge.label = "fraudulent"
                if charge.event is not None:
                    self._record(
                        unit, "label", now, charge.id, {"event": charge.event, "label": "dispute"}
                    )
            self._store.put(dispute)
            self._store.put(charge)
            self._radar.emit("charge.dispute.created", dispute)
            return dispute, None

        return self._idempotent(idempotency_key, "POST /v1/disputes", request, run)

    def retrieve(self, id: str) -> Dispute:
        return self._get(id, Dispute, "dispute", "dispute")


class EarlyFraudWarningService(_Service):
    """``radar.early_fraud_warnings``: retrieve and list (filters ``charge``,
    ``payment_intent``); ``create`` is how an issuer's warning reaches radarcore. A warning
    labels the payment."""

    _FRAUD_TYPES = (
        "card_never_received",
        "fraudulent_card_application",
        "made_with_counterfeit_card",
        "made_with_lost_card",
        "made_with_stolen_card",
        "misc",
        "unauthorized_use_of_card",
    )

    def create(
        self,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> EarlyFraudWarning:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[EarlyFraudWarning, None]:
            p = check(
                {
                    "charge": P(required=True),
                    "fraud_type": P(required=True, choices=self._FRAUD_TYPES),
                },
                request,
            )
            charge = self._get(p["charge"], Charge, "charge", "charge")
            now = self._now()
            warning = EarlyFraudWarning(
                id=new_id("issfr"),
                created=now,
                charge=charge.id,
                fraud_type=p["fraud_type"],
                actionable=not charge.disputed and not charge.refunded,
                livemode=self._radar.settings.livemode,
                payment_intent=charge.payment_intent,
            )
            charge.label = "fraudulent"
            if charge.event is not None:
                self._record(
                    unit,
                    "label",
                    now,
                    charge.id,
                    {"event": charge.event, "label": "early_fraud_warning"},
                )
            self._store.put(warning)
            self._store.put(charge)
            self._radar.emit("radar.early_fraud_warning.created", warning)
            return warning, None

        return self._idempotent(
            idempotency_key, "POST /v1/radar/early_fraud_warnings", request, run
        )

    def retrieve(self, id: str) -> EarlyFraudWarning:
        return self._get(id, EarlyFraudWarning, "early fraud warning", "early_fraud_warning")

    def list(
        self, params: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> StripeList[EarlyFraudWarning]:
        p = check({**_LIST, "charge": P(), "payment_intent": P()}, _merge(params, kwargs))
        return _list(self._store, "radar.early_fraud_warning", "/v1/radar/early_fraud_warnings", p)


class ReviewService(_Service):
    """``radar.reviews``: list (open reviews only, newest first), retrieve, approve."""

    def list(self, params: Mapping[str, Any] | None = None, /, **kwargs: Any) -> StripeList[Review]:
        p = check(_LIST_CREATED, _merge(params, kwargs))
        return _list(self._store, "review", "/v1/reviews", {**p, "review_open": True})

    def retrieve(self, id: str) -> Review:
        return self._get(id, Review, "review", "review")

    def approve(self, id: str, *, idempotency_key: str | None = None) -> Review:
        def run(unit: Unit) -> tuple[Review, None]:
            review = self.retrieve(id)
            if not review.open:
                raise InvalidRequestError(f"This review ({id}) is already closed.", param="review")
            closed = _close_review(self._radar, id, "approved")
            assert closed is not None
            return closed, None

        return self._idempotent(idempotency_key, f"POST /v1/reviews/{id}/approve", {}, run)


class ValueListService(_Service):
    """``radar.value_lists``: custom lists (``@alias`` in rules) and Radar's default lists
    (which cannot be changed or deleted, only their items)."""

    _CREATE: ClassVar[Spec] = {
        "alias": P(required=True, max_length=100),
        "name": P(required=True, max_length=100),
        "item_type": P(choices=ITEM_TYPES),
        "metadata": P("metadata"),
    }
    _UPDATE: ClassVar[Spec] = {
        "alias": P(max_length=100),
        "name": P(max_length=100),
        "metadata": P("metadata"),
    }

    def create(
        self,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> ValueList:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[ValueList, None]:
            p = check(self._CREATE, request)
            self._check_alias(p["alias"])
            value_list = ValueList(
                id=new_id("rsl"),
                created=self._now(),
                alias=p["alias"],
                name=p["name"],
                item_type=p.get("item_type", "string"),
                created_by="radarcore",
                livemode=self._radar.settings.livemode,
                metadata=p.get("metadata", {}),
            )
            self._store.put(value_list)
            self._radar.config_changed(unit)
            return self._with_items(value_list), None

        return self._idempotent(idempotency_key, "POST /v1/radar/value_lists", request, run)

    def _check_alias(self, alias: str) -> None:
        try:
            RuleValueList(alias)
        except ValueListError as error:
            raise InvalidRequestError(str(error), param="alias") from None
        if self._store.list("radar.value_list", alias=alias, limit=1)[0]:
            raise InvalidRequestError(
                f"A value list with the alias '{alias}' already exists.", param="alias"
            )

    def _with_items(self, value_list: ValueList) -> ValueList:
        items, more = self._store.list("radar.value_list_item", limit=10, value_list=value_list.id)
        value_list.list_items = ListObject(
            url=f"/v1/radar/value_list_items?value_list={value_list.id}",
            data=[i.to_dict() for i in items],
            has_more=more,
        )
        return value_list

    def retrieve(self, id: str) -> ValueList:
        return self._with_items(self._get(id, ValueList, "value list", "value_list"))

    def by_alias(self, alias: str) -> ValueList:
        """The list with this alias (``resource_missing`` on ``alias`` when there is none)."""
        found = self._store.list("radar.value_list", alias=alias, limit=1)[0]
        if not found:
            raise InvalidRequestError(
                f"No such value list alias: '{alias}'", param="alias", code="resource_missing"
            )
        value_list = found[0]
        assert isinstance(value_list, ValueList)
        return self._with_items(value_list)

    def update(
        self,
        id: str,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> ValueList:
        """Stripe's value list update (``alias``, ``name``, ``metadata``, merged); the default
        lists cannot change, nor the alias of a list a rule references."""
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[ValueList, None]:
            p = check(self._UPDATE, request)
            value_list = self._get(id, ValueList, "value list", "value_list")
            self._check_not_default(value_list)
            if "alias" in p and p["alias"] != value_list.alias:
                self._check_not_referenced(value_list)
                self._check_alias(p["alias"])
            if "metadata" in p:
                p["metadata"] = _merged_metadata(value_list.metadata, p["metadata"])
            for key, value in p.items():
                setattr(value_list, key, value)
            self._store.put(value_list)
            self._radar.config_changed(unit)
            return self._with_items(value_list), None

        return self._idempotent(idempotency_key, f"POST /v1/radar/value_lists/{id}", request, run)

    def delete(self, id: str) -> DeletedObject:
        def run(unit: Unit) -> tuple[ValueList, None]:
            value_list = self._get(id, ValueList, "value list", "value_list")
            self._check_not_default(value_list)
            self._check_not_referenced(value_list)
            for item in self._store.list("radar.value_list_item", limit=None, value_list=id)[0]:
                self._store.delete(item.id)  # type: ignore[attr-defined]
            self._store.delete(id)
            self._radar.config_changed(unit)
            return value_list, None

        self._idempotent(None, f"DELETE /v1/radar/value_lists/{id}", {}, run)
        return DeletedObject(id=id, object="radar.value_list")

    def list(
        self, params: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> StripeList[ValueList]:
        p = check({**_LIST_CREATED, "alias": P(), "contains": P()}, _merge(params, kwargs))
        contains = p.pop("contains", None)
        if contains is None:
            return _list(self._store, "radar.value_list", "/v1/radar/value_lists", p)
        lists = {
            rule_list.alias
            for rule_list in self._radar.rules.lists.values()
            if rule_list.contains(contains)
        }
        return _list(
            self._store, "radar.value_list", "/v1/radar/value_lists", p, lambda v: v.alias in lists
        )

    @staticmethod
    def _check_not_default(value_list: ValueList) -> None:
        if value_list.created_by == "radarcore" and value_list.alias.startswith("default_"):
            raise InvalidRequestError(
                f"The default list '{value_list.alias}' cannot be modified or deleted; add or "
                "remove its items instead.",
                param="value_list",
            )

    def _check_not_referenced(self, value_list: ValueList) -> None:
        for rule in self._radar.rules.rules:
            if any(ref.alias == value_list.alias for ref, _ in rule.list_references()):
                raise InvalidRequestError(
                    f"The value list '{value_list.alias}' is referenced by the rule "
                    f"'{rule.id}' and cannot be deleted or renamed.",
                    param="value_list",
                )


class ValueListItemService(_Service):
    """``radar.value_list_items``: create, retrieve, delete, list (``value_list`` required)."""

    def create(
        self,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> ValueListItem:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[ValueListItem, None]:
            p = check(
                {"value_list": P(required=True), "value": P(required=True, max_length=800)}, request
            )
            value_list = self._get(p["value_list"], ValueList, "value list", "value_list")
            return self._add(unit, value_list, p["value"]), None

        return self._idempotent(idempotency_key, "POST /v1/radar/value_list_items", request, run)

    def _add(self, unit: Unit, value_list: ValueList, value: str) -> ValueListItem:
        now = self._now()
        probe = RuleValueList(
            value_list.alias,
            item_type=value_list.item_type,
            max_lifetime=self._radar.default_list_lifetime(value_list.alias),
        )
        try:
            probe.add(value, created=now)
        except ValueListError as error:
            raise InvalidRequestError(str(error), param="value") from None
        item = ValueListItem(
            id=new_id("rsli"),
            created=now,
            value=value,
            value_list=value_list.id,
            created_by="radarcore",
            livemode=self._radar.settings.livemode,
        )
        self._store.put(item)
        self._radar.config_changed(unit)
        return item

    def add_default(
        self, unit: Unit, kind: str, verb: Literal["allow", "block"], value: str
    ) -> None:
        """Add ``value`` to a default list unless a live item already holds it."""
        alias = self._radar.default_list_alias(kind, verb)
        value_list = self._radar.value_lists.by_alias(alias)
        current = self._radar.rules.lists.get(alias)
        if current is not None and current.contains(value, at=self._now()):
            return
        self._add(unit, value_list, value)

    def retrieve(self, id: str) -> ValueListItem:
        return self._get(id, ValueListItem, "value list item", "item")

    def delete(self, id: str) -> DeletedObject:
        def run(unit: Unit) -> tuple[ValueListItem, None]:
            item = self.retrieve(id)
            self._store.delete(id)
            self._radar.config_changed(unit)
            return item, None

        self._idempotent(None, f"DELETE /v1/radar/value_list_items/{id}", {}, run)
        return DeletedObject(id=id, object="radar.value_list_item")

    def list(
        self, params: Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> StripeList[ValueListItem]:
        p = check(
            {**_LIST_CREATED, "value_list": P(required=True), "value": P()}, _merge(params, kwargs)
        )
        self._get(p["value_list"], ValueList, "value list", "value_list")
        return _list(
            self._store,
            "radar.value_list_item",
            f"/v1/radar/value_list_items?value_list={p['value_list']}",
            p,
        )


class PaymentEvaluationService(_Service):
    """``radar.payment_evaluations``: Radar's standalone evaluation of a payment processed
    elsewhere. ``create`` scores it (``recommended_action`` ``block`` or ``continue``);
    ``report_outcome`` gives the authorisation result and ``report_event`` what came later
    (refunds, disputes, early fraud warnings, user interventions), which label it."""

    _ADDRESS4: ClassVar[Spec] = {
        k: P() for k in ("city", "country", "line1", "line2", "postal_code", "state")
    }
    _CREATE: ClassVar[Spec] = {
        "customer_details": P(
            "object",
            required=True,
            fields={
                "customer": P(),
                "customer_account": P(),
                "email": P(),
                "name": P(),
                "phone": P(),
            },
        ),
        "payment_details": P(
            "object",
            required=True,
            fields={
                "amount": P("int", required=True),
                "currency": P(required=True),
                "description": P(),
                "statement_descriptor": P(),
                "money_movement_details": P(
                    "object",
                    fields={
                        "money_movement_type": P(choices=("card",)),
                        "card": P(
                            "object",
                            fields={
                                "customer_presence": P(choices=("off_session", "on_session")),
                                "payment_type": P(
                                    choices=(
                                        "one_off",
                                        "recurring",
                                        "setup_one_off",
                                        "setup_recurring",
                                    )
                                ),
                            },
                        ),
                    },
                ),
                "payment_method_details": P(
                    "object",
                    fields={
                        "payment_method": P(),
                        "billing_details": P(
                            "object",
                            fields={
                                "address": P("object", fields=_ADDRESS4),
                                "email": P(),
                                "name": P(),
                                "phone": P(),
                            },
                        ),
                    },
                ),
                "shipping_details": P(
                    "object",
                    fields={"address": P("object", fields=_ADDRESS4), "name": P(), "phone": P()},
                ),
            },
        ),
        "client_device_metadata_details": P("object", fields={"radar_session": P()}),
        "metadata": P("metadata"),
    }
    _OUTCOME: ClassVar[Spec] = {
        "type": P(
            required=True,
            choices=("failed", "merchant_blocked", "rejected", "rerouted", "succeeded"),
        ),
        "payment_intent_id": P(),
        "merchant_blocked": P(
            "object",
            fields={
                "reason": P(
                    choices=(
                        "authentication_required",
                        "blocked_for_fraud",
                        "invalid_payment",
                        "other",
                    )
                )
            },
        ),
        "rejected": P(
            "object",
            fields={
                "card": P(
                    "object",
                    fields={
                        "address_line1_check": P(choices=_CHECK),
                        "address_postal_code_check": P(choices=_CHECK),
                        "cvc_check": P(choices=_CHECK),
                        "reason": P(),
                    },
                )
            },
        ),
        "succeeded": P(
            "object",
            fields={
                "card": P(
                    "object",
                    fields={
                        "address_line1_check": P(choices=_CHECK),
                        "address_postal_code_check": P(choices=_CHECK),
                        "cvc_check": P(choices=_CHECK),
                    },
                )
            },
        ),
    }
    _EVENT: ClassVar[Spec] = {
        "type": P(
            required=True,
            choices=(
                "dispute_opened",
                "early_fraud_warning_received",
                "refunded",
                "user_intervention_raised",
                "user_intervention_resolved",
            ),
        ),
        "occurred_at": P("int", minimum=0),
        "dispute_opened": P("object", fields={"amount": P("int"), "currency": P(), "reason": P()}),
        "early_fraud_warning_received": P("object", fields={"fraud_type": P()}),
        "refunded": P(
            "object",
            fields={
                "amount": P("int"),
                "currency": P(),
                "reason": P(choices=("duplicate", "fraudulent", "other", "requested_by_customer")),
            },
        ),
        "user_intervention_raised": P(
            "object",
            fields={
                "key": P(),
                "type": P(choices=("3ds", "captcha", "custom")),
                "custom": P("object", fields={"type": P()}),
            },
        ),
        "user_intervention_resolved": P(
            "object", fields={"key": P(), "outcome": P(choices=("abandoned", "failed", "passed"))}
        ),
    }

    def create(
        self,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> PaymentEvaluation:
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[PaymentEvaluation, None]:
            p = check(self._CREATE, request)
            radar = self._radar
            payment = p["payment_details"]
            currency = _check_currency(payment["currency"])
            amount = payment["amount"]
            if amount < 0 or amount > _MAX_AMOUNT:
                raise InvalidRequestError(
                    "Amount must be no more than $999,999.99"
                    if amount > 0
                    else "This value must be greater than or equal to 0.",
                    param="payment_details[amount]",
                    code="amount_too_large" if amount > 0 else "parameter_invalid_integer",
                )
            details = p["customer_details"]
            customer = None
            if details.get("customer"):
                customer = self._get(
                    details["customer"], Customer, "customer", "customer_details[customer]"
                )
            session = None
            session_id = p.get("client_device_metadata_details", {}).get("radar_session")
            if session_id is not None:
                session = self._get(
                    session_id,
                    RadarSession,
                    "radar session",
                    "client_device_metadata_details[radar_session]",
                )
            method = payment.get("payment_method_details", {})
            pm = None
            if method.get("payment_method"):
                pm = radar.payment_methods.resolve(
                    method["payment_method"],
                    "payment_details[payment_method_details][payment_method]",
                )
            movement = payment.get("money_movement_details", {}).get("card", {})
            payment_type = movement.get("payment_type", "one_off")
            now = self._now()
            evaluation_id = new_id("peval")
            billing = method.get("billing_details")
            event = build_event(
                radar,
                payment_id=evaluation_id,
                created=now,
                amount=amount,
                currency=currency,
                pm=pm,
                customer=customer,
                session=session,
                description=payment.get("description"),
                receipt_email=details.get("email"),
                shipping=_shipping(payment.get("shipping_details")),
                off_session=movement.get("customer_presence") == "off_session",
                recurring=payment_type in ("recurring", "setup_recurring"),
                setup=payment_type.startswith("setup"),
                metadata=p.get("metadata"),
            )
            if billing:
                b = _billing(billing)
                event.update(
                    {
                        f"billing_{k}": getattr(b.address, k)
                        for k in ("line1", "line2", "city", "state", "postal_code", "country")
                    }
                )
                event["email"] = event["email"] or b.email
                event["name"] = b.name or event["name"]
                event["phone"] = b.phone or event["phone"]
            for key in ("name", "phone"):
                event[key] = details.get(key) or event[key]
            assessment = radar.assess(
                event, object="payment_intent", test_risk=None if pm is None else pm.test_risk
            )
            outcome = assessment.outcome
            level = outcome.risk_level or "unknown"
            score = -1.0 if outcome.risk_score is None else round(float(outcome.risk_score), 2)
            evaluation = PaymentEvaluation(
                id=evaluation_id,
                created_at=now,
                recommended_action="block" if outcome.type == "blocked" else "continue",
                signals=EvaluationSignals(
                    EvaluationSignal(
                        evaluated_at=now,
                        risk_level=level,
                        score=score,
                    )
                ),
                livemode=radar.settings.livemode,
                metadata=p.get("metadata", {}),
                event=event,
            )
            self._store.put(evaluation)
            self._record(
                unit,
                "payment",
                now,
                evaluation.id,
                {"event": event, "result": "pending", "labels": [], **assessment.model_record()},
            )
            return evaluation, None

        return self._idempotent(idempotency_key, "POST /v1/radar/payment_evaluations", request, run)

    def retrieve(self, id: str) -> PaymentEvaluation:
        return self._get(id, PaymentEvaluation, "payment evaluation", "id")

    def report_outcome(
        self,
        id: str,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> PaymentEvaluation:
        """Report the authorisation outcome (``succeeded``, ``rejected``, ...), once."""
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[PaymentEvaluation, None]:
            p = check(self._OUTCOME, request)
            evaluation = self.retrieve(id)
            if evaluation.outcome is not None:
                raise InvalidRequestError(
                    f"An outcome has already been reported for {id}.", param="type"
                )
            evaluation.outcome = EvaluationOutcome(**p)
            label = {"succeeded": "authorized", "rejected": "declined", "failed": "declined"}.get(
                p["type"]
            )
            if label is not None and evaluation.event is not None:
                self._record(
                    unit, "label", self._now(), id, {"event": evaluation.event, "label": label}
                )
            self._store.put(evaluation)
            return evaluation, None

        return self._idempotent(
            idempotency_key, f"POST /v1/radar/payment_evaluations/{id}/report_outcome", request, run
        )

    def report_event(
        self,
        id: str,
        params: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> PaymentEvaluation:
        """Report a later event: a refund, a dispute, an early fraud warning, an intervention."""
        request = _merge(params, kwargs)

        def run(unit: Unit) -> tuple[PaymentEvaluation, None]:
            p = check(self._EVENT, request)
            evaluation = self.retrieve(id)
            kind = p["type"]
            occurred = p.get("occurred_at", self._now())
            details = p.get(kind)
            evaluation.events.append(
                EvaluationEvent(type=kind, occurred_at=occurred, details=details)
            )
            label = None
            if kind == "refunded":
                fraudulent = (details or {}).get("reason") == "fraudulent"
                label = "fraudulent_refund" if fraudulent else "refund"
            elif (
                kind == "dispute_opened"
                and (details or {}).get("reason", "fraudulent") == "fraudulent"
            ):
                label = "dispute"
            elif kind == "early_fraud_warning_received":
                label = "early_fraud_warning"
            if label is not None and evaluation.event is not None:
                self._record(
                    unit, "label", occurred, id, {"event": evaluation.event, "label": label}
                )
            self._store.put(evaluation)
            return evaluation, None

        return self._idempotent(
            idempotency_key, f"POST /v1/radar/payment_evaluations/{id}/report_event", request, run
        )
