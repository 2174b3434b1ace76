"""Value lists: item types, case sensitivity, expiry, limits, default lists and default rules."""

from __future__ import annotations

import pytest

from radarcore import RuleSet, ValueList, ValueListError
from radarcore.rules import default_lists, default_rules
from radarcore.rules.lists import FINGERPRINT_ALLOW_LIFETIME, ITEM_TYPES, MAX_ITEMS, ValueListItem


def test_item_types_are_stripes_enum() -> None:
    assert set(ITEM_TYPES) == {
        "account",
        "card_bin",
        "card_fingerprint",
        "case_sensitive_string",
        "country",
        "crypto_fingerprint",
        "customer_id",
        "email",
        "ip_address",
        "sepa_debit_fingerprint",
        "string",
        "us_bank_account_fingerprint",
    }


@pytest.mark.parametrize(
    ("item_type", "stored", "probe", "found"),
    [
        ("string", "Fraud", "fRAUD", True),
        ("email", "A@B.com", "a@b.COM", True),
        ("country", "us", "US", True),
        ("case_sensitive_string", "Fraud", "fraud", False),
        ("card_fingerprint", "AbC", "abc", False),
        ("card_fingerprint", "AbC", "AbC", True),
        ("customer_id", "cus_A", "cus_a", False),
        ("ip_address", "10.0.0.1", "10.0.0.1", True),
        ("card_bin", "424242", "424242", True),
    ],
)
def test_matching_follows_the_item_type(
    item_type: str, stored: str, probe: str, found: bool
) -> None:
    value_list = ValueList("l", item_type=item_type, items=[stored])  # type: ignore[arg-type]
    assert value_list.contains(probe) is found
    rule_attribute = {
        "string": "email_domain",
        "email": "email",
        "country": "card_country",
        "case_sensitive_string": "email_domain",
        "card_fingerprint": "card_fingerprint",
        "customer_id": "customer",
        "ip_address": "ip_address",
        "card_bin": "card_bin",
    }[item_type]
    rule_set = RuleSet([f"Block if :{rule_attribute}: IN @l"], lists=[value_list])
    assert (rule_set.evaluate_one({rule_attribute: probe}).action == "block") is found


def test_expiry_and_removal() -> None:
    value_list = ValueList("l", items=[ValueListItem("a", expires_at=10), "b"])
    assert value_list.contains("a", at=9)
    assert not value_list.contains("a", at=10)
    assert value_list.contains("a")
    assert value_list.contains("b", at=10**12)
    value_list.remove("A")
    value_list.remove("not there")
    assert not value_list.contains("a")
    assert len(value_list) == 1
    assert repr(value_list) == "ValueList('l', item_type='string', items=1)"


