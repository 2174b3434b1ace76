"""What the dashboard reads from the engine: risk explanations, the labelled history with the
attributes each payment saw, backtests on it, saved rules, and the session's browser fields."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from radarcore import CardError, InvalidRequestError, _core
from radarcore.forest import Forest
from radarcore.models._spec import SpecBuilder, TreeSpec
from radarcore.radar import Radar, pack_row, unpack_row

VELOCITY = "authorized_charges_per_card_number_all_time"
VISA = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030}


def velocity_model() -> Forest:
    """Margin -3 for a card's first two authorised payments, then +3 (review at 65, block at
    75 with the identity calibration: scores 61 then 89)."""
    tree = TreeSpec()
    root = tree.add_split(0, 1.5)
    tree.set_children(root, tree.add_leaf(-3.0), tree.add_leaf(3.0))
    return Forest.from_spec(SpecBuilder(feature_names=[VELOCITY], trees=[tree]))


def pay(radar: Radar, amount: int, *, email: str = "a@example.com", card: Any = None) -> str:
    pm = radar.payment_methods.create(
        type="card", card=card or VISA, billing_details={"email": email}
    )
    try:
        pi = radar.payment_intents.create(
            amount=amount, currency="usd", payment_method=pm.id, confirm=True
        )
    except CardError:
        charges = radar.store.list("charge", limit=1)[0]
        return charges[0].id  # type: ignore[attr-defined, no-any-return]
    assert pi.latest_charge is not None
    return pi.latest_charge


def test_explain_gives_the_velocity_value_each_payment_saw(clock: Any) -> None:
    engine = Radar("memory://", model=velocity_model(), clock=clock)
    ids = []
    for _ in range(4):
        ids.append(pay(engine, 1000))
        clock.advance(60)
    model = engine._live
    assert model is not None
    scale = model.calibration.points_per_margin
    offset = 75.0 + 10.0 / math.log(9.0) * model.calibration.intercept  # risk_score's definition
    bias = scale * float(model.forest.contributions_many(np.zeros((1, 1)))[0, -1])
    seen = []
    for charge_id in ids:
        (factor,) = engine.explain(charge_id)
        assert factor.feature == VELOCITY
        seen.append(factor.value)
        stored = engine.charges.retrieve(charge_id).outcome
        assert stored is not None
        assert round(factor.points + bias + offset) == stored.risk_score
    # The third payment saw two authorised payments before it: its score crossed into blocks.
    assert seen == [0.0, 1.0, 2.0, 2.0]
    assert [engine.charges.retrieve(i).outcome.type for i in ids] == [  # type: ignore[union-attr]
        "authorized",
        "authorized",
        "blocked",
        "blocked",
    ]
    with pytest.raises(KeyError, match="no assessed payment 'ch_missing'"):
        engine.explain("ch_missing")
    engine.close()


def test_explain_without_a_model_is_empty(radar_factory: Callable[..., Radar]) -> None:
    radar = radar_factory(model=False)
    assert radar.explain(pay(radar, 1000)) == []


def test_explain_orders_factors_by_their_size(clock: Any) -> None:
    trees = []
    for feature, (low, high) in enumerate([(-1.0, 0.5), (-4.0, 4.0)]):
        tree = TreeSpec()
        root = tree.add_split(feature, 100.0 if feature == 0 else 1.5)
        tree.set_children(root, tree.add_leaf(low), tree.add_leaf(high))
        trees.append(tree)
    model = Forest.from_spec(SpecBuilder(feature_names=["amount_in_usd", VELOCITY], trees=trees))
    engine = Radar("memory://", model=model, clock=clock)
    for _ in range(3):
        charge_id = pay(engine, 50_000)
    factors = engine.explain(charge_id)
    assert [f.feature for f in factors] == [VELOCITY, "amount_in_usd"]
    assert [f.value for f in factors] == [2.0, 500.0]
    assert factors[0].points > factors[1].points > 0
    assert [f.feature for f in engine.explain(charge_id, top=1)] == [VELOCITY]
    engine.close()


def test_history_has_the_attributes_and_labels_of_every_charge(
    radar_factory: Callable[..., Radar], clock: Any
) -> None:
    radar = radar_factory()
    normal = pay(radar, 5_000, email="n@example.com")
    clock.advance(10)
    review = pay(radar, 50_000, email="r@example.com")
    clock.advance(10)
    blocked = pay(radar, 500_000, email="b@example.com")
    clock.advance(10)
    radar.refunds.create(charge=review, reason="fraudulent")
    radar.refunds.create(charge=normal)
    history = radar.history()
    assert list(history["id"]) == [normal, review, blocked]
    assert list(history["risk_score"]) == [61.0, 70.0, 84.0]
    assert list(history["risk_level"]) == ["normal", "elevated", "highest"]
    assert list(history["outcome_type"]) == ["authorized", "manual_review", "blocked"]
    assert list(history["amount_in_usd"]) == [50.0, 500.0, 5000.0]
    assert list(history["email"]) == ["n@example.com", "r@example.com", "b@example.com"]
    assert list(history["refunded_as_fraud"]) == [False, True, False]
    assert list(history["is_refunded"]) == [True, True, False]
    assert list(history["is_fraud"]) == [False, True, False]
    # The same card paid before each later payment: the velocity column counts them.
    assert list(history["total_charges_per_card_number_hourly"]) == [0.0, 1.0, 2.0]


def test_backtest_on_the_stored_history(radar_factory: Callable[..., Radar]) -> None:
    radar = radar_factory()
    for amount in (5_000, 50_000, 500_000):
        pay(radar, amount)
    result = radar.backtest("Block if :amount_in_usd: > 100")
    (custom,) = [r for r in result.rules if r.rule.predicate == ":amount_in_usd: > 100"]
    assert custom.matched.count == 2
    assert custom.matched.already_blocked.count == 1
    assert custom.matched.rest.amount == {"usd": 50_000}
    assert result.by_action["block"].count == 2
    assert radar.backtest().by_action["block"].count == 1


def test_saved_rules_survive_a_restart(radar_factory: Callable[..., Radar]) -> None:
    radar = radar_factory()
    assert radar.custom_rules == []
    radar.set_rules("Review if :amount_in_usd: > 10")
    assert [r.predicate for r in radar_factory().custom_rules] == []
    radar.set_rules("Review if :amount_in_usd: > 10\nBlock if :email: = 'x@example.com'", save=True)
    reopened = radar_factory()
    assert [str(r) for r in reopened.custom_rules] == [
        "Review if :amount_in_usd: > 10",
        "Block if :email: = 'x@example.com'",
    ]
    assert [r.id for r in reopened.custom_rules] == [r.id for r in radar.custom_rules]
    assert len(reopened.rules) == len(radar.rules)
    # Rules given to the constructor win over the saved ones (and do not replace them).
    assert [str(r) for r in radar_factory(rules="Allow if :amount_in_usd: < 1").custom_rules] == [
        "Allow if :amount_in_usd: < 1"
    ]
    assert len(radar_factory().custom_rules) == 2


def test_a_rule_set_that_does_not_compile_is_not_saved(radar_factory: Callable[..., Radar]) -> None:
    from radarcore import RuleSyntaxError

    radar = radar_factory()
    with pytest.raises(RuleSyntaxError, match="unknown list @missing"):
        radar.set_rules(["Block if :email: in @missing"], save=True)
    assert radar_factory().custom_rules == []


def test_session_browser_fields(radar_factory: Callable[..., Radar]) -> None:
    radar = radar_factory()
    session = radar.radar_sessions.create(
        {
            "user_agent": "Mozilla/5.0",
            "device_id": "dev_1",
            "timezone_offset": "60",
            "automation": "true",
            "browser": {
                "languages": ["fr-FR", "en"],
                "timezone": "Europe/Paris",
                "screen": "1920x1080",
                "window": "1280x720",
                "color_depth": "24",
                "platform": "Linux x86_64",
                "hardware_concurrency": "8",
                "device_memory": "8",
                "touch_points": "0",
                "cookies_enabled": "true",
            },
        }
    )
    stored = radar.radar_sessions.retrieve(session.id)
    assert stored.to_dict()["browser"] == {
        "languages": ["fr-FR", "en"],
        "timezone": "Europe/Paris",
        "screen": "1920x1080",
        "window": "1280x720",
        "color_depth": 24,
        "platform": "Linux x86_64",
        "hardware_concurrency": 8,
        "device_memory": 8.0,
        "touch_points": 0,
        "cookies_enabled": True,
    }
    assert stored.automation is True
    assert stored.timezone_offset == 60
    assert radar.radar_sessions.create(user_agent="x").browser is None


@pytest.mark.parametrize(
    ("browser", "param", "message"),
    [
        ({"color_depth": "deep"}, "browser[color_depth]", "Invalid integer: deep"),
        ({"languages": "en"}, "browser[languages]", "Invalid array"),
        ({"gpu": "x"}, "browser[gpu]", "Received unknown parameter: browser[gpu]"),
        ({"screen": "x" * 41}, "browser[screen]", "must be at most 40 characters"),
    ],
)
def test_session_browser_fields_are_checked(
    radar_factory: Callable[..., Radar], browser: dict[str, Any], param: str, message: str
) -> None:
    radar = radar_factory()
    with pytest.raises(InvalidRequestError, match=re.escape(message)) as caught:
        radar.radar_sessions.create(browser=browser)
    assert caught.value.param == param
    assert radar.store.list("radar.session")[0] == []


def test_saved_rules_reach_other_engines_on_the_database(
    radar_factory: Callable[..., Radar],
) -> None:
    first, second = radar_factory(), radar_factory()
    pinned = radar_factory(rules="Allow if :amount_in_usd: < 1")
    first.set_rules("Block if :amount_in_usd: > 10", save=True)
    # The other engines look at the configuration when they next write.
    blocked = pay(second, 5_000)
    assert second.charges.retrieve(blocked).outcome.type == "blocked"  # type: ignore[union-attr]
    assert [str(r) for r in second.custom_rules] == ["Block if :amount_in_usd: > 10"]
    pay(pinned, 5_000)
    assert [str(r) for r in pinned.custom_rules] == ["Allow if :amount_in_usd: < 1"]


def test_explaining_a_payment_does_not_replay_the_history(clock: Any) -> None:
    """The Charge keeps the row it was assessed on, so explaining reads no history: at a few
    thousand payments as at a few, no log entry is replayed and the result equals the exact
    replay's (which a Charge stored without the row still gets)."""
    engine = Radar("memory://", model=velocity_model(), clock=clock)
    cards = [{**VISA, "number": n} for n in ("4242424242424242", "5555555555554444")]
    ids = []
    for i in range(2500):
        ids.append(pay(engine, 1000 + i, card=cards[i % 2], email=f"p{i % 7}@example.com"))
        clock.advance(30)
        if len(ids) in (10, 2500):
            before = engine.counters["replayed_entries"]
            first, last = engine.explain(ids[0]), engine.explain(ids[-1])
            assert engine.counters["replayed_entries"] == before
    assert [f.value for f in first] == [0.0]
    assert [f.value for f in last] == [2.0]  # then blocked, so never more authorised
    stored = engine.charges.retrieve(ids[-1])
    assert stored.insight is not None
    assert stored.insight["model"] == engine.model_version
    _, matrix, _, _ = engine._replay(until=ids[-1])
    row = unpack_row(stored.insight["row"], matrix.shape[1])
    np.testing.assert_array_equal(row, matrix[-1])
    # A Charge without the stored row (assessed before it was kept) is explained by replaying.
    stored.insight = None
    engine.store.put(stored)
    before = engine.counters["replayed_entries"]
    assert engine.explain(ids[-1]) == last
    assert engine.counters["replayed_entries"] - before == 2500
    engine.close()


def test_packed_rows_round_trip_exactly() -> None:
    rng = np.random.default_rng(5)
    for width in (1, 7, 8, 9, 274):
        row = rng.normal(size=width) * 1e6
        row[rng.random(width) < 0.3] = np.nan
        row[rng.random(width) < 0.3] = 0.0
        row[0] = 5e-324  # the smallest subnormal is kept
        row[-1] = -0.0  # and the sign of a zero
        back = unpack_row(pack_row(row), width)
        np.testing.assert_array_equal(back, row)
        assert np.array_equal(np.isnan(back), np.isnan(row))
        assert np.array_equal(np.signbit(back), np.signbit(row))


@pytest.mark.parametrize(
    ("packed", "message"),
    [
        (b"", "at least 2 bytes, got 0"),
        (b"\x00\x00", "ends before its values"),
        (b"\x80\x00" + bytes(8), "8 bytes after its values"),
    ],
)
def test_a_malformed_packed_row_is_a_value_error(packed: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _core.unpack_row(packed, 1)


def test_a_packed_row_is_one_dimensional() -> None:
    with pytest.raises(ValueError, match="1-D, got 2 dimensions"):
        _core.pack_row(np.zeros((2, 2)))
