"""A plain-Python reference for radarcore's velocity features: slow, obvious, used only by tests.

It keeps every past payment of every entity in lists and recomputes each counter from Radar's
rules as documented in radarcore.features: epoch-aligned buckets, a window covering the
payment's bucket and the N - 1 before it, counts excluding the current payment, bounded
families of 25 values evicting the one seen longest ago, a clock that never goes back,
SetupIntents kept out of the ``_charges_`` counters, and entities forgotten after the TTL.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from typing import Any

WINDOWS = {"hourly": (300, 13), "daily": (3600, 25), "weekly": (3600, 169), "yearly": (86400, 366)}
W4 = ("all_time", "weekly", "daily", "hourly")
CAP = 25
FIVE_YEARS = 1826 * 86400
OUTCOMES = ("authorized", "blocked", "declined", "total")


def in_window(t: int, s: int, window: str) -> bool:
    if window == "all_time":
        return True
    size, count = WINDOWS[window]
    return t // size - s // size < count


def _text(event: dict[str, Any], name: str) -> str | None:
    value = event.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _collapse(value: str) -> str:
    return " ".join(value.split())


def entity_values(event: dict[str, Any]) -> dict[str, str | None]:
    """The entity keys of an event, normalised the documented way."""
    is_card = (_text(event, "payment_method_type") or "card").lower() == "card"
    email = _text(event, "email")
    ip = _text(event, "ip_address")
    if ip is not None:
        parsed = ipaddress.ip_address(ip)
        if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped
        ip = str(parsed)
    return {
        "card": _text(event, "card_fingerprint") if is_card else None,
        "customer": _text(event, "customer"),
        "email": email.lower() if email is not None else None,
        "ip": ip,
        "billing": address(event, "billing", lower=True),
        "shipping": address(event, "shipping", lower=True),
        "device": _text(event, "device_id"),
        "merchant": _text(event, "merchant"),
    }


def address(event: dict[str, Any], prefix: str, lower: bool = False) -> str | None:
    street = [_text(event, f"{prefix}_{p}") for p in ("line1", "line2", "city")]
    region = [_text(event, f"{prefix}_{p}") for p in ("state", "postal_code", "country")]
    street_text = " ".join(_collapse(p) for p in street if p)
    region_text = " ".join(_collapse(p) for p in region if p)
    text = ", ".join(p for p in (street_text, region_text) if p)
    if not text:
        return None
    return text.lower() if lower else text


@dataclass
class Entity:
    first_seen: int | None = None
    last_seen: int = 0
    first_success: int | None = None
    charges: list[tuple[int, str]] = field(default_factory=list)
    families: dict[str, list[list[Any]]] = field(default_factory=dict)
    usd_attempted: float = 0.0
    usd_successful: float = 0.0
    usd_failed: float = 0.0

    def touch(self, family: str, value: str, t: int) -> None:
        members = self.families.setdefault(family, [])
        for member in members:
            if member[0] == value:
                member[1] = t
                return
        if len(members) >= CAP:
            oldest = min(range(len(members)), key=lambda i: (members[i][1], i))
            members[oldest] = [value, t]
        else:
            members.append([value, t])

    def count(self, family: str, t: int, window: str) -> int:
        return sum(1 for _, s in self.families.get(family, []) if in_window(t, s, window))

    def charge_count(self, outcome: str, t: int, window: str) -> int:
        return sum(1 for s, o in self.charges if o == outcome and in_window(t, s, window))


class ReferenceVelocity:
    def __init__(self, rates: dict[str, tuple[int, float]], ttl_seconds: int = FIVE_YEARS):
        self.rates = rates
        self.ttl = ttl_seconds
        self.clock = 0
        self.entities: dict[tuple[str, str], Entity] = {}

    def _usd(self, event: dict[str, Any]) -> float:
        exponent, usd = self.rates[event["currency"].strip().lower()]
        return float(event["amount"]) / (10.0**exponent) * usd

    def _live(self, kind: str, value: str | None, t: int) -> Entity | None:
        if value is None:
            return None
        entity = self.entities.get((kind, value))
        if entity is None or t - entity.last_seen > self.ttl:
            return None
        return entity

    def _acquire(self, kind: str, value: str, t: int) -> Entity:
        entity = self.entities.get((kind, value))
        if entity is None or t - entity.last_seen > self.ttl:
            entity = self.entities[(kind, value)] = Entity()
        return entity

    def features(self, event: dict[str, Any]) -> dict[str, float]:
        """Every velocity and label column by name, as of before the event."""
        t = max(event["created"], self.clock)
        values = entity_values(event)
        live = {kind: self._live(kind, value, t) for kind, value in values.items()}
        out: dict[str, float] = {}

        def count(kind: str, family: str, window: str) -> float:
            if values[kind] is None:
                return math.nan
            entity = live[kind]
            return 0.0 if entity is None else float(entity.count(family, t, window))

        def charges(kind: str, outcome: str, window: str) -> float:
            if values[kind] is None:
                return math.nan
            entity = live[kind]
            return 0.0 if entity is None else float(entity.charge_count(outcome, t, window))

        names = {
            "billing_address": "billing",
            "card_number": "card",
            "customer": "customer",
            "email": "email",
            "ip_address": "ip",
            "shipping_address": "shipping",
        }
        for name, kind in names.items():
            for outcome in OUTCOMES:
                for window in W4:
                    out[f"{outcome}_charges_per_{name}_{window}"] = charges(kind, outcome, window)
        for name, kind in (("device", "device"), ("merchant", "merchant")):
            for outcome in OUTCOMES:
                for window in ("daily", "hourly"):
                    out[f"{outcome}_charges_per_{name}_{window}"] = charges(kind, outcome, window)
        card_count = {
            "billing_address": "billing",
            "customer": "customer",
            "email": "email",
            "ip_address": "ip",
            "shipping_address": "shipping",
        }
        for name, kind in card_count.items():
            for window in W4:
                out[f"card_count_for_{name}_{window}"] = count(kind, "cards", window)
        email_count = {
            "billing_address": "billing",
            "ip": "ip",
            "shipping_address": "shipping",
            "card": "card",
        }
        for name, kind in email_count.items():
            for window in W4:
                out[f"email_count_for_{name}_{window}"] = count(kind, "emails", window)
        for window in ("daily", "hourly"):
            out[f"card_count_for_device_{window}"] = count("device", "cards", window)
            out[f"email_count_for_device_{window}"] = count("device", "emails", window)
        for window in W4:
            out[f"name_count_for_card_{window}"] = count("card", "names", window)
            out[f"dispute_count_on_ip_{window}"] = count("ip", "disputes", window)
            out[f"efw_count_on_card_{window}"] = count("card", "efws", window)
            out[f"efw_count_on_ip_{window}"] = count("ip", "efws", window)
            out[f"refund_count_on_card_{window}"] = count("card", "refunds", window)
        for window in ("all_time", "yearly"):
            out[f"dispute_count_on_card_number_{window}"] = count("card", "disputes", window)
        for kind in ("email", "card"):
            for window in ("yearly", "weekly"):
                out[f"total_customers_for_{kind}_{window}"] = count(kind, "customers", window)
                out[f"total_customers_with_prior_fraud_activity_for_{kind}_{window}"] = count(
                    kind, "fraud_customers", window
                )
        for kind in ("customer", "card"):
            entity = live[kind] if values[kind] is not None else None
            present = values[kind] is not None
            attempts = entity.charge_count("total", t, "all_time") if entity else 0
            successes = entity.charge_count("authorized", t, "all_time") if entity else 0
            attempted = entity.usd_attempted if entity else 0.0
            successful = entity.usd_successful if entity else 0.0
            failed = entity.usd_failed if entity else 0.0
            suffix = f"_on_{kind}_all_time"
            nan = math.nan
            out["average_usd_amount_attempted" + suffix] = (
                attempted / attempts if present and attempts else nan
            )
            out["average_usd_amount_successful" + suffix] = (
                successful / successes if present and successes else nan
            )
            out["total_usd_amount_charged" + suffix] = attempted if present else nan
            out["total_usd_amount_failed" + suffix] = failed if present else nan
            out["total_usd_amount_successful" + suffix] = successful if present else nan

        def since(seconds: int | None, base: str) -> None:
            for unit, size in (("hours", 3600), ("minutes", 60), ("seconds", 1)):
                out[f"{unit}_since_{base}"] = (
                    math.nan if seconds is None else float(min(seconds, FIVE_YEARS) // size)
                )

        created = event.get("customer_created")
        since(
            None if created is None else max(0, event["created"] - created), "customer_was_created"
        )
        email, card = live["email"], live["card"]
        since(
            t - email.first_seen if email and email.first_seen is not None else None,
            "email_first_seen",
        )
        since(
            t - card.first_seen if card and card.first_seen is not None else None, "card_first_seen"
        )
        since(
            t - card.first_success if card and card.first_success is not None else None,
            "first_successful_auth_on_card",
        )
        customer = live["customer"]
        out["is_new_card_on_customer"] = float(
            values["card"] is not None
            and values["customer"] is not None
            and not (
                customer and any(m[0] == values["card"] for m in customer.families.get("cards", []))
            )
        )
        return out

    def update(self, event: dict[str, Any], outcome: str | None) -> None:
        outcome = outcome or event.get("outcome") or "pending"
        self.clock = t = max(self.clock, event["created"])
        values = entity_values(event)
        entities = {k: self._acquire(k, v, t) for k, v in values.items() if v is not None}
        for entity in entities.values():
            if entity.first_seen is None:
                entity.first_seen = t
            entity.last_seen = max(entity.last_seen, t)
        if not event.get("is_setup_intent"):
            usd = self._usd(event)
            for entity in entities.values():
                entity.charges.append((t, "total"))
                if outcome != "pending":
                    entity.charges.append((t, outcome))
            for kind in ("customer", "card"):
                if kind in entities:
                    e = entities[kind]
                    e.usd_attempted += usd
                    if outcome == "authorized":
                        e.usd_successful += usd
                    if outcome in ("declined", "blocked"):
                        e.usd_failed += usd
            card = entities.get("card")
            if card is not None and outcome == "authorized" and card.first_success is None:
                card.first_success = t
        name = _text(event, "name")
        name = _collapse(name).lower() if name else None
        for kind in ("customer", "email", "ip", "billing", "shipping", "device"):
            if kind in entities and values["card"] is not None:
                entities[kind].touch("cards", values["card"], t)
        for kind in ("ip", "billing", "shipping", "card", "device"):
            if kind in entities and values["email"] is not None:
                entities[kind].touch("emails", values["email"], t)
        if "card" in entities and name is not None:
            entities["card"].touch("names", name, t)
        for kind in ("email", "card"):
            if kind in entities and values["customer"] is not None:
                entities[kind].touch("customers", values["customer"], t)

    def record_label(self, event: dict[str, Any], label: str, at: int | None = None) -> None:
        self.clock = t = max(
            self.clock, at if at is not None else event["created"], event["created"]
        )
        values = entity_values(event)

        def get(kind: str) -> Entity | None:
            if values[kind] is None:
                return None
            entity = self._acquire(kind, values[kind], t)
            entity.last_seen = max(entity.last_seen, t)
            return entity

        if label in ("authorized", "declined"):
            if event.get("is_setup_intent"):
                return
            usd = self._usd(event)
            for kind in values:
                entity = get(kind)
                if entity is None:
                    continue
                entity.charges.append((t, label))
                if kind in ("customer", "card"):
                    if label == "authorized":
                        entity.usd_successful += usd
                    else:
                        entity.usd_failed += usd
                if kind == "card" and label == "authorized" and entity.first_success is None:
                    entity.first_success = t
            return
        payment = event["id"].strip()

        def touch(kind: str, family: str, value: str | None) -> None:
            if value is None:
                return
            entity = get(kind)
            if entity is not None:
                entity.touch(family, value, t)

        if label in ("refund", "fraudulent_refund"):
            touch("card", "refunds", payment)
        if label == "early_fraud_warning":
            touch("card", "efws", payment)
            touch("ip", "efws", payment)
        if label == "dispute":
            touch("card", "disputes", payment)
            touch("ip", "disputes", payment)
        if label in ("fraudulent_refund", "early_fraud_warning", "dispute", "high_risk_block"):
            touch("email", "fraud_customers", values["customer"])
            touch("card", "fraud_customers", values["customer"])
