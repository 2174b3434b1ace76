"""Hypothesis strategies shared by the test suite, one block per area (forest, rules, ...)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from radarcore.models import SpecBuilder, TreeSpec
from radarcore.models._spec import MISSING_TYPES
from radarcore.rules.ast import (
    Action,
    And,
    AttributeRef,
    BooleanAttribute,
    CmpOp,
    Comparison,
    Condition,
    InlineList,
    IsMissing,
    MetadataRef,
    Not,
    NumberLiteral,
    Or,
    RuleNode,
    StringLiteral,
    ValueListRef,
)
from radarcore.rules.lists import ValueList, ValueListItem

# --- forest: random ensembles and rows that probe them ---

# Values that sit on split boundaries, around zero and LightGBM's zero threshold, or far out.
SPECIAL_VALUES = [
    0.0,
    -0.0,
    1e-36,
    -1e-36,
    1e-30,
    0.5,
    -0.5,
    1.0,
    2.0,
    3.0,
    31.0,
    32.0,
    33.0,
    -1.0,
    1e12,
    math.nan,
    math.inf,
    -math.inf,
]
THRESHOLDS = [
    0.0,
    0.5,
    -0.5,
    1.0,
    2.0,
    1e-36,
    0.1,
    1.0 / 3.0,
    float(np.float32(0.1)),
    float(np.nextafter(np.float32(0.5), np.float32(1.0))),
]


@st.composite
def trees(
    draw: st.DrawFn, n_features: int, split_rule: str, group: int, max_depth: int
) -> TreeSpec:
    tree = TreeSpec(group=group)

    def grow(depth: int) -> tuple[int, float]:
        if depth >= max_depth or draw(st.booleans()):
            cover = float(draw(st.integers(1, 50)))
            value = draw(st.floats(-2.0, 2.0, allow_nan=False))
            node = tree.add_leaf(value, cover=cover, leaf_id=draw(st.integers(0, 10_000)))
            return node, cover
        categorical = split_rule == "lightgbm" and draw(st.integers(0, 4)) == 0
        node = tree.add_split(
            draw(st.integers(0, n_features - 1)),
            draw(st.sampled_from(THRESHOLDS) | st.floats(-3.0, 3.0, allow_nan=False)),
            default_left=draw(st.booleans()),
            missing_type=draw(st.sampled_from(MISSING_TYPES))
            if split_rule == "lightgbm"
            else "nan",
            categories=draw(st.lists(st.integers(0, 70), min_size=1, max_size=6))
            if categorical
            else None,
        )
        left, left_cover = grow(depth + 1)
        right, right_cover = grow(depth + 1)
        tree.set_children(node, left, right)
        tree.cover[node] = left_cover + right_cover
        return node, left_cover + right_cover

    grow(0)
    return tree


@st.composite
def forests(draw: st.DrawFn, max_features: int = 5, max_trees: int = 12) -> SpecBuilder:
    n_features = draw(st.integers(1, max_features))
    split_rule = draw(st.sampled_from(["lightgbm", "xgboost"]))
    objective = draw(st.sampled_from(["binary", "regression", "multiclass"]))
    n_groups = draw(st.integers(2, 4)) if objective == "multiclass" else 1
    n_trees = draw(st.integers(1, max_trees))
    max_depth = draw(st.integers(0, 7))
    return SpecBuilder(
        feature_names=[f"x{i}" for i in range(n_features)],
        objective=objective,
        split_rule=split_rule,
        n_groups=n_groups,
        sigmoid_scale=draw(st.sampled_from([1.0, 0.5, 2.0])),
        base_score=draw(st.lists(st.floats(-1, 1), min_size=n_groups, max_size=n_groups)),
        trees=[
            draw(trees(n_features, split_rule, t % n_groups, max_depth)) for t in range(n_trees)
        ],
    )


def rows(n_features: int, min_rows: int = 0, max_rows: int = 20) -> st.SearchStrategy[np.ndarray]:
    value = st.sampled_from(SPECIAL_VALUES) | st.floats(-4.0, 4.0) | st.floats(allow_nan=True)
    return st.lists(
        st.lists(value, min_size=n_features, max_size=n_features),
        min_size=min_rows,
        max_size=max_rows,
    ).map(lambda r: np.asarray(r, dtype=np.float64).reshape(len(r), n_features))


# --- rules: syntax trees, payments, lists ---

# A small attribute pool so random rules and random payments meet often.
NUMERIC = ("amount_in_usd", "risk_score", "card_count_for_email_daily", "bot_score")
BOOLEAN = ("is_anonymous_ip", "is_3d_secure", "is_off_session")
CI_STRING = ("email", "email_domain", "charge_description")
ENUM_VALUES = {
    "risk_level": ("normal", "elevated", "highest", "not_assessed"),
    "card_brand": ("amex", "visa", "mc"),
}
CS_STRING = ("card_fingerprint", "customer")
CHECKS = ("cvc_check", "address_zip_check")
CHECK_VALUES = ("pass", "fail", "unavailable")
COUNTRY = ("card_country", "ip_country")
METADATA = (MetadataRef("", "Customer Age"), MetadataRef("customer", "Trusted"))

NUMBERS = (0.0, 1.0, 10.0, 25.0, 99.5, 500.0, 1000.0, -3.0)
TEXTS = ("a@x.com", "A@X.com", "fraud1@stripe.com", "x.com", "ab", "AB", "Ab%", "", "5A381D")
COUNTRIES = ("US", "us", "FR", "de", "GB")
PATTERNS = ("%", "a%", "%.com", "fraud%@stripe.com", "%b%", "AB", "a%b%c")
META_VALUES = ("5", "10", "-3", "10.0", "true", "True", "x", "", " 5")


def value_lists() -> dict[str, ValueList]:
    """Lists of several item types, with an expired and a live item."""
    return {
        v.alias: v
        for v in (
            ValueList("emails", item_type="email", items=["A@X.com", "fraud1@stripe.com"]),
            ValueList("countries", item_type="country", items=["us", "GB"]),
            ValueList("fingerprints", item_type="card_fingerprint", items=["AB", "5A381D"]),
            ValueList(
                "words",
                items=[
                    ValueListItem("ab", expires_at=100),
                    ValueListItem("x.com", expires_at=None),
                ],
            ),
            ValueList("exact", item_type="case_sensitive_string", items=["Ab%", "true"]),
        )
    }


LIST_FOR = {
    "email": ("emails", "words", "exact"),
    "email_domain": ("words", "exact"),
    "charge_description": ("words", "exact"),
    "card_country": ("countries", "words"),
    "ip_country": ("countries",),
    "card_fingerprint": ("fingerprints", "words", "exact"),
    "customer": ("words", "exact"),
}

_ORDERING = (CmpOp.EQ, CmpOp.NE, CmpOp.LT, CmpOp.GT, CmpOp.LE, CmpOp.GE)
_EQUALITY = (CmpOp.EQ, CmpOp.NE)


def _numbers() -> st.SearchStrategy[NumberLiteral]:
    return st.sampled_from(NUMBERS).map(NumberLiteral)


def _strings(values: tuple[str, ...]) -> st.SearchStrategy[StringLiteral]:
    return st.sampled_from(values).map(StringLiteral)


def _numeric_leaf() -> st.SearchStrategy[Condition]:
    attr = st.sampled_from(NUMERIC).map(AttributeRef)
    return st.one_of(
        st.builds(Comparison, attr, st.sampled_from(_ORDERING), _numbers()),
        st.builds(
            Comparison,
            attr,
            st.just(CmpOp.IN),
            st.lists(_numbers(), min_size=1, max_size=3).map(lambda xs: InlineList(tuple(xs))),
        ),
        st.builds(Comparison, attr, st.sampled_from(_ORDERING), attr),
        st.builds(Comparison, attr, st.sampled_from(_ORDERING), st.sampled_from(METADATA)),
    )


def _string_leaf(names: tuple[str, ...], values: tuple[str, ...]) -> st.SearchStrategy[Condition]:
    attr = st.sampled_from(names).map(AttributeRef)
    lists = [
        st.builds(
            Comparison,
            st.just(AttributeRef(name)),
            st.just(CmpOp.IN),
            st.sampled_from(LIST_FOR[name]).map(ValueListRef),
        )
        for name in names
        if name in LIST_FOR
    ]
    return st.one_of(
        st.builds(Comparison, attr, st.sampled_from(_EQUALITY), _strings(values)),
        st.builds(
            Comparison,
            attr,
            st.just(CmpOp.IN),
            st.lists(_strings(values), min_size=1, max_size=3).map(
                lambda xs: InlineList(tuple(xs))
            ),
        ),
        st.builds(Comparison, attr, st.sampled_from(_EQUALITY), attr),
        st.builds(Comparison, attr, st.sampled_from(_EQUALITY), st.sampled_from(METADATA)),
        *lists,
    )


def _pattern_leaf(names: tuple[str, ...]) -> st.SearchStrategy[Condition]:
    return st.builds(
        Comparison,
        st.sampled_from(names).map(AttributeRef),
        st.sampled_from((CmpOp.INCLUDES, CmpOp.LIKE)),
        _strings(PATTERNS + TEXTS),
    )


def _metadata_leaf() -> st.SearchStrategy[Condition]:
    meta = st.sampled_from(METADATA)
    return st.one_of(
        st.builds(Comparison, meta, st.sampled_from(_EQUALITY), _strings(META_VALUES)),
        st.builds(Comparison, meta, st.sampled_from(_ORDERING), _numbers()),
        st.builds(Comparison, meta, st.sampled_from(_ORDERING), _strings(("5", "10", "-3.5"))),
        st.builds(Comparison, meta, st.sampled_from(_ORDERING), meta),
        st.builds(
            Comparison, meta, st.sampled_from(_ORDERING), st.sampled_from(NUMERIC).map(AttributeRef)
        ),
        st.builds(
            Comparison,
            meta,
            st.just(CmpOp.IN),
            st.one_of(
                st.lists(_numbers(), min_size=1, max_size=3),
                st.lists(_strings(META_VALUES), min_size=1, max_size=3),
            ).map(lambda xs: InlineList(tuple(xs))),
        ),
        st.builds(
            Comparison, meta, st.sampled_from((CmpOp.INCLUDES, CmpOp.LIKE)), _strings(PATTERNS)
        ),
        st.builds(
            Comparison,
            meta,
            st.just(CmpOp.IN),
            st.sampled_from(("words", "exact")).map(ValueListRef),
        ),
        st.builds(
            Comparison,
            meta,
            st.sampled_from(_EQUALITY),
            st.sampled_from(CI_STRING).map(AttributeRef),
        ),
    )


def leaves() -> st.SearchStrategy[Condition]:
    """Valid leaf conditions over the attribute pool."""
    enum_leaves = [
        st.builds(
            Comparison,
            st.just(AttributeRef(name)),
            st.sampled_from(_EQUALITY),
            _strings(values + tuple(v.upper() for v in values)),
        )
        for name, values in ENUM_VALUES.items()
    ]
    missing = st.sampled_from(
        tuple(AttributeRef(n) for n in NUMERIC + CI_STRING + CS_STRING + COUNTRY) + METADATA
    ).map(IsMissing)
    return st.one_of(
        _numeric_leaf(),
        _string_leaf(CI_STRING, TEXTS),
        _string_leaf(CS_STRING, TEXTS),
        _string_leaf(COUNTRY, COUNTRIES),
        _pattern_leaf(CI_STRING + CS_STRING + COUNTRY),
        st.builds(
            Comparison,
            st.sampled_from(CHECKS).map(AttributeRef),
            st.sampled_from(_EQUALITY),
            _strings(CHECK_VALUES),
        ),
        _metadata_leaf(),
        st.sampled_from(BOOLEAN).map(lambda n: BooleanAttribute(AttributeRef(n))),
        missing,
        *enum_leaves,
    )


def conditions(max_leaves: int = 8) -> st.SearchStrategy[Condition]:
    """Valid conditions: leaves combined with NOT, AND, OR."""
    return st.recursive(
        leaves(),
        lambda children: st.one_of(
            children.map(Not),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        ),
        max_leaves=max_leaves,
    )


def rule_nodes() -> st.SearchStrategy[RuleNode]:
    """Valid transaction rules."""
    actions = st.sampled_from(
        (Action.REQUEST_THREE_D_SECURE, Action.ALLOW, Action.BLOCK, Action.REVIEW)
    )
    return st.builds(RuleNode, actions, conditions())


def _maybe(values: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.none(), values)


def payments() -> st.SearchStrategy[dict[str, object]]:
    """Payments over the attribute pool, each value possibly missing."""
    fields: dict[str, st.SearchStrategy[object]] = {}
    for name in NUMERIC:
        fields[name] = st.one_of(st.none(), st.just(math.nan), st.sampled_from(NUMBERS))
    for name in BOOLEAN:
        fields[name] = _maybe(st.booleans())
    for name in CI_STRING + CS_STRING:
        fields[name] = _maybe(st.sampled_from(TEXTS))
    for name in COUNTRY:
        fields[name] = _maybe(st.sampled_from(COUNTRIES))
    for name in CHECKS:
        fields[name] = _maybe(st.sampled_from((*CHECK_VALUES, "PASS")))
    for name, values in ENUM_VALUES.items():
        fields[name] = _maybe(st.sampled_from((*values, "Elevated")))
    for meta in METADATA:
        fields[str(meta)] = _maybe(st.sampled_from(META_VALUES))
    return st.fixed_dictionaries(fields)


# --- features: random payment streams ---

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


def _maybe_one_of(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
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
        "card_fingerprint": draw(_maybe_one_of(tuple(f"fp_{i}" for i in range(cards)))),
        "customer": draw(_maybe_one_of(("cus_1", "cus_2", "cus_3"))),
        "customer_created": draw(st.one_of(st.none(), st.just(T0 - 86_400))),
        "email": draw(_maybe_one_of(EMAILS)),
        "name": draw(_maybe_one_of(NAMES)),
        "ip_address": draw(_maybe_one_of(IPS)),
        "billing_line1": draw(_maybe_one_of(LINES)),
        "billing_country": draw(_maybe_one_of(("US", "FR"))),
        "shipping_line1": draw(_maybe_one_of(LINES)),
        "device_id": draw(_maybe_one_of(("dev_1", "dev_2"))),
        "merchant": draw(_maybe_one_of(("acct_1", "acct_2"))),
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
