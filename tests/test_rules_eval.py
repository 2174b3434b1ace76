"""Compiled evaluation: equal to the plain-Python oracle, batch equal to one-by-one, Radar's
missing-value logic, decision order, object kinds, case sensitivity and input forms."""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radarcore import Rule, RuleSet, SchemaError, ValueList, _core
from radarcore.rules.ast import RuleNode
from reference_rules import decide, matches
from strategies import payments, rule_nodes, value_lists

OBJECTS = ("charge", "payment_intent", "setup_intent")


def _columns(rows: list[dict[str, object]]) -> dict[str, Any]:
    names = rows[0].keys() if rows else []
    columns: dict[str, Any] = {}
    for name in names:
        values = [row[name] for row in rows]
        present = [v for v in values if v is not None]
        if present and isinstance(present[0], bool):
            columns[name] = np.array([bool(v) for v in values], dtype=bool)
        elif present and isinstance(present[0], float):
            columns[name] = np.array([math.nan if v is None else v for v in values])
        else:
            columns[name] = np.array(values, dtype=object)
    return columns


def _rule_set(nodes: list[RuleNode]) -> RuleSet:
    return RuleSet([Rule(node, id=f"r{i}") for i, node in enumerate(nodes)], lists=value_lists())


@settings(max_examples=150, deadline=None)
@given(
    st.lists(rule_nodes(), min_size=1, max_size=6),
    st.lists(payments(), min_size=1, max_size=12),
    st.sampled_from(OBJECTS),
    st.sampled_from([None, 50, 100, 1000]),
)
def test_compiled_equals_oracle_and_batch_equals_one(
    nodes: list[RuleNode], rows: list[dict[str, object]], object: Any, at: int | None
) -> None:
    rule_set = _rule_set(nodes)
    lists = value_lists()
    batch = rule_set.evaluate_many(_columns(rows), object=object, at=at)
    assert len(batch) == len(rows)
    for i, row in enumerate(rows):
        expected = decide(nodes, row, lists, object=object, at=at)
        one = rule_set.evaluate_one(row, object=object, at=at)
        got = (
            one.action,
            -1 if one.rule is None else int(one.rule.id[1:]),
            one.request_three_d_secure,
            -1 if one.three_d_secure_rule is None else int(one.three_d_secure_rule.id[1:]),
        )
        assert got == expected, (str(rule_set), row)
        assert batch[i] == one


@settings(max_examples=60, deadline=None)
@given(st.lists(rule_nodes(), min_size=1, max_size=5), st.lists(payments(), min_size=1, max_size=8))
def test_match_matrix_equals_oracle(nodes: list[RuleNode], rows: list[dict[str, object]]) -> None:
    rule_set = _rule_set(nodes)
    _, matched = rule_set.matches(_columns(rows))
    assert matched.shape == (len(nodes), len(rows))
    for i, row in enumerate(rows):
        assert list(matched[:, i]) == matches(nodes, row, value_lists())


def _decide(rules: list[str], payment: dict[str, object], **kwargs: Any) -> tuple[Any, Any]:
    decision = RuleSet(rules, lists=kwargs.pop("lists", ())).evaluate_one(payment, **kwargs)
    return decision.action, None if decision.rule is None else str(decision.rule)


@pytest.mark.parametrize(
    ("rule", "payment", "action"),
    [
        ("Block if :email_domain: = 'definitelyfraud.com'", {}, None),
        ("Review if :email_domain: != 'definitelysafe.com'", {}, None),
        ("Review if :email_domain: != 'definitelysafe.com'", {"email_domain": "x.com"}, "review"),
        ("Review if NOT (:email_domain: = 'definitelysafe.com')", {}, None),
        ("Review if NOT (:email_domain: = 'definitelysafe.com')", {"email_domain": "a"}, "review"),
        ("Block if :card_country: != :ip_country:", {"card_country": "US"}, None),
        ("Block if :card_country: != :ip_country:", {"ip_country": "US"}, None),
        ("Block if is_missing(:email_domain:)", {}, "block"),
        ("Block if !(is_missing(::foo::))", {"::foo::": ""}, "block"),
        ("Block if is_missing(:amount_in_usd:)", {"amount_in_usd": math.nan}, "block"),
        ("Block if NOT :is_anonymous_ip:", {}, "block"),
        ("Block if :email_domain: = 'x' OR :amount_in_usd: > 5", {"amount_in_usd": 6}, "block"),
        ("Block if NOT (:email_domain: = 'x' OR :amount_in_usd: > 5)", {"amount_in_usd": 1}, None),
        (
            "Block if NOT (:email_domain: = 'x' AND :amount_in_usd: > 5)",
            {"amount_in_usd": 1},
            "block",
        ),
    ],
)
def test_missing_value_logic(rule: str, payment: dict[str, object], action: str | None) -> None:
    assert _decide([rule], payment)[0] == action