def test_lifetime_limited_lists() -> None:
    value_list = ValueList("fp", item_type="card_fingerprint", max_lifetime=100)
    with pytest.raises(ValueListError, match="@fp items expire within 100 s: pass created="):
        value_list.add("x")
    value_list.add("x", created=1000)
    assert value_list.items == (ValueListItem("x", 1100),)
    with pytest.raises(ValueListError, match="@fp items expire at most 100 s after created"):
        value_list.add("y", created=1000, expires_at=1101)
    value_list.add("y", created=1000, expires_at=1050)
    assert value_list.contains("y", at=1049)
    assert not value_list.contains("y", at=1050)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alias": "bad alias"}, "list alias 'bad alias' must be 1 to 100 letters"),
        ({"alias": "x" * 101}, "must be 1 to 100 letters, digits"),
        (
            {"alias": "l", "item_type": "phone"},
            "unknown item_type 'phone'; expected one of",
        ),
        ({"alias": "l", "name": "n" * 101}, "list name is at most 100 characters, got 101"),
        ({"alias": "l", "items": [""]}, "'' must be 1 to 800 characters (string list @l)"),
        ({"alias": "l", "items": ["x" * 801]}, "must be 1 to 800 characters"),
        ({"alias": "l", "item_type": "country", "items": ["USA"]}, "'USA' is not a 2-letter"),
        ({"alias": "l", "item_type": "card_bin", "items": ["4242"]}, "'4242' is not a card BIN"),
        ({"alias": "l", "item_type": "email", "items": ["x"]}, "'x' is not an email address"),
        ({"alias": "l", "item_type": "ip_address", "items": ["1.2.3"]}, "is not an IP address"),
    ],
)
def test_rejected_lists_and_items(kwargs: dict[str, object], message: str) -> None:
    alias = kwargs.pop("alias")
    with pytest.raises(ValueListError) as info:
        ValueList(alias, **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_non_string_items_are_type_errors() -> None:
    with pytest.raises(TypeError, match="list values are str, not int"):
        ValueList("l", items=[5])  # type: ignore[list-item]


def test_item_limit() -> None:
    value_list = ValueList("l", items=(str(i) for i in range(MAX_ITEMS)))
    value_list.add("0")
    with pytest.raises(ValueListError, match=f"@l already holds the maximum of {MAX_ITEMS} items"):
        value_list.add("one more")


def test_default_lists_cover_section_3_2() -> None:
    lists = {v.alias: v for v in default_lists()}
    kinds = [
        "card_bin",
        "card_country",
        "card_fingerprint",
        "charge_description",
        "ip_country",
        "ip_address",
        "customer_id",
        "email",
        "email_domain",
        "us_bank_account_fingerprint",
        "sepa_debit_fingerprint",
    ]
    assert set(lists) == {f"default_{k}_{v}_list" for k in kinds for v in ("allow", "block")}
    assert lists["default_card_fingerprint_allow_list"].max_lifetime == FINGERPRINT_ALLOW_LIFETIME
    assert lists["default_sepa_debit_fingerprint_allow_list"].max_lifetime is not None
    assert lists["default_card_fingerprint_block_list"].max_lifetime is None
    assert lists["default_email_allow_list"].max_lifetime is None


def test_default_rules_and_their_ids() -> None:
    rules = {r.id: str(r) for r in default_rules()}
    assert rules["block_if_high_risk"] == "Block if :risk_level: = 'highest'"
    assert rules["manual_review_if_elevated_risk"] == "Review if :risk_level: = 'elevated'"
    assert rules["block_if_in_default_card_fingerprint_block_list"] == (
        "Block if :card_fingerprint: IN @default_card_fingerprint_block_list"
    )
    assert rules["allow_if_in_default_email_allow_list"] == (
        "Allow if :email: IN @default_email_allow_list"
    )
    assert len(rules) == 2 + 22


def test_default_rule_set_blocks_and_allows_with_lists() -> None:
    lists = {v.alias: v for v in default_lists()}
    lists["default_email_block_list"].add("bad@example.com")
    lists["default_card_fingerprint_allow_list"].add("fp_good", created=0)
    rule_set = RuleSet.default(lists=lists)
    blocked = rule_set.evaluate_one({"email": "BAD@example.com", "risk_level": "normal"})
    assert blocked.action == "block"
    assert blocked.rule is not None
    assert blocked.rule.id == "block_if_in_default_email_block_list"
    highest = rule_set.evaluate_one({"risk_level": "highest"})
    assert highest.rule is not None
    assert highest.rule.id == "block_if_high_risk"
    allowed = rule_set.evaluate_one({"risk_level": "highest", "card_fingerprint": "fp_good"}, at=5)
    assert allowed.action == "allow"
    expired = rule_set.evaluate_one(
        {"risk_level": "highest", "card_fingerprint": "fp_good"}, at=FINGERPRINT_ALLOW_LIFETIME
    )
    assert expired.action == "block"
    elevated = rule_set.evaluate_one({"risk_level": "elevated"})
    assert elevated.rule is not None
    assert elevated.rule.id == "manual_review_if_elevated_risk"


def test_default_rule_set_takes_custom_rules_and_lists() -> None:
    custom = ValueList("vip", items=["cus_1"], item_type="customer_id")
    rule_set = RuleSet.default(["Allow if :customer: IN @vip"], lists=[custom])
    assert rule_set.rules[0].predicate == ":customer: IN @vip"
    assert rule_set.evaluate_one({"customer": "cus_1", "risk_level": "highest"}).action == "allow"
    assert "default_email_block_list" in rule_set.lists
    assert len(RuleSet.default()) == 24
