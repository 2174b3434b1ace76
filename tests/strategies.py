"""Hypothesis strategies shared by the forest tests: random ensembles and rows that probe them."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from radarcore.models import SpecBuilder, TreeSpec
from radarcore.models._spec import MISSING_TYPES

# Values that sit on split boundaries, around zero and LightGBM's zero threshold, or far out.
SPECIAL_VALUES = [
    0.0,
    -0.0,
    1e-36,
    -1e-36,
    1e-30,
    0.5,
    -0.5,
    1.0,
    2.0,
    3.0,
    31.0,
    32.0,
    33.0,
    -1.0,
    1e12,
    math.nan,
    math.inf,
    -math.inf,
]
THRESHOLDS = [
    0.0,
    0.5,
    -0.5,
    1.0,
    2.0,
    1e-36,
    0.1,
    1.0 / 3.0,
    float(np.float32(0.1)),
    float(np.nextafter(np.float32(0.5), np.float32(1.0))),
]


@st.composite
def trees(
    draw: st.DrawFn, n_features: int, split_rule: str, group: int, max_depth: int
) -> TreeSpec:
    tree = TreeSpec(group=group)

    def grow(depth: int) -> tuple[int, float]:
        if depth >= max_depth or draw(st.booleans()):
            cover = float(draw(st.integers(1, 50)))
            value = draw(st.floats(-2.0, 2.0, allow_nan=False))
            node = tree.add_leaf(value, cover=cover, leaf_id=draw(st.integers(0, 10_000)))
            return node, cover
        categorical = split_rule == "lightgbm" and draw(st.integers(0, 4)) == 0
        node = tree.add_split(
            draw(st.integers(0, n_features - 1)),
            draw(st.sampled_from(THRESHOLDS) | st.floats(-3.0, 3.0, allow_nan=False)),
            default_left=draw(st.booleans()),
            missing_type=draw(st.sampled_from(MISSING_TYPES))
            if split_rule == "lightgbm"
            else "nan",
            categories=draw(st.lists(st.integers(0, 70), min_size=1, max_size=6))
            if categorical
            else None,
        )
        left, left_cover = grow(depth + 1)
        right, right_cover = grow(depth + 1)
        tree.set_children(node, left, right)
        tree.cover[node] = left_cover + right_cover
        return node, left_cover + right_cover

    grow(0)
    return tree


@st.composite
def forests(draw: st.DrawFn, max_features: int = 5, max_trees: int = 12) -> SpecBuilder:
    n_features = draw(st.integers(1, max_features))
    split_rule = draw(st.sampled_from(["lightgbm", "xgboost"]))
    objective = draw(st.sampled_from(["binary", "regression", "multiclass"]))
    n_groups = draw(st.integers(2, 4)) if objective == "multiclass" else 1
    n_trees = draw(st.integers(1, max_trees))
    max_depth = draw(st.integers(0, 7))
    return SpecBuilder(
        feature_names=[f"x{i}" for i in range(n_features)],
        objective=objective,
        split_rule=split_rule,
        n_groups=n_groups,
        sigmoid_scale=draw(st.sampled_from([1.0, 0.5, 2.0])),
        base_score=draw(st.lists(st.floats(-1, 1), min_size=n_groups, max_size=n_groups)),
        trees=[
            draw(trees(n_features, split_rule, t % n_groups, max_depth)) for t in range(n_trees)
        ],
    )


def rows(n_features: int, min_rows: int = 0, max_rows: int = 20) -> st.SearchStrategy[np.ndarray]:
    value = st.sampled_from(SPECIAL_VALUES) | st.floats(-4.0, 4.0) | st.floats(allow_nan=True)
    return st.lists(
        st.lists(value, min_size=n_features, max_size=n_features),
        min_size=min_rows,
        max_size=max_rows,
    ).map(lambda r: np.asarray(r, dtype=np.float64).reshape(len(r), n_features))
