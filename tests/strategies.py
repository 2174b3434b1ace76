"""Hypothesis strategies shared by the test suite (one block per area)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# --- features (issue 3): payment streams for the velocity and feature tests -------------------

T0 = 1_699_920_000  # 2023-11-14T00:00:00Z, a day boundary: window edges are easy to hit

#: Gaps between payments that sit on either side of every window edge, plus out-of-order steps.
GAPS = (
    0,
    1,
    299,
    300,
    301,
    3_599,
    3_600,
    3_899,
    3_900,
    3_901,
    86_399,
    86_400,
    89_999,
    90_000,
    604_799,
    608_399,
    608_400,
    31_535_999,
    31_622_400,
    -1,
    -700,
)

EMAILS = ("jane@example.com", " Jane@Example.COM ", "bob@mailinator.com", "x.y@sub.example.org")
IPS = ("203.0.113.7", "::ffff:203.0.113.7", "198.51.100.1", "2001:db8::1", "2001:DB8:0::1")
NAMES = ("Jane Doe", " jane   DOE ", "Bob Smith", "Ana")
LINES = ("1 Main St", "1  main st", "22 Rue de Rivoli")
OUTCOME_CHOICES = ("authorized", "declined", "blocked", "pending", None)
LABEL_CHOICES = (
    "authorized",
    "declined",
    "refund",
    "fraudulent_refund",
    "early_fraud_warning",
    "dispute",
    "high_risk_block",
)


def _maybe(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.sampled_from(values))


@st.composite
def payment_fields(draw: st.DrawFn, cards: int, crowded: bool = False) -> dict[str, Any]:
    """The optional fields of one payment, drawn from small pools so entities repeat; `crowded`
    puts every payment on the same customer, email, IP and addresses, to overflow their sets."""
    if crowded:
        return {
            "card_fingerprint": f"fp_{draw(st.integers(0, cards - 1))}",
            "customer": "cus_1",
            "email": draw(st.sampled_from(EMAILS))
            if draw(st.booleans())
            else f"u{draw(st.integers(0, cards))}@e.com",
            "name": f"Name {draw(st.integers(0, cards))}",
            "ip_address": "203.0.113.7",
            "billing_line1": "1 Main St",
            "shipping_line1": "1 Main St",
            "device_id": "dev_1",
            "currency": "usd",
            "amount": draw(st.integers(0, 100_000)),
        }
    event: dict[str, Any] = {
        "payment_method_type": draw(st.sampled_from(("card", "card", "card", None, "sepa_debit"))),
        "card_fingerprint": draw(_maybe(tuple(f"fp_{i}" for i in range(cards)))),
        "customer": draw(_maybe(("cus_1", "cus_2", "cus_3"))),
        "customer_created": draw(st.one_of(st.none(), st.just(T0 - 86_400))),
        "email": draw(_maybe(EMAILS)),
        "name": draw(_maybe(NAMES)),
        "ip_address": draw(_maybe(IPS)),
        "billing_line1": draw(_maybe(LINES)),
        "billing_country": draw(_maybe(("US", "FR"))),
        "shipping_line1": draw(_maybe(LINES)),
        "device_id": draw(_maybe(("dev_1", "dev_2"))),
        "merchant": draw(_maybe(("acct_1", "acct_2"))),
        "is_setup_intent": draw(st.sampled_from((None, False, False, True))),
        "currency": draw(st.sampled_from(("usd", "eur", "jpy", "USD"))),
        "amount": draw(st.integers(0, 100_000)),
    }
    return {k: v for k, v in event.items() if v is not None}


@st.composite
def payment_streams(
    draw: st.DrawFn, max_size: int = 30, cards: int = 4, crowded: bool = False
) -> list[tuple[Any, ...]]:
    """A stream of operations: ("pay", event, outcome) and ("label", payment index, label,
    delay). Payment times move by GAPS or random steps, sometimes backwards."""
    n = draw(st.integers(1, max_size))
    t = T0
    operations: list[tuple[Any, ...]] = []
    payments = 0
    for _ in range(n):
        if payments and draw(st.integers(0, 4)) == 0:
            target = draw(st.integers(0, payments - 1))
            label = draw(st.sampled_from(LABEL_CHOICES))
            operations.append(("label", target, label, draw(st.sampled_from((0, 60, 4_000)))))
            continue
        if crowded:
            t += draw(st.integers(0, 600))
        else:
            t += draw(st.one_of(st.sampled_from(GAPS), st.integers(0, 200_000)))
        event = draw(payment_fields(cards, crowded))
        event.update(id=f"ch_{payments}", created=t)
        outcome = draw(st.sampled_from(OUTCOME_CHOICES))
        if outcome is not None and draw(st.booleans()):
            event["outcome"] = outcome
            outcome = None
        operations.append(("pay", event, outcome))
        payments += 1
    return operations
