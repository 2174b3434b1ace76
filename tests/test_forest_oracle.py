"""The compiled forest against the plain-Python reference, over random ensembles and inputs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_forest as ref
from radarcore import Forest
from radarcore.models import SpecBuilder
from strategies import forests, rows

SETTINGS = settings(max_examples=50, deadline=None)


def _expected(spec: SpecBuilder, x: np.ndarray, raw: bool) -> np.ndarray:
    out = np.asarray([ref.predict(spec, [float(v) for v in row], raw) for row in x]).reshape(
        len(x), spec.n_groups
    )
    return out if spec.n_groups > 1 else out[:, 0]


@SETTINGS
@given(spec=forests(), data=st.data())
def test_scores_match_reference(spec: SpecBuilder, data: st.DataObject) -> None:
    forest = Forest.from_spec(spec)
    x = data.draw(rows(len(spec.feature_names)))
    for raw in (False, True):
        np.testing.assert_allclose(
            forest.score_many(x, raw=raw), _expected(spec, x, raw), rtol=1e-12, atol=1e-12
        )


@SETTINGS
@given(spec=forests(), data=st.data())
def test_float32_and_fortran_inputs_match_reference(spec: SpecBuilder, data: st.DataObject) -> None:
    forest = Forest.from_spec(spec)
    with np.errstate(over="ignore"):  # values beyond float32 range become inf, as intended
        x32 = data.draw(rows(len(spec.feature_names))).astype(np.float32)
    expected = _expected(spec, x32.astype(np.float64), raw=True)
    np.testing.assert_allclose(forest.score_many(x32, raw=True), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        forest.score_many(np.asfortranarray(x32), raw=True), expected, rtol=1e-12, atol=1e-12
    )


@SETTINGS
@given(spec=forests(), data=st.data())
def test_leaves_match_reference(spec: SpecBuilder, data: st.DataObject) -> None:
    forest = Forest.from_spec(spec)
    x = data.draw(rows(len(spec.feature_names)))
    expected = np.asarray(
        [ref.leaf_ids(spec, [float(v) for v in row]) for row in x], dtype=np.int32
    ).reshape(len(x), len(spec.trees))
    np.testing.assert_array_equal(forest.leaves_many(x), expected)


@settings(max_examples=60, deadline=None)
@given(spec=forests(max_features=4, max_trees=4), data=st.data())
def test_contributions_match_shapley_definition(spec: SpecBuilder, data: st.DataObject) -> None:
    forest = Forest.from_spec(spec)
    x = data.draw(rows(len(spec.feature_names), max_rows=4))
    expected = np.asarray([ref.contributions(spec, [float(v) for v in row]) for row in x])
    got = forest.contributions_many(x)
    np.testing.assert_allclose(got, expected.reshape(got.shape), rtol=1e-9, atol=1e-9)


@SETTINGS
@given(spec=forests(), data=st.data())
def test_one_by_one_and_threads_equal_batch(spec: SpecBuilder, data: st.DataObject) -> None:
    forest = Forest.from_spec(spec)
    x = data.draw(rows(len(spec.feature_names), max_rows=70))
    batch = forest.score_many(x, n_threads=1)
    np.testing.assert_array_equal(forest.score_many(x, n_threads=3), batch)
    for i, row in enumerate(x):
        np.testing.assert_array_equal(forest.score_one(row), batch[i])
        np.testing.assert_array_equal(forest.score_one(row.tolist()), batch[i])


@SETTINGS
@given(spec=forests(), data=st.data())
def test_bytes_round_trip_scores_identically(spec: SpecBuilder, data: st.DataObject) -> None:
    forest = Forest.from_spec(spec)
    again = Forest.from_bytes(forest.to_bytes())
    x = data.draw(rows(len(spec.feature_names)))
    np.testing.assert_array_equal(again.score_many(x), forest.score_many(x))
    assert again.to_bytes() == forest.to_bytes()
