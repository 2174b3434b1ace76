"""The dashboard's payment search language: query text to store filters, and its errors."""

from __future__ import annotations

import re

import pytest

from radarcore.server.search import QueryError, parse_query
from radarcore.store import Range

DAY = 1_796_601_600  # 2026-12-07 00:00:00 UTC


@pytest.mark.parametrize(
    ("query", "filters"),
    [
        ("", {}),
        ("risk_level:highest", {"risk_level": "highest"}),
        ("email:jenny@example.com", {"email": "jenny@example.com"}),
        ("jenny@example.com", {"email": "jenny@example.com"}),
        ("card:4242", {"last4": "4242"}),
        ("4242", {"last4": "4242"}),
        ("card:fp_AbC", {"card_fingerprint": "fp_AbC"}),
        ("ip:203.0.113.7", {"ip_address": "203.0.113.7"}),
        ("2001:db8::1", {"ip_address": "2001:db8::1"}),
        ("amount:25", {"amount": Range(gte=2500, lte=2500)}),
        ("amount:>100", {"amount": Range(gte=10001)}),
        ("amount:>=100", {"amount": Range(gte=10000)}),
        ("amount:<20.50", {"amount": Range(lte=2049)}),
        ("amount:<=20.50", {"amount": Range(lte=2050)}),
        ("amount:10..50", {"amount": Range(gte=1000, lte=5000)}),
        ("date:2026-12-07", {"created": Range(gte=DAY, lte=DAY + 86399)}),
        ("date:2026-12-06..2026-12-07", {"created": Range(gte=DAY - 86400, lte=DAY + 86399)}),
        ("date:>2026-12-06", {"created": Range(gte=DAY)}),
        ("date:<2026-12-07", {"created": Range(lte=DAY - 1)}),
        ("customer:cus_1 pi_2", {"customer": "cus_1", "payment_intent": "pi_2"}),
        (
            "RISK_LEVEL:elevated card:0019 amount:>5",
            {"risk_level": "elevated", "last4": "0019", "amount": Range(gte=501)},
        ),
    ],
)
def test_queries(query: str, filters: dict[str, object]) -> None:
    assert parse_query(query) == filters


@pytest.mark.parametrize(
    ("query", "term", "message"),
    [
        ("colour:red", "colour:red", "unknown search field 'colour'"),
        ("hello", "hello", "not an email, card last 4, IP address or id"),
        ("risk_level:severe", "risk_level:severe", "risk_level is one of normal, elevated"),
        ("ip:300.1.1.1", "ip:300.1.1.1", "'300.1.1.1' is not an IP address"),
        ("amount:ten", "amount:ten", "'ten' is not an amount"),
        ("amount:-5", "amount:-5", "an amount is a number of at least 0"),
        ("amount:50..10", "amount:50..10", "the range is empty"),
        ("date:yesterday", "date:yesterday", "'yesterday' is not a date (YYYY-MM-DD)"),
        ("email:", "email:", "give a value after email:"),
        ("card:4242 card:1111", "card:1111", "card is given twice"),
    ],
)
def test_bad_queries_name_the_term(query: str, term: str, message: str) -> None:
    with pytest.raises(QueryError, match=re.escape(message)) as caught:
        parse_query(query)
    assert caught.value.term == term