def test_reference_worked_example_of_the_order() -> None:
    rules = [
        "Allow if :amount_in_usd: < 10",
        "Allow if :card_country: = 'US' AND :risk_level: = 'normal'",
        "Block if :risk_level: = 'highest'",
        "Block if :amount_in_usd: > 1000",
        "Review if :card_country: != 'US'",
    ]
    normal = {"amount_in_usd": 1500.0, "card_country": "US", "risk_level": "normal"}
    assert _decide(rules, normal) == ("allow", rules[1])
    high = {"amount_in_usd": 1500.0, "card_country": "US", "risk_level": "highest"}
    assert _decide(rules, high) == ("block", rules[2])
    assert _decide(rules[::-1], high) == ("block", rules[3])
    assert _decide(rules, {"amount_in_usd": 50.0, "card_country": "FR"})[0] == "review"


def test_post_authorization_rules_run_after_the_others_of_their_action() -> None:
    rules = ["Block if :cvc_check: = 'fail'", "Block if :amount_in_usd: > 10"]
    payment = {"cvc_check": "fail", "amount_in_usd": 20.0}
    assert _decide(rules, payment) == ("block", rules[1])
    assert _decide(rules, {"cvc_check": "fail"}) == ("block", rules[0])
    assert _decide(["Review if :amount_in_usd: > 10", *rules[:1]], payment)[0] == "block"


def test_three_d_secure_runs_first_and_does_not_decide() -> None:
    rule_set = RuleSet(
        [
            "Request 3D Secure if :amount_in_usd: > 100",
            "Request 3D Secure if :card_3d_secure_support: = 'required'",
            "Block if :amount_in_usd: > 1000",
        ]
    )
    payment = {"amount_in_usd": 5000.0, "card_3d_secure_support": "required"}
    decision = rule_set.evaluate_one(payment)
    assert decision.request_three_d_secure
    assert decision.three_d_secure_rule == rule_set.rules[0]
    assert decision.action == "block"
    charge = rule_set.evaluate_one(payment, object="charge")
    assert not charge.request_three_d_secure
    assert charge.three_d_secure_rule is None
    assert charge.action == "block"


def test_setup_intents_run_no_review_rules() -> None:
    rule_set = RuleSet(["Review if :amount_in_usd: > 1", "Block if :amount_in_usd: > 100"])
    assert rule_set.evaluate_one({"amount_in_usd": 50.0}).action == "review"
    assert rule_set.evaluate_one({"amount_in_usd": 50.0}, object="setup_intent").action is None
    assert rule_set.evaluate_one({"amount_in_usd": 500.0}, object="setup_intent").action == "block"
    setup = rule_set.evaluate_many({"amount_in_usd": np.array([50.0])}, object="setup_intent")
    assert setup[0].action is None


@pytest.mark.parametrize(
    ("rule", "payment", "action"),
    [
        ("Block if :card_country: = 'us'", {"card_country": "US"}, "block"),
        ("Block if :email: = 'A@B.com'", {"email": "a@b.COM"}, "block"),
        ("Block if :email: LIKE 'FRAUD%'", {"email": "fraud@x.com"}, "block"),
        ("Block if :card_fingerprint: = 'AbC'", {"card_fingerprint": "abc"}, None),
        ("Block if :card_fingerprint: = 'AbC'", {"card_fingerprint": "AbC"}, "block"),
        ("Block if :cvc_check: = 'fail'", {"cvc_check": "FAIL"}, None),
        ("Block if ::tier:: = 'Gold'", {"::tier::": "gold"}, None),
        ("Block if ::tier:: = 'Gold'", {"::tier::": "Gold"}, "block"),
        (
            "Block if :card_country: = :ip_country:",
            {"card_country": "us", "ip_country": "US"},
            "block",
        ),
        ("Block if :customer: = ::cus::", {"customer": "cus_A", "::cus::": "cus_a"}, None),
        ("Block if :email: INCLUDES 'ß'", {"email": "STRASSE"}, "block"),
    ],
)
def test_case_sensitivity(rule: str, payment: dict[str, object], action: str | None) -> None:
    assert _decide([rule], payment)[0] == action


