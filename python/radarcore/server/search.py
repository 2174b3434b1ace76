"""The dashboard's payment search: a query string to store filters.

A query is space-separated terms, each ``name:value`` or a bare value whose shape says what it
is. Every term narrows the search (AND):

* ``risk_level:highest`` (``normal``, ``elevated``, ``highest``, ``not_assessed``, ``unknown``);
* ``email:jenny@example.com`` (or a bare address);
* ``card:4242`` (last 4 digits, or a bare 4-digit number), ``card:<fingerprint>``;
* ``ip:203.0.113.7`` (or a bare IPv4/IPv6 address);
* ``amount:>100``, ``amount:<=20.50``, ``amount:10..50``, ``amount:25`` in major units of a
  two-decimal currency (``10`` is 1000 minor units);
* ``date:2026-12-07`` (that UTC day), ``date:2026-12-01..2026-12-07``, ``date:>2026-12-01``;
* ``customer:cus_...``, ``payment_intent:pi_...``.

>>> parse_query("risk_level:highest amount:>100 jenny@example.com")
{'risk_level': 'highest', 'amount': Range(gte=10001, lte=None), 'email': 'jenny@example.com'}
>>> parse_query("card:4242 date:2026-12-07")["created"]
Range(gte=1796601600, lte=1796687999)
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from radarcore.store import Range

__all__ = ["RISK_LEVELS", "QueryError", "parse_query"]

RISK_LEVELS = ("normal", "elevated", "highest", "not_assessed", "unknown")

_NAMES = {
    "risk_level": "risk_level",
    "email": "email",
    "card": "card",
    "ip": "ip_address",
    "amount": "amount",
    "date": "created",
    "customer": "customer",
    "payment_intent": "payment_intent",
}
_COMPARISON = re.compile(r"^(>=|<=|>|<)?(.+)$")


class QueryError(ValueError):
    """A search query the dashboard cannot run; ``term`` is the offending term."""

    def __init__(self, message: str, term: str) -> None:
        super().__init__(message)
        self.term = term


def _amount(text: str, term: str) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise QueryError(f"{term!r}: {text!r} is not an amount", term) from None
    if not value.is_finite() or value < 0:
        raise QueryError(f"{term!r}: an amount is a number of at least 0", term)
    return int(value * 100)


def _day(text: str, term: str) -> tuple[int, int]:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise QueryError(f"{term!r}: {text!r} is not a date (YYYY-MM-DD)", term) from None
    start = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())
    return start, start + 86399


def _range(value: str, term: str, parse: Any) -> Range:
    """``a..b``, ``>a``, ``>=a``, ``<a``, ``<=a`` or ``a``; ``parse`` gives (first, last)."""
    if ".." in value:
        low, _, high = value.partition("..")
        lo, hi = parse(low, term)[0], parse(high, term)[1]
        if lo > hi:
            raise QueryError(f"{term!r}: the range is empty", term)
        return Range(gte=lo, lte=hi)
    match = _COMPARISON.match(value)
    assert match is not None
    op, operand = match.groups()
    first, last = parse(operand, term)
    if op == ">":
        return Range(gte=last + 1)
    if op == ">=":
        return Range(gte=first)
    if op == "<":
        return Range(lte=first - 1)
    if op == "<=":
        return Range(lte=last)
    return Range(gte=first, lte=last)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _bare(term: str) -> tuple[str, str]:
    if "@" in term:
        return "email", term
    if re.fullmatch(r"[0-9]{4}", term):
        return "card", term
    if _is_ip(term):
        return "ip", term
    if term.startswith("cus_"):
        return "customer", term
    if term.startswith("pi_"):
        return "payment_intent", term
    raise QueryError(
        f"{term!r}: not an email, card last 4, IP address or id; use name:value "
        f"({', '.join(_NAMES)})",
        term,
    )


def parse_query(query: str) -> dict[str, Any]:
    """The :meth:`radarcore.store.Store.list` filters of a search query (see the module)."""
    filters: dict[str, Any] = {}
    for term in query.split():
        name, sep, value = term.partition(":")
        if not sep or (name.lower() not in _NAMES and _is_ip(term)):
            name, value = _bare(term)
        name = name.lower()
        if name not in _NAMES:
            raise QueryError(
                f"{term!r}: unknown search field {name!r}; use one of {', '.join(_NAMES)}", term
            )
        if not value:
            raise QueryError(f"{term!r}: give a value after {name}:", term)
        column = _NAMES[name]
        if name == "risk_level":
            if value not in RISK_LEVELS:
                raise QueryError(f"{term!r}: risk_level is one of {', '.join(RISK_LEVELS)}", term)
        elif name == "card":
            column = "last4" if re.fullmatch(r"[0-9]{4}", value) else "card_fingerprint"
        elif name == "ip" and not _is_ip(value):
            raise QueryError(f"{term!r}: {value!r} is not an IP address", term)
        if column in filters:
            raise QueryError(f"{term!r}: {name} is given twice", term)
        if name == "amount":
            filters[column] = _range(value, term, lambda t, q: (_amount(t, q),) * 2)
        elif name == "date":
            filters[column] = _range(value, term, _day)
        else:
            filters[column] = value
    return filters
