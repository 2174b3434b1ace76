"""The compiled per-payment assessor (``_core.Assessor``): its scores equal the forests' on the
row's columns, it rejects inconsistent layouts with errors naming what is wrong, and threads
may share it."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from radarcore import FeatureExtractor, ModelError, SchemaError, _core
from radarcore.forest import Forest
from radarcore.models._spec import SpecBuilder, TreeSpec
from radarcore.radar import _Assessor, _AttributeLayout, _Scorer, as_risk_model, pack_row
from radarcore.rules import RuleSet

T0 = 1_700_000_000
EVENT: dict[str, Any] = {
    "id": "ch_1",
    "created": T0,
    "amount": 52_000,
    "currency": "usd",
    "email": "Jane@Example.com",
    "card_fingerprint": "fp_1",
    "card_country": "US",
    "ip_address": "203.0.113.7",
    "metadata": {"tier": "Gold"},
}


def forest_on(names: list[str], seed: int) -> Forest:
    """Depth-3 trees over `names` with thresholds around the event's values."""
    rng = np.random.default_rng(seed)
    trees = []
    for _ in range(8):
        tree = TreeSpec()

        def grow(level: int, tree: TreeSpec = tree) -> int:
            if level == 3:
                return tree.add_leaf(float(rng.normal()))
            node = tree.add_split(int(rng.integers(len(names))), float(rng.normal(0.0, 2.0)))
            tree.set_children(node, grow(level + 1), grow(level + 1))
            return node

        grow(0)
        trees.append(tree)
    return Forest.from_spec(SpecBuilder(feature_names=names, trees=trees))


@pytest.fixture
def extractor() -> FeatureExtractor:
    return FeatureExtractor()


def bare(extractor: FeatureExtractor, rules: RuleSet) -> _Assessor:
    """An assessor without models."""
    return _Assessor(extractor._core, rules, _AttributeLayout(extractor), None, None)


def scorer(extractor: FeatureExtractor, forest: Forest) -> _Scorer:
    schema = extractor.schema.names
    return _Scorer(as_risk_model(forest, schema), schema)


def test_the_margins_are_the_forests_on_their_columns(extractor: FeatureExtractor) -> None:
    names = list(extractor.schema.names)
    picked = [names[i] for i in (40, 3, 17, 200, 5)]
    live = scorer(extractor, forest_on(picked, 1))
    shadow = scorer(extractor, forest_on(names, 2))
    assert live.columns is not None
    assert shadow.columns is None
    assessor = _Assessor(
        extractor._core, RuleSet.default(), _AttributeLayout(extractor), live, shadow
    )
    for amount in (100, 52_000, 9_000_000):
        event = {**EVENT, "amount": amount}
        payment, live_margin, shadow_margin = assessor.core.assess(event)
        row = extractor.extract_one(event)
        np.testing.assert_array_equal(payment.row, row)
        assert live_margin == live.forest.score_one(row[live.columns], raw=True)
        assert shadow_margin == shadow.forest.score_one(row, raw=True)
        assert payment.packed_row_text() == pack_row(row)
    assert bare(extractor, RuleSet.default()).core.assess(EVENT)[1:] == (None, None)


def test_assessing_changes_no_state_and_the_payment_updates_it(
    extractor: FeatureExtractor,
) -> None:
    assessor = bare(extractor, RuleSet.default())
    before = extractor.snapshot()
    payment, _, _ = assessor.core.assess(EVENT)
    assert extractor.snapshot() == before
    extractor._core.update(payment, "authorized")
    reference = FeatureExtractor()
    reference.update(EVENT, "authorized")
    assert extractor.snapshot() == reference.snapshot()