@pytest.mark.parametrize(
    ("rule", "value", "action"),
    [
        ("Block if ::age:: > 30", "31", "block"),
        ("Block if ::age:: > 30", "4", None),
        ("Block if ::age:: > '30'", "100", "block"),
        ("Block if ::age:: = 30", "30.00", "block"),
        ("Block if ::age:: = '30'", "30.00", None),
        ("Block if ::age:: > 30", "old", None),
        ("Block if ::age:: > 30", "9" * 400, None),
        ("Block if NOT (::age:: > 30)", "old", None),
        ("Block if ::age:: IN (1, 30)", "30.0", "block"),
        ("Block if ::age:: < :amount_in_usd:", "3", "block"),
        ("Block if :amount_in_usd: > ::age::", "3", "block"),
    ],
)
def test_metadata_compares_numerically_when_both_sides_are_numbers(
    rule: str, value: str, action: str | None
) -> None:
    assert _decide([rule], {"::age::": value, "amount_in_usd": 10.0})[0] == action


def test_list_expiry_follows_at() -> None:
    lists = [ValueList("temp", items=[], item_type="string")]
    lists[0].add("x.com", expires_at=1000)
    rules = ["Block if :email_domain: IN @temp"]
    assert _decide(rules, {"email_domain": "X.com"}, lists=lists, at=999)[0] == "block"
    assert _decide(rules, {"email_domain": "X.com"}, lists=lists, at=1000)[0] is None
    assert _decide(rules, {"email_domain": "X.com"}, lists=lists)[0] == "block"


def _mixed_rule_set() -> tuple[RuleSet, dict[str, Any]]:
    rule_set = RuleSet(
        [
            "Block if :card_country: != :ip_country: AND :amount_in_usd: > 500",
            "Review if :email: LIKE '%@fraud.com' OR :is_anonymous_ip:",
            "Allow if ::customer:Trusted:: = 'true'",
        ]
    )
    columns = {
        "card_country": ["US", "us", None, "FR"],
        "ip_country": ["FR", "US", "US", None],
        "amount_in_usd": [900.0, 900.0, None, 10.0],
        "email": ["a@fraud.com", None, "b@ok.com", "c@FRAUD.com"],
        "is_anonymous_ip": [False, True, None, False],
        "::customer:Trusted::": [None, None, "true", None],
    }
    return rule_set, columns


@pytest.mark.parametrize("form", ["dict", "pandas", "polars", "arrow", "arrow_dictionary"])
def test_batch_input_forms_agree(form: str) -> None:
    rule_set, columns = _mixed_rule_set()
    table = pa.table(columns)
    given: Any = {
        "dict": columns,
        "pandas": table.to_pandas(),
        "polars": pl.from_arrow(table),
        "arrow": table,
        "arrow_dictionary": pa.table(
            {
                name: col.dictionary_encode() if pa.types.is_string(col.type) else col
                for name, col in zip(table.column_names, table.columns, strict=True)
            }
        ),
    }[form]
    batch = rule_set.evaluate_many(given)
    rows = [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]
    expected = [rule_set.evaluate_one(row) for row in rows]
    assert [batch[i] for i in range(len(rows))] == expected
    assert list(batch.action_names()) == ["block", "review", "allow", "review"]


def test_absent_columns_are_missing() -> None:
    rule_set = RuleSet(["Block if is_missing(:email:)", "Review if NOT :is_anonymous_ip:"])
    batch = rule_set.evaluate_many(pd.DataFrame({"amount_in_usd": [1.0, 2.0]}))
    assert list(batch.action_names()) == ["block", "block"]
    assert len(rule_set.evaluate_many({})) == 0


