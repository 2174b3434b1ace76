"""Value lists through the engine: Radar's default lists, custom lists in rules, list errors."""

from __future__ import annotations

from typing import Any

import pytest

from radarcore import CardError, InvalidRequestError, RuleSyntaxError
from radarcore.radar import Radar
from radarcore.rules.lists import DEFAULT_LIST_KINDS

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}


def pay(radar: Radar, amount: int = 5_000, **kwargs: Any) -> Any:
    return radar.payment_intents.create(
        amount=amount, currency="usd", payment_method="pm_card_visa", confirm=True, **kwargs
    )


def test_default_lists_exist_once(radar_factory: Any) -> None:
    radar = radar_factory()
    radar_factory()
    aliases = [v.alias for v in radar.value_lists.list(limit=100)]
    expected = {f"default_{k}_{v}_list" for k in DEFAULT_LIST_KINDS for v in ("allow", "block")}
    assert sorted(aliases) == sorted(expected)


def test_default_block_list_blocks_with_merchant_blacklist(radar: Radar) -> None:
    blocked = radar.value_lists.list(alias="default_email_block_list").data[0]
    item = radar.value_list_items.create(value_list=blocked.id, value="Fraud@Example.com")
    with pytest.raises(CardError) as info:
        pay(radar, receipt_email="fraud@example.com")
    assert info.value.decline_code == "merchant_blacklist"
    outcome = radar.charges.list().data[0].outcome
    assert (outcome.type, outcome.reason, outcome.network_status) == (
        "blocked",
        "merchant_blacklist",
        "not_sent_to_network",
    )
    assert outcome.rule.id == "block_if_in_default_email_block_list"
    radar.value_list_items.delete(item.id)
    assert pay(radar, receipt_email="fraud@example.com").status == "succeeded"


def test_default_lists_cannot_be_changed(radar: Radar) -> None:
    default = radar.value_lists.list(alias="default_ip_address_block_list").data[0]
    with pytest.raises(InvalidRequestError, match="cannot be modified or deleted") as info:
        radar.value_lists.delete(default.id)
    assert info.value.param == "value_list"
    with pytest.raises(InvalidRequestError, match="cannot be modified or deleted"):
        radar.value_lists.update(default.id, name="mine")


def test_custom_list_in_a_rule(radar_factory: Any) -> None:
    radar = radar_factory()
    ips = radar.value_lists.create(alias="blocked_ips", name="Blocked IPs", item_type="ip_address")
    radar.set_rules(["Block if :ip_address: in @blocked_ips"])
    session = radar.radar_sessions.create(ip_address="203.0.113.9")
    assert pay(radar, radar_options={"session": session.id}).status == "succeeded"
    radar.value_list_items.create(value_list=ips.id, value="203.0.113.9")
    with pytest.raises(CardError):
        pay(radar, radar_options={"session": session.id})
    outcome = radar.charges.list().data[0].outcome
    assert (outcome.reason, outcome.rule.predicate) == ("rule", ":ip_address: IN @blocked_ips")
    listed = radar.value_lists.retrieve(ips.id)
    assert [i["value"] for i in listed.list_items.data] == ["203.0.113.9"]
    assert [v.alias for v in radar.value_lists.list(contains="203.0.113.9")] == ["blocked_ips"]
    with pytest.raises(InvalidRequestError, match="referenced by the rule"):
        radar.value_lists.delete(ips.id)
    radar.set_rules(None)
    assert radar.value_lists.delete(ips.id).deleted
    with pytest.raises(InvalidRequestError, match="No such value list"):
        radar.value_lists.retrieve(ips.id)


def test_a_rule_on_an_unknown_list_alias_is_rejected(radar_factory: Any) -> None:
    with pytest.raises(RuleSyntaxError, match="unknown list @nowhere"):
        radar_factory(rules=["Block if :email: in @nowhere"])


def test_list_errors(radar: Radar) -> None:
    radar.value_lists.create(alias="vips", name="VIPs", item_type="email")
    with pytest.raises(InvalidRequestError, match="alias 'vips' already exists") as info:
        radar.value_lists.create(alias="vips", name="Again")
    assert info.value.param == "alias"
    with pytest.raises(InvalidRequestError, match="must be 1 to 100 letters") as info:
        radar.value_lists.create(alias="bad alias!", name="Bad")
    assert info.value.param == "alias"
    with pytest.raises(InvalidRequestError, match="Invalid item_type: must be one of") as info:
        radar.value_lists.create(alias="x", name="X", item_type="colour")
    assert info.value.param == "item_type"
    vips = radar.value_lists.list(alias="vips").data[0]
    with pytest.raises(InvalidRequestError, match="is not an email address") as info:
        radar.value_list_items.create(value_list=vips.id, value="not-an-email")
    assert info.value.param == "value"
    with pytest.raises(InvalidRequestError, match="No such value list: 'rsl_missing'") as info:
        radar.value_list_items.create(value_list="rsl_missing", value="a@b.co")
    assert (info.value.param, info.value.code, info.value.http_status) == (
        "value_list",
        "resource_missing",
        404,
    )
    with pytest.raises(InvalidRequestError, match=r"Missing required param: value_list\."):
        radar.value_list_items.list()


def test_value_list_items_list_and_update(radar: Radar) -> None:
    vips = radar.value_lists.create(alias="vips", name="VIPs", item_type="email")
    for email in ("a@example.com", "b@example.com"):
        radar.value_list_items.create(value_list=vips.id, value=email)
    values = [i.value for i in radar.value_list_items.list(value_list=vips.id)]
    assert sorted(values) == ["a@example.com", "b@example.com"]
    renamed = radar.value_lists.update(vips.id, name="Very important", metadata={"team": "risk"})
    assert (renamed.name, renamed.metadata) == ("Very important", {"team": "risk"})
    assert radar.value_lists.retrieve(vips.id).item_type == "email"
