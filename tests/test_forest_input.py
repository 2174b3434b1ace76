"""What score_many and friends accept: arrays of any order and numeric dtype, DataFrames and
Tables matched by column name, empty input; and the clear errors for everything else."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from conftest import Data
from radarcore import Forest


@pytest.fixture(scope="module")
def forest(lgb_binary: Any) -> Forest:
    return Forest.from_lightgbm(lgb_binary)


def test_feature_schema_is_carried(forest: Forest, lgb_binary: Any) -> None:
    assert forest.feature_names == lgb_binary.feature_name()
    assert forest.objective == "binary"
    assert forest.n_classes == 2
    assert forest.n_features == 8
    assert forest.n_trees == lgb_binary.num_trees()
    assert repr(forest) == "Forest(objective='binary', n_trees=40, n_features=8, n_classes=2)"


def test_dataframes_and_tables_match_columns_by_name(forest: Forest, data: Data) -> None:
    expected = forest.score_many(data.test)
    names = forest.feature_names
    frame = pd.DataFrame(data.test, columns=names)
    shuffled = frame[names[::-1]].assign(extra=np.arange(len(frame)))
    for table in (
        frame,
        shuffled,
        pl.from_pandas(shuffled),
        pa.Table.from_pandas(shuffled),
    ):
        np.testing.assert_array_equal(forest.score_many(table), expected)
    np.testing.assert_array_equal(
        forest.contributions_many(shuffled), forest.contributions_many(data.test)
    )
    np.testing.assert_array_equal(forest.leaves_many(shuffled), forest.leaves_many(data.test))


def test_nulls_in_tables_are_missing_values(forest: Forest, data: Data) -> None:
    names = forest.feature_names
    x = data.test[:20].copy()
    x[:, 0] = np.nan
    frame = pd.DataFrame(x, columns=names).astype({names[0]: "Float64"})
    assert frame[names[0]].isna().all()
    table = pa.Table.from_pandas(pd.DataFrame(x, columns=names))
    nulls = table.set_column(0, names[0], pa.nulls(20, pa.float64()))
    for source in (frame, nulls, pl.from_arrow(nulls)):
        np.testing.assert_array_equal(forest.score_many(source), forest.score_many(x))


def test_integer_and_bool_arrays_are_converted(forest: Forest) -> None:
    ints = np.arange(16, dtype=np.int64).reshape(2, 8)
    np.testing.assert_array_equal(forest.score_many(ints), forest.score_many(ints.astype(float)))
    flags = ints % 2 == 0
    np.testing.assert_array_equal(forest.score_many(flags), forest.score_many(flags.astype(float)))
    strided = np.arange(32, dtype=np.float64).reshape(2, 16)[:, ::2]
    np.testing.assert_array_equal(
        forest.score_many(strided), forest.score_many(np.ascontiguousarray(strided))
    )
    big_endian = strided.astype(">f8")
    np.testing.assert_array_equal(forest.score_many(big_endian), forest.score_many(strided))


def test_empty_input_gives_empty_result(forest: Forest) -> None:
    empty = np.empty((0, 8))
    assert forest.score_many(empty).shape == (0,)
    assert forest.contributions_many(empty).shape == (0, 9)
    assert forest.leaves_many(empty).shape == (0, forest.n_trees)
    frame = pd.DataFrame(columns=forest.feature_names, dtype=float)
    assert forest.score_many(frame).shape == (0,)


def test_wrong_feature_count_names_expected_and_got(forest: Forest) -> None:
    with pytest.raises(ValueError, match=r"X has 3 columns but the model expects 8 features"):
        forest.score_many(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"X must be a 2-D array \(rows, features\), got 1"):
        forest.score_many(np.zeros(8))
    with pytest.raises(ValueError, match=r"row has 7 values but the model expects 8 features"):
        forest.score_one(np.zeros(7))
    with pytest.raises(ValueError, match=r"row has 9 values but the model expects 8 features"):
        forest.score_one([0.0] * 9)
    with pytest.raises(ValueError, match=r"row must be 1-D, got 2 dimensions"):
        forest.score_one(np.zeros((1, 8)))


def test_missing_columns_are_named(forest: Forest, data: Data) -> None:
    names = forest.feature_names
    frame = pd.DataFrame(data.test, columns=names).drop(columns=[names[2], names[5]])
    message = rf"missing columns \['{names[2]}', '{names[5]}'\]: the model expects"
    for table in (frame, pl.from_pandas(frame), pa.Table.from_pandas(frame)):
        with pytest.raises(ValueError, match=message):
            forest.score_many(table)


def test_non_numeric_input_is_a_type_error(forest: Forest) -> None:
    with pytest.raises(TypeError, match=r"X must hold numbers, got dtype <U1"):
        forest.score_many(np.full((2, 8), "a"))
    with pytest.raises(TypeError, match=r"X must hold numbers, got dtype object"):
        forest.score_many(np.full((2, 8), None))
    frame = pd.DataFrame(np.zeros((2, 8)), columns=forest.feature_names)
    frame[forest.feature_names[1]] = ["a", "b"]
    with pytest.raises(TypeError, match=rf"column '{forest.feature_names[1]}' must be numeric"):
        forest.score_many(frame)
    with pytest.raises(TypeError, match=r"column .* must be numeric, got String"):
        forest.score_many(pl.from_pandas(frame))
    with pytest.raises(TypeError, match=r"column .* must be numeric, got (large_)?string"):
        forest.score_many(pa.Table.from_pandas(frame))
    with pytest.raises(TypeError, match=r"row value 2 is not a number: 'x'"):
        forest.score_one([0.0, 1.0, "x", 0, 0, 0, 0, 0])
    with pytest.raises(TypeError, match=r"row must hold numbers, got dtype <U1"):
        forest.score_one(np.full(8, "a"))


@pytest.mark.parametrize("n_threads", [0, -1, 1.5, True])
def test_bad_thread_count_is_rejected(forest: Forest, n_threads: Any) -> None:
    with pytest.raises(ValueError, match=r"n_threads must be a positive integer or None"):
        forest.score_many(np.zeros((1, 8)), n_threads=n_threads)


def test_core_rejects_what_the_wrapper_would_convert(forest: Forest) -> None:
    core = forest._core
    with pytest.raises(
        TypeError, match=r"X must be a float32 or float64 array in native byte order"
    ):
        core.predict(np.zeros((1, 8), dtype=np.int32), False, 1)
    with pytest.raises(ValueError, match=r"n_threads must be at least 1"):
        core.predict(np.zeros((1, 8)), False, 0)
    with pytest.raises(ValueError, match=r"X must be a 2-D array, got 3 dimensions"):
        core.leaves(np.zeros((1, 8, 1)), 1)


def test_score_one_accepts_other_sequences(forest: Forest, data: Data) -> None:
    row = data.test[0]
    expected = forest.score_many(row[None, :])[0]
    assert forest.score_one(tuple(row.tolist())) == expected
    assert forest.score_one(row[::1].copy(order="C")) == expected
    assert forest.score_one(np.asarray(row.tolist(), dtype=object).astype(float)) == expected
    assert forest.score_one(pd.Series(row)) == expected
