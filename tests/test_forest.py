"""radarcore.Forest against LightGBM and XGBoost on models they trained: scores, margins,
contributions and leaves on held-out rows, one-by-one against batch, and concurrent use."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest
import xgboost as xgb

from conftest import CATEGORICAL, Data
from radarcore import Forest

PROBABILITY_TOLERANCE = 1e-6
CONTRIBUTION_TOLERANCE = 1e-5

LIGHTGBM_CASES = {
    "1 tree": ({"num_leaves": 4}, 1),
    "30 trees, 31 leaves": ({"num_leaves": 31}, 30),
    "deep trees": ({"num_leaves": 63, "min_data_in_leaf": 2}, 20),
    "zero as missing": ({"num_leaves": 15, "zero_as_missing": True}, 20),
    "2000 shallow trees": ({"num_leaves": 3, "learning_rate": 0.02}, 2000),
}


def train_lightgbm(data: Data, params: dict[str, Any], rounds: int, labels: Any = None) -> Any:
    base = {
        "objective": "binary",
        "verbose": -1,
        "num_threads": 1,
        "min_data_per_group": 5,
        "cat_smooth": 1.0,
        "seed": 3,
    }
    dataset = lgb.Dataset(
        data.train, data.label if labels is None else labels, categorical_feature=[CATEGORICAL]
    )
    return lgb.train({**base, **params}, dataset, rounds)


@pytest.fixture(scope="module", params=list(LIGHTGBM_CASES), ids=list(LIGHTGBM_CASES))
def lightgbm_model(request: pytest.FixtureRequest, data: Data) -> Any:
    params, rounds = LIGHTGBM_CASES[request.param]
    return train_lightgbm(data, params, rounds)


def test_lightgbm_probabilities_and_margins_match(lightgbm_model: Any, data: Data) -> None:
    forest = Forest.from_lightgbm(lightgbm_model)
    for x in (data.test, data.test.astype(np.float32), np.asfortranarray(data.test)):
        expected = lightgbm_model.predict(x)
        assert np.max(np.abs(forest.score_many(x) - expected)) <= PROBABILITY_TOLERANCE
        margin = lightgbm_model.predict(x, raw_score=True)
        assert np.max(np.abs(forest.score_many(x, raw=True) - margin)) <= PROBABILITY_TOLERANCE


def test_lightgbm_contributions_match_pred_contrib(lightgbm_model: Any, data: Data) -> None:
    forest = Forest.from_lightgbm(lightgbm_model)
    expected = lightgbm_model.predict(data.test[:100], pred_contrib=True)
    got = forest.contributions_many(data.test[:100])
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= CONTRIBUTION_TOLERANCE


def test_lightgbm_leaves_match_pred_leaf(lightgbm_model: Any, data: Data) -> None:
    forest = Forest.from_lightgbm(lightgbm_model)
    np.testing.assert_array_equal(
        forest.leaves_many(data.test), lightgbm_model.predict(data.test, pred_leaf=True)
    )


def test_score_one_equals_score_many(lgb_binary: Any, data: Data) -> None:
    forest = Forest.from_lightgbm(lgb_binary)
    batch = forest.score_many(data.test)
    for i, row in enumerate(data.test):
        assert forest.score_one(row) == batch[i]
        assert forest.score_one(row.tolist()) == batch[i]
        assert (
            forest.score_one(row.astype(np.float32))
            == forest.score_many(row[None, :].astype(np.float32))[0]
        )
    assert forest.score_one(data.test[0], raw=True) == forest.score_many(data.test[:1], raw=True)[0]


@pytest.mark.parametrize("objective", ["regression", "huber"])
def test_lightgbm_regression_matches(objective: str, data: Data) -> None:
    target = np.nan_to_num(data.train[:, 0]) * 3 + data.label
    model = train_lightgbm(data, {"objective": objective, "num_leaves": 15}, 30, target)
    forest = Forest.from_lightgbm(model)
    assert forest.objective == "regression"
    assert np.max(np.abs(forest.score_many(data.test) - model.predict(data.test))) <= 1e-9


def test_lightgbm_multiclass_matches(data: Data) -> None:
    model = train_lightgbm(
        data, {"objective": "multiclass", "num_class": 3, "num_leaves": 7}, 20, data.classes
    )
    forest = Forest.from_lightgbm(model)
    assert forest.n_classes == 3
    expected = model.predict(data.test)
    got = forest.score_many(data.test)
    assert got.shape == expected.shape == (len(data.test), 3)
    assert np.max(np.abs(got - expected)) <= PROBABILITY_TOLERANCE
    contrib = model.predict(data.test[:50], pred_contrib=True)
    assert np.max(np.abs(forest.contributions_many(data.test[:50]) - contrib)) <= 1e-5
    np.testing.assert_array_equal(forest.score_one(data.test[3]), got[3])


def test_lightgbm_sigmoid_parameter_is_honoured(data: Data) -> None:
    model = train_lightgbm(data, {"num_leaves": 7, "sigmoid": 0.4}, 15)
    forest = Forest.from_lightgbm(model)
    assert np.max(np.abs(forest.score_many(data.test) - model.predict(data.test))) <= 1e-9


def test_lightgbm_file_text_and_sklearn_inputs(lgb_binary: Any, data: Data, tmp_path: Path) -> None:
    expected = lgb_binary.predict(data.test)
    path = tmp_path / "model.txt"
    lgb_binary.save_model(str(path))
    sklearn_model = lgb.LGBMClassifier(n_estimators=5, num_leaves=4, verbose=-1)
    sklearn_model.fit(data.train, data.label)
    for source in (path, str(path), lgb_binary.model_to_string()):
        got = Forest.from_lightgbm(source).score_many(data.test)
        assert np.max(np.abs(got - expected)) <= PROBABILITY_TOLERANCE
    got = Forest.from_lightgbm(sklearn_model).score_many(data.test)
    assert np.max(np.abs(got - sklearn_model.predict_proba(data.test)[:, 1])) <= 1e-9


XGBOOST_CASES = {
    "1 tree depth 1": ({"max_depth": 1}, 1),
    "depth 3": ({"max_depth": 3}, 50),
    "depth 8": ({"max_depth": 8}, 30),
    "lossguide 31 leaves": ({"grow_policy": "lossguide", "max_leaves": 31, "max_depth": 0}, 40),
}


def train_xgboost(data: Data, params: dict[str, Any], rounds: int, labels: Any = None) -> Any:
    base = {"objective": "binary:logistic", "tree_method": "hist", "nthread": 1, "seed": 3}
    dmatrix = xgb.DMatrix(data.train, data.label if labels is None else labels)
    return xgb.train({**base, **params}, dmatrix, rounds)


@pytest.fixture(scope="module", params=list(XGBOOST_CASES), ids=list(XGBOOST_CASES))
def xgboost_model(request: pytest.FixtureRequest, data: Data) -> Any:
    params, rounds = XGBOOST_CASES[request.param]
    return train_xgboost(data, params, rounds)


def test_xgboost_probabilities_margins_and_leaves_match(xgboost_model: Any, data: Data) -> None:
    forest = Forest.from_xgboost(xgboost_model)
    for x in (data.test, data.test.astype(np.float32)):
        dmatrix = xgb.DMatrix(x)
        expected = xgboost_model.predict(dmatrix)
        assert np.max(np.abs(forest.score_many(x) - expected)) <= PROBABILITY_TOLERANCE
        # XGBoost sums margins in float32; radarcore sums in double.
        margin = xgboost_model.predict(dmatrix, output_margin=True)
        np.testing.assert_allclose(forest.score_many(x, raw=True), margin, rtol=1e-5, atol=1e-5)
        leaves = forest.leaves_many(x)
        # XGBoost drops the tree axis for one-tree models.
        expected_leaves = xgboost_model.predict(dmatrix, pred_leaf=True).reshape(leaves.shape)
        np.testing.assert_array_equal(leaves, expected_leaves)


def test_xgboost_contributions_match_pred_contribs(xgboost_model: Any, data: Data) -> None:
    forest = Forest.from_xgboost(xgboost_model)
    expected = xgboost_model.predict(xgb.DMatrix(data.test[:100]), pred_contribs=True)
    got = forest.contributions_many(data.test[:100])
    assert np.max(np.abs(got - expected)) <= CONTRIBUTION_TOLERANCE


def test_xgboost_regression_and_multiclass_match(data: Data) -> None:
    target = np.nan_to_num(data.train[:, 0]) * 3 + data.label
    reg = train_xgboost(data, {"objective": "reg:squarederror", "max_depth": 4}, 30, target)
    forest = Forest.from_xgboost(reg)
    expected = reg.predict(xgb.DMatrix(data.test))
    np.testing.assert_allclose(forest.score_many(data.test), expected, rtol=1e-5, atol=1e-5)
    multi = train_xgboost(
        data, {"objective": "multi:softprob", "num_class": 3, "max_depth": 3}, 15, data.classes
    )
    forest = Forest.from_xgboost(multi)
    expected = multi.predict(xgb.DMatrix(data.test))
    assert forest.score_many(data.test).shape == expected.shape
    assert np.max(np.abs(forest.score_many(data.test) - expected)) <= PROBABILITY_TOLERANCE


def test_xgboost_file_text_and_sklearn_inputs(data: Data, tmp_path: Path) -> None:
    model = xgb.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1)
    model.fit(data.train, data.label)
    expected = model.predict_proba(data.test)[:, 1]
    path = tmp_path / "model.json"
    model.save_model(path)
    raw = bytes(model.get_booster().save_raw("json"))
    for source in (model, model.get_booster(), path, str(path), raw, raw.decode()):
        got = Forest.from_xgboost(source).score_many(data.test)
        assert np.max(np.abs(got - expected)) <= PROBABILITY_TOLERANCE


def test_concurrent_calls_from_threads_agree(lgb_binary: Any, data: Data) -> None:
    forest = Forest.from_lightgbm(lgb_binary)
    x = np.tile(data.test, (20, 1))
    scores = forest.score_many(x, n_threads=1)
    contributions = forest.contributions_many(data.test[:40])

    def work(i: int) -> bool:
        return (
            np.array_equal(forest.score_many(x, n_threads=1 + i % 2), scores)
            and forest.score_one(x[i]) == scores[i]
            and np.array_equal(forest.contributions_many(data.test[:40]), contributions)
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(work, range(16)))


def test_threads_split_rows_without_changing_results(lgb_binary: Any, data: Data) -> None:
    forest = Forest.from_lightgbm(lgb_binary)
    x = np.tile(data.test, (10, 1))
    single = forest.score_many(x, n_threads=1)
    np.testing.assert_array_equal(forest.score_many(x, n_threads=2), single)
    np.testing.assert_array_equal(forest.score_many(x, n_threads=7), single)
    np.testing.assert_array_equal(forest.score_many(x), single)
    np.testing.assert_array_equal(
        forest.leaves_many(x, n_threads=3), forest.leaves_many(x, n_threads=1)
    )
