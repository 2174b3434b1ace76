"""RiskModel: one file with the forest, its calibration and the feature schema."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radarcore import FeatureExtractor, Forest, ModelError
from radarcore.models import RiskCalibration, RiskModel, SpecBuilder, TreeSpec, default_model
from radarcore.models.bundle import MAGIC


def _model(schema: list[str] | None = None) -> RiskModel:
    tree = TreeSpec()
    root = tree.add_split(0, 100.0)
    left = tree.add_split(1, 0.5)
    tree.set_children(left, tree.add_leaf(-3.0), tree.add_leaf(-1.0))
    tree.set_children(root, left, tree.add_leaf(2.5))
    forest = Forest.from_spec(SpecBuilder(["amount", "hour"], objective="binary", trees=[tree]))
    return RiskModel(
        forest,
        RiskCalibration(0.8, -0.3),
        schema or ["country", "hour", "amount"],
        {"cutoff": 123, "params": {"seed": 1}},
    )


def _oracle_score(margin: float, slope: float, intercept: float) -> int:
    value = 75.0 + 10.0 / math.log(9.0) * (slope * margin + intercept)
    return int(min(100.0, max(0.0, float(np.rint(value)))))


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    model = _model()
    path = tmp_path / "m.rcm"
    model.save(path)
    loaded = RiskModel.load(path)
    assert loaded.version == model.version
    assert loaded.created == model.created
    assert loaded.schema == model.schema
    assert loaded.metadata == model.metadata
    assert loaded.calibration == model.calibration
    assert loaded.forest.to_bytes() == model.forest.to_bytes()
    assert path.read_bytes().startswith(MAGIC)


def test_margins_pick_the_forest_columns_by_name() -> None:
    model = _model()
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.integers(0, 5, 50), rng.random(50), rng.uniform(0, 200, 50)])
    expected = model.forest.score_many(x[:, [2, 1]], raw=True)
    np.testing.assert_array_equal(model.margins(x), expected)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(0, 300, allow_nan=False), min_size=1, max_size=20),
    st.lists(st.floats(0, 1, allow_nan=False), min_size=20, max_size=20),
)
def test_risk_scores_match_the_calibration_formula(
    amounts: list[float], hours: list[float]
) -> None:
    model = _model()
    x = np.column_stack([np.zeros(len(amounts)), hours[: len(amounts)], amounts])
    margins = model.margins(x)
    expected = [_oracle_score(m, 0.8, -0.3) for m in margins]
    assert model.risk_scores(x).tolist() == expected


def test_risk_levels_use_inclusive_thresholds() -> None:
    levels = RiskModel.risk_levels([0, 64, 65, 74, 75, 100])
    assert levels.tolist() == ["normal", "normal", "elevated", "elevated", "highest", "highest"]
    custom = RiskModel.risk_levels([50, 60, 90], elevated=50, highest=90)
    assert custom.tolist() == ["elevated", "elevated", "highest"]


def test_bad_thresholds_are_rejected() -> None:
    with pytest.raises(ValueError, match="0 <= elevated <= highest <= 100"):
        RiskModel.risk_levels([1], elevated=80, highest=70)


def test_features_of_the_wrong_shape_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"shape \(rows, 3\)"):
        _model().margins(np.zeros((2, 2)))


def test_forest_reading_a_column_outside_the_schema_is_rejected() -> None:
    with pytest.raises(ModelError, match=r"not in the schema: \['amount'\]"):
        _model(schema=["hour", "country"])


def test_duplicate_schema_names_are_rejected() -> None:
    with pytest.raises(ModelError, match="names a column twice"):
        _model(schema=["amount", "hour", "amount"])


def test_schema_mismatch_is_a_clear_model_error(tmp_path: Path) -> None:
    model = _model()
    path = tmp_path / "m.rcm"
    model.save(path)
    with pytest.raises(ModelError, match="different feature schema") as info:
        RiskModel.load(path, schema=FeatureExtractor().schema)
    assert "missing from the extractor: ['country', 'hour']" in str(info.value)
    with pytest.raises(ModelError, match="same columns in another order"):
        model.check_schema(["amount", "hour", "country"])
    model.check_schema(["country", "hour", "amount"])


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b"NOTAMODEL" + b[9:], "bad magic bytes"),
        (lambda b: b[:7] + b"\x09" + b[8:], "unsupported risk model format version 9"),
        (lambda b: b[:60], "truncated risk model"),
        (lambda b: b[:-10], "truncated risk model: expected"),
        (lambda b: b[:80] + bytes([b[80] ^ 1]) + b[81:], "header checksum does not match"),
        (lambda b: b[:4], "bad magic bytes"),
    ],
)
def test_damaged_files_raise_model_error(mangle: Any, message: str) -> None:
    data = _model().to_bytes()
    with pytest.raises(ModelError, match=message):
        RiskModel.from_bytes(mangle(data))


def test_damaged_trees_raise_model_error() -> None:
    data = bytearray(_model().to_bytes())
    data[-20] ^= 0xFF
    with pytest.raises(ModelError):
        RiskModel.from_bytes(bytes(data))


def test_from_bytes_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="from_bytes expects bytes, got str"):
        RiskModel.from_bytes("model")  # type: ignore[arg-type]


def test_default_model_is_bundled_and_fits_the_extractor() -> None:
    model = default_model()
    model.check_schema(FeatureExtractor().schema)
    assert 0 < model.forest.n_trees <= 300
    assert model.metadata["source"].startswith("radarcore.synth.generate(")
    assert model.metadata["validation_metrics"]["roc_auc"] > 0.9
