"""radarcore's own model format: save/load, bytes and pickle round trips, and ModelError for
every kind of damaged, foreign or inconsistent model."""

from __future__ import annotations

import pickle
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import Data
from radarcore import Forest, ModelError, RadarError
from radarcore.models import SpecBuilder, TreeSpec


@pytest.fixture(scope="module")
def forest(lgb_binary: Any) -> Forest:
    return Forest.from_lightgbm(lgb_binary)


def test_save_load_bytes_and_pickle_round_trip(forest: Forest, data: Data, tmp_path: Path) -> None:
    expected = forest.score_many(data.test)
    path = tmp_path / "model.rcf"
    forest.save(path)
    copies = [
        Forest.load(path),
        Forest.from_bytes(forest.to_bytes()),
        pickle.loads(pickle.dumps(forest)),
    ]
    for copy in copies:
        np.testing.assert_array_equal(copy.score_many(data.test), expected)
        np.testing.assert_array_equal(
            copy.contributions_many(data.test), forest.contributions_many(data.test)
        )
        assert copy.feature_names == forest.feature_names
        assert copy.to_bytes() == forest.to_bytes()


def test_file_layout_is_magic_version_and_crc32(forest: Forest) -> None:
    blob = forest.to_bytes()
    assert blob[:8] == b"RCFOREST"
    assert struct.unpack("<I", blob[8:12])[0] == 1
    assert struct.unpack("<Q", blob[12:20])[0] == len(blob) - 24
    assert struct.unpack("<I", blob[-4:])[0] == zlib.crc32(blob[:-4])


def _resealed(blob: bytes) -> bytes:
    return blob[:-4] + struct.pack("<I", zlib.crc32(blob[:-4]))


def test_damaged_files_raise_model_error(forest: Forest) -> None:
    blob = forest.to_bytes()
    cases = {
        "wrong magic bytes": b"XCFOREST" + blob[8:],
        "unsupported model format version 2": _resealed(
            blob[:8] + struct.pack("<I", 2) + blob[12:]
        ),
        "checksum mismatch": blob[:100] + bytes([blob[100] ^ 1]) + blob[101:],
        "truncated or corrupted": blob[: len(blob) // 2],
        "truncated or corrupted: expected": blob + b"\0",
        "not a radarcore model file": b"",
    }
    for message, damaged in cases.items():
        with pytest.raises(ModelError, match=message):
            Forest.from_bytes(damaged)
    assert issubclass(ModelError, RadarError)


def test_every_truncation_raises_model_error(forest: Forest) -> None:
    blob = forest.to_bytes()
    for size in range(0, len(blob), max(1, len(blob) // 200)):
        with pytest.raises(ModelError):
            Forest.from_bytes(blob[:size])


def test_consistent_checksum_over_bad_structure_is_rejected(forest: Forest) -> None:
    blob = bytearray(forest.to_bytes())
    # The header section starts at byte 20: tag, length, then n_features.
    struct.pack_into("<i", blob, 32, 99)
    with pytest.raises(
        ModelError, match="invalid forest: feature_names has 8 names for 99 features"
    ):
        Forest.from_bytes(_resealed(bytes(blob)))
    struct.pack_into("<Q", blob, 24, 10**12)
    with pytest.raises(ModelError, match="the body section ends early"):
        Forest.from_bytes(_resealed(bytes(blob)))


def test_load_of_a_damaged_file(forest: Forest, tmp_path: Path) -> None:
    path = tmp_path / "model.rcf"
    path.write_bytes(forest.to_bytes()[:-10])
    with pytest.raises(ModelError, match="truncated"):
        Forest.load(path)
    with pytest.raises(TypeError, match="from_bytes expects bytes, got str"):
        Forest.from_bytes("RCFOREST")  # type: ignore[arg-type]


def _stump(**changes: Any) -> SpecBuilder:
    tree = TreeSpec()
    root = tree.add_split(0, 0.5)
    tree.set_children(root, tree.add_leaf(-1.0), tree.add_leaf(1.0))
    spec = SpecBuilder(["a", "b"], trees=[tree])
    for key, value in changes.items():
        setattr(spec, key, value)
    return spec


def test_inconsistent_specs_raise_model_error() -> None:
    bad_feature = _stump()
    bad_feature.trees[0].split_feature[0] = 2
    with pytest.raises(ModelError, match="tree 0 splits on feature 2 of 2"):
        Forest.from_spec(bad_feature)
    cycle = _stump()
    cycle.trees[0].set_children(0, 1, 1)
    with pytest.raises(ModelError, match="tree 0 is not a tree"):
        Forest.from_spec(cycle)
    orphan = _stump()
    orphan.trees[0].add_leaf(3.0)
    with pytest.raises(ModelError, match="tree 0 has unreachable nodes"):
        Forest.from_spec(orphan)
    with pytest.raises(ModelError, match="n_groups 3 does not fit the objective"):
        Forest.from_spec(_stump(n_groups=3))
    with pytest.raises(ModelError, match="tree 0 adds to group 1 of 1"):
        Forest.from_spec(_stump(trees=[TreeSpec(group=1, **_leaf_only())]))
    with pytest.raises(ModelError, match="tree 0 has no nodes"):
        Forest.from_spec(_stump(trees=[TreeSpec()]))
    with pytest.raises(ModelError, match="n_features 0 out of range"):
        Forest.from_spec(_stump(feature_names=[], trees=[]))
    categorical = _stump()
    categorical.trees[0].categories[0] = [-3]
    with pytest.raises(ModelError, match="categories must be non-negative, got -3"):
        Forest.from_spec(categorical)


def _leaf_only() -> dict[str, Any]:
    tree = TreeSpec()
    tree.add_leaf(1.0)
    return {
        k: getattr(tree, k)
        for k in (
            "left_child",
            "right_child",
            "split_feature",
            "threshold",
            "default_left",
            "missing_type",
            "categories",
            "leaf_value",
            "cover",
            "leaf_id",
        )
    }


def test_unreadable_or_unsupported_library_models(tmp_path: Path, data: Data) -> None:
    import lightgbm as lgb
    import xgboost as xgb

    broken = tmp_path / "broken.txt"
    broken.write_text("tree\nversion=v4\nnum_class=1\n")
    with pytest.raises(ModelError, match="LightGBM could not read the model"):
        Forest.from_lightgbm(broken)
    poisson = lgb.train(
        {"objective": "poisson", "verbose": -1, "num_leaves": 4},
        lgb.Dataset(data.train, data.label),
        2,
    )
    with pytest.raises(ModelError, match="LightGBM objective 'poisson' is not supported"):
        Forest.from_lightgbm(poisson)
    with pytest.raises(ModelError, match="not a readable XGBoost JSON model"):
        Forest.from_xgboost('{"learner": {}}')
    with pytest.raises(ModelError, match="not a readable XGBoost JSON model"):
        Forest.from_xgboost(b"{not json")
    dart = xgb.train({"booster": "dart", "max_depth": 2}, xgb.DMatrix(data.train, data.label), 2)
    with pytest.raises(ModelError, match="XGBoost booster 'dart' is not supported"):
        Forest.from_xgboost(dart)
    with pytest.raises(TypeError, match=r"from_lightgbm expects a lightgbm\.Booster"):
        Forest.from_lightgbm(42)
    with pytest.raises(TypeError, match=r"from_xgboost expects an xgboost\.Booster"):
        Forest.from_xgboost(42)