def test_kernel_is_thread_safe() -> None:
    rule_set, columns = _mixed_rule_set()
    big = {name: values * 500 for name, values in columns.items()}
    expected = rule_set.evaluate_many(big).actions
    results: list[np.ndarray] = []

    def work() -> None:
        for _ in range(5):
            results.append(rule_set.evaluate_many(big).actions)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20
    assert all(np.array_equal(r, expected) for r in results)


def test_rejected_inputs_of_evaluate_one() -> None:
    rule_set = RuleSet(["Block if :amount_in_usd: > 1 AND :is_anonymous_ip: AND :email: = 'a'"])
    with pytest.raises(TypeError, match="attribute 'amount_in_usd' is numeric, got str"):
        rule_set.evaluate_one({"amount_in_usd": "5"})
    with pytest.raises(TypeError, match="attribute 'amount_in_usd' is numeric, got bool"):
        rule_set.evaluate_one({"amount_in_usd": True})
    with pytest.raises(TypeError, match="attribute 'is_anonymous_ip' is boolean, got int"):
        rule_set.evaluate_one({"is_anonymous_ip": 1})
    with pytest.raises(TypeError, match="'email' holds strings, got int"):
        rule_set.evaluate_one({"email": 5})
    with pytest.raises(TypeError, match="attributes must be a mapping, not list"):
        rule_set.evaluate_one([])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="object must be one of 'charge', 'payment_intent'"):
        rule_set.evaluate_one({}, object="refund")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="at must be Unix seconds as an int, not float"):
        rule_set.evaluate_one({}, at=1.5)  # type: ignore[arg-type]


def test_rejected_inputs_of_evaluate_many() -> None:
    rule_set = RuleSet(["Block if :amount_in_usd: > 1 AND :is_anonymous_ip: AND :email: = 'a'"])
    with pytest.raises(TypeError, match="column 'amount_in_usd' must be numeric, got string"):
        rule_set.evaluate_many({"amount_in_usd": ["a"]})
    with pytest.raises(TypeError, match="column 'amount_in_usd' must be numeric, got bool"):
        rule_set.evaluate_many({"amount_in_usd": np.array([True])})
    with pytest.raises(TypeError, match="column 'is_anonymous_ip' must be boolean, got float64"):
        rule_set.evaluate_many({"is_anonymous_ip": np.array([1.0])})
    with pytest.raises(TypeError, match="column 'email' must hold strings, got int64"):
        rule_set.evaluate_many({"email": [1, 2]})
    with pytest.raises(ValueError, match="column 'email' has 1 rows, expected 2"):
        rule_set.evaluate_many({"amount_in_usd": [1.0, 2.0], "email": ["a"]})
    with pytest.raises(ValueError, match="columns must be one-dimensional"):
        rule_set.evaluate_many({"amount_in_usd": np.zeros((2, 2))})
    with pytest.raises(TypeError, match="columns must be a mapping of name to column"):
        rule_set.evaluate_many([1, 2])
    with pytest.raises(TypeError, match="column 'email' cannot be read"):
        rule_set.evaluate_many({"email": [object()]})


