"""Backtests: matched and decided payments per rule and per action, split into Radar's four
categories, against an independent tally over the oracle."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from radarcore import Rule, RuleSet, SchemaError
from radarcore.rules.backtest import CATEGORIES, Categories
from reference_rules import decide, matches

RULES = [
    "Block if :amount_in_usd: > 500 AND :card_country: != :ip_country:",
    "Review if :risk_level: = 'elevated'",
    "Allow if :customer: = 'cus_vip'",
    "Request 3D Secure if :amount_in_usd: > 200",
]


def _history(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.integers(100, 100_000, rows)
    return pd.DataFrame(
        {
            "amount": amount,
            "currency": rng.choice(["usd", "EUR", "eur"], rows),
            "amount_in_usd": amount / 100.0,
            "card_country": rng.choice(["US", "FR", None], rows),
            "ip_country": rng.choice(["us", "FR", None], rows),
            "risk_level": rng.choice(["normal", "elevated", "highest"], rows),
            "customer": rng.choice(["cus_vip", "cus_1", None], rows),
            "outcome_type": rng.choice(["authorized", "blocked", "manual_review"], rows),
            "is_disputed": rng.random(rows) < 0.1,
            "has_early_fraud_warning": rng.random(rows) < 0.1,
            "refunded_as_fraud": rng.random(rows) < 0.05,
            "is_refunded": rng.random(rows) < 0.2,
        }
    )


def _category(row: dict[str, Any]) -> str:
    if row["is_disputed"] or row["has_early_fraud_warning"] or row["refunded_as_fraud"]:
        return "fraudulent"
    if row["outcome_type"] == "blocked":
        return "already_blocked"
    return "other_refunds" if row["is_refunded"] else "rest"


def _tally(rows: list[dict[str, Any]]) -> dict[str, tuple[int, dict[str, int]]]:
    result: dict[str, tuple[int, dict[str, int]]] = {c: (0, {}) for c in CATEGORIES}
    for row in rows:
        count, amounts = result[_category(row)]
        currency = row["currency"].lower()
        amounts[currency] = amounts.get(currency, 0) + int(row["amount"])
        result[_category(row)] = (count + 1, amounts)
    return result


def _as_dict(categories: Categories) -> dict[str, tuple[int, dict[str, int]]]:
    return {c: (getattr(categories, c).count, getattr(categories, c).amount) for c in CATEGORIES}


def test_backtest_equals_an_independent_tally() -> None:
    history = _history(300, seed=7)
    rule_set = RuleSet(RULES)
    result = rule_set.backtest(history)
    rows = history.replace({np.nan: None}).to_dict("records")
    nodes = [r.node for r in rule_set.rules]
    attrs = ("amount_in_usd", "card_country", "ip_country", "risk_level", "customer")
    payments = [{k: row[k] for k in attrs} for row in rows]
    matched = [matches(nodes, p, {}) for p in payments]
    decisions = [decide(nodes, p, {}) for p in payments]
    assert _as_dict(result.payments) == _tally(rows)
    assert result.payments.count == 300
    for index, rule_result in enumerate(result.rules):
        assert rule_result.rule == rule_set.rules[index]
        hits = [row for row, m in zip(rows, matched, strict=True) if m[index]]
        assert _as_dict(rule_result.matched) == _tally(hits)
        decided = [
            row for row, d in zip(rows, decisions, strict=True) if d[1] == index or d[3] == index
        ]
        assert _as_dict(rule_result.decided) == _tally(decided)
    for action in ("allow", "block", "review"):
        chosen = [row for row, d in zip(rows, decisions, strict=True) if d[0] == action]
        assert _as_dict(result.by_action[action]) == _tally(chosen)
    three_d_secure = [row for row, d in zip(rows, decisions, strict=True) if d[2]]
    assert _as_dict(result.by_action["request_three_d_secure"]) == _tally(three_d_secure)


def test_one_rule_backtest_and_the_amount_in_usd_fallback() -> None:
    history = pd.DataFrame(
        {
            "amount_in_usd": [600.0, 700.5, 10.0, 900.0],
            "card_country": ["US", "US", "US", "FR"],
            "ip_country": ["FR", "DE", "FR", "FR"],
            "outcome_type": ["authorized", "blocked", "authorized", None],
            "is_disputed": [True, False, False, False],
            "has_early_fraud_warning": [False, False, False, False],
            "refunded_as_fraud": [False, False, False, False],
            "is_refunded": [False, True, False, False],
        }
    )
    result = Rule.parse(RULES[0]).backtest(history)
    assert result.matched.fraudulent.count == 1
    assert result.matched.fraudulent.amount == {"usd": 60000}
    assert result.matched.already_blocked.count == 1
    assert result.matched.already_blocked.amount == {"usd": 70050}
    assert result.matched.other_refunds.count == 0
    assert result.matched.rest.count == 0
    assert result.decided == result.matched


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        (["is_disputed"], "backtest history lacks the columns: is_disputed"),
        (["amount", "amount_in_usd"], "lacks the columns: amount (or amount_in_usd)"),
        (["currency"], "backtest history lacks the columns: currency"),
        (["outcome_type", "is_refunded"], "lacks the columns: outcome_type, is_refunded"),
    ],
)
def test_backtest_requires_its_columns(drop: list[str], message: str) -> None:
    history = _history(5, seed=1).drop(columns=drop)
    with pytest.raises(SchemaError) as info:
        RuleSet(RULES).backtest(history)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("is_disputed", [1, 0, 1, 0, 1], "column 'is_disputed' must be boolean, got int64"),
        ("amount", [1.5] * 5, "column 'amount' must hold integers (minor units), got double"),
        ("currency", [1] * 5, "column 'currency' must hold strings, got int64"),
        ("outcome_type", [1] * 5, "column 'outcome_type' must hold strings, got int64"),
        ("amount_in_usd", ["1"] * 5, "column 'amount_in_usd' must be numeric, got"),
    ],
)
def test_backtest_rejects_wrong_column_types(column: str, values: list[Any], message: str) -> None:
    history = _history(5, seed=1)
    if column == "amount_in_usd":
        history = history.drop(columns=["amount", "currency"])
    history[column] = values
    with pytest.raises(SchemaError) as info:
        RuleSet(RULES).backtest(history)
    assert message in str(info.value)
