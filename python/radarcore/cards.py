"""Card handling: numbers in, never stored; keyed fingerprints; BIN, brand, funding and
country from the bundled BIN table; Stripe's Radar test cards.

>>> info = lookup_bin("4242424242424242")
>>> info.brand, info.funding, info.country
('visa', 'credit', 'US')
>>> lookup_bin("5105105105105100").brand
'mastercard'
>>> fp = card_fingerprint(b"k" * 32, "4242 4242 4242 4242")
>>> fp == card_fingerprint(b"k" * 32, "4242424242424242") != card_fingerprint(b"x" * 32, fp)
True
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import hmac
from dataclasses import dataclass
from importlib import resources
from typing import Literal

__all__ = [
    "TEST_CARD_RISK",
    "TEST_PAYMENT_METHODS",
    "BinInfo",
    "TestRisk",
    "card_fingerprint",
    "lookup_bin",
    "luhn_valid",
    "normalize_number",
]

TestRisk = Literal["highest", "highest_always_blocked", "elevated", "issuer_declined"]

#: Stripe's Radar test cards (reference 3.6) and the generic decline card, by number.
TEST_CARD_RISK: dict[str, TestRisk] = {
    "4000000000004954": "highest",
    "4100000000000019": "highest_always_blocked",
    "4000000000009235": "elevated",
    "4000000000000002": "issuer_declined",
}

#: Stripe's test PaymentMethod ids and tokens, by the card number they stand for.
TEST_PAYMENT_METHODS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "tok_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "tok_mastercard": "5555555555554444",
    "pm_card_amex": "378282246310005",
    "pm_card_riskLevelHighest": "4000000000004954",
    "tok_riskLevelHighest": "4000000000004954",
    "pm_card_chargeDeclinedFraudulent": "4100000000000019",
    "tok_chargeDeclinedFraudulent": "4100000000000019",
    "pm_card_riskLevelElevated": "4000000000009235",
    "tok_riskLevelElevated": "4000000000009235",
    "pm_card_chargeDeclined": "4000000000000002",
    "tok_chargeDeclined": "4000000000000002",
}


@dataclass(frozen=True)
class BinInfo:
    """What the BIN table says about a card number (``country`` is ``None`` when unknown)."""

    bin: str
    brand: str
    funding: str
    country: str | None


@functools.cache
def _table() -> list[tuple[str, str, str, str, str | None]]:
    text = (resources.files("radarcore") / "data" / "bin_ranges.csv").read_text("utf-8")
    rows = csv.reader(line for line in text.splitlines() if not line.startswith("#"))
    table = [(lo, hi, brand, funding, country or None) for lo, hi, brand, funding, country in rows]
    return sorted(table, key=lambda row: len(row[0]), reverse=True)


def normalize_number(number: str) -> str:
    """The digits of a card number (spaces and dashes removed)."""
    return number.replace(" ", "").replace("-", "")


def luhn_valid(number: str) -> bool:
    """Whether ``number`` (digits only) passes the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def lookup_bin(number: str) -> BinInfo:
    """Brand, funding and country of a card number from the bundled BIN table (the longest
    matching prefix); ``unknown`` brand and funding when no range matches."""
    digits = normalize_number(number)
    for lo, hi, brand, funding, country in _table():
        prefix = digits[: len(lo)]
        if len(prefix) == len(lo) and lo <= prefix <= hi:
            return BinInfo(digits[:6], brand, funding, country)
    return BinInfo(digits[:6], "unknown", "unknown", None)


def card_fingerprint(key: bytes, number: str) -> str:
    """A stable, keyed fingerprint of a card number: 16 characters of HMAC-SHA256.

    Without the key the fingerprint cannot be turned back into a number by enumerating card
    numbers; with a different key the same card has an unrelated fingerprint.
    """
    digest = hmac.new(key, normalize_number(number).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest, altchars=b"Ab").decode()[:16]