def plan_arguments(extractor: FeatureExtractor) -> dict[str, Any]:
    assessor = bare(extractor, RuleSet.default())
    plan = assessor.plan
    return {
        "extractor": extractor._core,
        "program": assessor.rule_set.program.core,
        "live": None,
        "live_columns": None,
        "shadow": None,
        "shadow_columns": None,
        "numeric_sources": plan.numeric_sources,
        "string_sources": plan.string_sources,
        "string_inputs": plan.string_inputs,
        "supplied_numeric": plan.numeric_supplied,
        "supplied_strings": plan.string_supplied,
    }


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (
            {"live": "narrow", "live_columns": None},
            ModelError,
            "live model: reads 2 features in row order, the feature row has",
        ),
        (
            {"live": "narrow", "live_columns": [0]},
            ModelError,
            "live model: 1 columns given for 2 features",
        ),
        (
            {"shadow": "narrow", "shadow_columns": [0, 100_000]},
            ModelError,
            "shadow model: column 100000 is outside the feature row",
        ),
        (
            {"string_sources": []},
            SchemaError,
            "the rule program has 12 string slots, 0 sources given",
        ),
        (
            {"string_sources": "out of range"},
            SchemaError,
            r"a string rule slot's source \(kind 2, index 99\) is out of range",
        ),
        ({"string_inputs": [(10_000, False)]}, ValueError, "is not a string attribute"),
        ({"supplied_numeric": [(7, 0.0)]}, ValueError, "a supplied number is a constant or"),
        ({"supplied_strings": [(9, "", False)]}, ValueError, "a supplied string is a constant"),
    ],
)
def test_inconsistent_layouts_are_rejected(
    extractor: FeatureExtractor, change: dict[str, Any], error: type, message: str
) -> None:
    arguments = plan_arguments(extractor) | change
    names = list(extractor.schema.names)
    for key in ("live", "shadow"):
        if arguments[key] == "narrow":
            arguments[key] = forest_on(names[:2], 3)._core
    if arguments["string_sources"] == "out of range":
        arguments["string_sources"] = [(2, 99)] * len(plan_arguments(extractor)["string_sources"])
    with pytest.raises(error, match=message):
        _core.Assessor(**arguments)


def test_metadata_must_be_strings(extractor: FeatureExtractor) -> None:
    rules = RuleSet(["Block if ::tier:: = 'Gold'"])
    assessor = bare(extractor, rules)
    payment, _, _ = assessor.core.assess(EVENT)
    gold = rules.decision(*assessor.core.decide(payment, None, None, {"tier": "Gold"}, 1, T0))
    assert gold.action == "block"
    assert assessor.core.decide(payment, None, None, None, 1, T0)[0] == 0
    with pytest.raises(TypeError, match="'::tier::' holds strings, got int"):
        assessor.core.decide(payment, None, None, {"tier": 3}, 1, T0)


def test_a_payment_of_another_layout_is_rejected(extractor: FeatureExtractor) -> None:
    one = bare(extractor, RuleSet(["Block if :email: = 'x'"]))
    other = bare(extractor, RuleSet(["Block if :amount_in_usd: > 1"]))
    payment, _, _ = other.core.assess(EVENT)
    with pytest.raises(ValueError, match="assessed by an assessor of another layout"):
        one.core.decide(payment, None, None, None, 1, T0)


def test_threads_share_one_assessor(extractor: FeatureExtractor) -> None:
    names = list(extractor.schema.names)
    live = scorer(extractor, forest_on(names, 4))
    rules = RuleSet.default(["Block if :amount_in_usd: > 600", "Review if :email: LIKE 'jane%'"])
    assessor = _Assessor(extractor._core, rules, _AttributeLayout(extractor), live, None)
    events = [{**EVENT, "id": f"ch_{i}", "amount": 1_000 * i} for i in range(200)]

    def run(out: list[Any]) -> None:
        for event in events:
            payment, margin, _ = assessor.core.assess(event)
            decision = assessor.core.decide(payment, 50.0, "normal", None, 1, T0)
            out.append((payment.packed_row_text(), margin, decision))

    serial: list[Any] = []
    run(serial)
    results: list[list[Any]] = [[] for _ in range(4)]
    threads = [threading.Thread(target=run, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(out == serial for out in results)
    assert {d[0] for _, _, d in serial} == {2, 3}


def test_a_slot_typed_unlike_the_extractor_fails_open(radar_factory: Any) -> None:
    """The parser never builds one, but a rule tree made by hand can read a numeric attribute
    as a boolean: the assessment raises, and the payment is authorized as ``unknown``."""
    from radarcore.rules import Rule
    from radarcore.rules.ast import Action, AttributeRef, BooleanAttribute, RuleNode

    rule = Rule(RuleNode(Action.BLOCK, BooleanAttribute(AttributeRef("amount_in_usd"))), id="odd")
    extractor = FeatureExtractor()
    with pytest.raises(TypeError, match="reads 'amount_in_usd' as a boolean attribute"):
        bare(extractor, RuleSet([rule]))
    radar = radar_factory(rules=RuleSet([rule]))
    pm = radar.payment_methods.create(
        type="card", card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}
    )
    pi = radar.payment_intents.create(
        amount=5_000, currency="usd", payment_method=pm.id, confirm=True
    )
    outcome = radar.charges.retrieve(pi.latest_charge).outcome
    assert (outcome.type, outcome.risk_level) == ("authorized", "unknown")
    assert radar.counters["assessment_failures"] == 1
