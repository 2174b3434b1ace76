"""Hypothesis strategies shared by the test suite (rules: syntax trees, payments, lists)."""

from __future__ import annotations

import math

from hypothesis import strategies as st

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