LEAF = (0, 0, 0, 0, 1.0, 0)
ONE_LEAF = [(2, False, [(0, 0)])]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 0, [], [], [], [], []), "negative slot count"),
        ((1, 0, [(15, 0, 0, 0, 1.0, 0)], ONE_LEAF, [], [], []), "unknown leaf kind"),
        ((1, 0, [(0, 6, 0, 0, 1.0, 0)], ONE_LEAF, [], [], []), "unknown operator"),
        ((0, 1, [(6, 2, 0, 0, 0.0, 0)], ONE_LEAF, ["x"], [], []), "strings compare only with"),
        ((0, 1, [(6, 0, 0, 0, 0.0, 1)], ONE_LEAF, ["x"], [], []), "leaf reference out of range"),
        ((1, 0, [LEAF], [(4, False, [(0, 0)])], [], [], []), "unknown rule action"),
        ((1, 0, [LEAF], [(2, False, [(1, 0)])], [], [], []), "NOT on an empty stack"),
        ((1, 0, [LEAF], [(2, False, [(0, 1)])], [], [], []), "instruction leaf out of range"),
        ((1, 0, [LEAF], [(2, False, [(0, 0)] * 257)], [], [], []), "condition too deep"),
        ((1, 0, [LEAF], [(2, False, [(0, 0), (9, 0)])], [], [], []), "unknown opcode"),
    ],
)
def test_core_rejects_malformed_specs(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(SchemaError, match=f"rule program: {message}"):
        _core.RuleProgram(*args)


def test_core_rejects_malformed_programs_and_codes() -> None:
    with pytest.raises(SchemaError, match="rule program: leaf slot out of range"):
        _core.RuleProgram(1, 0, [(0, 0, 3, 0, 1.0, 0)], [(2, False, [(0, 0)])], [], [], [])
    with pytest.raises(SchemaError, match="rule program: a rule's code must leave exactly one"):
        _core.RuleProgram(1, 0, [(0, 0, 0, 0, 1.0, 0)], [(2, False, [(0, 0), (0, 0)])], [], [], [])
    with pytest.raises(SchemaError, match="rule program: AND/OR needs two operands"):
        _core.RuleProgram(1, 0, [(0, 0, 0, 0, 1.0, 0)], [(2, False, [(0, 0), (2, 0)])], [], [], [])
    program = _core.RuleProgram(0, 1, [(5, 0, 0, 0, 0.0, 0)], [(2, False, [(0, 0)])], [], [], [])
    codes = np.array([0, 3], dtype=np.int32)
    offsets = np.array([0, 1, 2], dtype=np.int64)
    data = np.frombuffer(b"ab", dtype=np.uint8)
    with pytest.raises(ValueError, match="string code 3 is outside its dictionary of 2"):
        program.evaluate_many(2, [], [codes], [offsets], [data], 1, 0, False)
    with pytest.raises(ValueError, match="every code column must hold 3 rows"):
        program.evaluate_many(3, [], [codes], [offsets], [data], 1, 0, False)
    with pytest.raises(ValueError, match="dictionary offsets must rise within the data"):
        program.evaluate_many(2, [], [codes], [np.array([0, 1, 5])], [data], 1, 0, False)
    with pytest.raises(ValueError, match="batch does not provide every slot"):
        program.evaluate_many(2, [], [], [], [], 1, 0, False)
    with pytest.raises(ValueError, match="strings must hold 1 values"):
        program.evaluate_one(np.zeros(0), [], 1, 0)
    with pytest.raises(ValueError, match="numeric must hold 0 values"):
        program.evaluate_one(np.zeros(2), [None], 1, 0)
    with pytest.raises(ValueError, match="rows must be >= 0"):
        program.evaluate_many(-1, [], [codes], [offsets], [data], 1, 0, False)
    with pytest.raises(ValueError, match="dictionary offsets must be a 1-d array of n\\+1"):
        program.evaluate_many(2, [], [codes], [np.zeros(0, np.int64)], [data], 1, 0, False)
    numeric_program = _core.RuleProgram(1, 0, [LEAF], ONE_LEAF, [], [], [])
    with pytest.raises(ValueError, match="every numeric column must hold 2 rows"):
        numeric_program.evaluate_many(2, [np.zeros(3)], [], [], [], 1, 0, False)


def test_dictionary_columns_with_null_entries_and_unicode_folding() -> None:
    rule_set = RuleSet(["Block if :email: = 'émile@x.com'", "Review if is_missing(:email:)"])
    email = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, 2, None, 0], type=pa.int8()),
        pa.array(["ÉMILE@X.COM", None, "STRASSE@x.com"]),
    )
    batch = rule_set.evaluate_many({"email": email})
    assert list(batch.action_names()) == ["block", "review", None, "review", "block"]
    ascii_only = rule_set.evaluate_many({"email": ["EMILE@X.COM", "Émile@x.com"]})
    assert list(ascii_only.action_names()) == [None, "block"]


def test_encoded_inputs_can_be_evaluated_again() -> None:
    rule_set, columns = _mixed_rule_set()
    encoded = rule_set.program.encode(columns)
    assert encoded[0] == 4
    slots = len(rule_set.program.numeric_slots), len(rule_set.program.string_slots)
    assert (len(encoded[1]), len(encoded[2])) == slots
    verdict, rule, *_ = rule_set.program.core.evaluate_many(*encoded, 1, -(2**63), False)
    batch = rule_set.evaluate_many(columns)
    assert np.array_equal(verdict, batch.actions)
    assert np.array_equal(rule, batch.rules)
