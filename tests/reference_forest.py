"""A slow, obviously correct predictor over radarcore.models.SpecBuilder: the tests' oracle.

It follows LightGBM's ``NumericalDecision``/``CategoricalDecision`` and XGBoost's float32 ``<``
literally, node by node, and computes SHAP values from their definition (every feature subset),
never sharing code with the compiled core.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np

from radarcore.models import SpecBuilder, TreeSpec

ZERO_THRESHOLD = float(np.float32(1e-35))


def goes_left(spec: SpecBuilder, tree: TreeSpec, node: int, x: float) -> bool:
    threshold = tree.threshold[node]
    if spec.split_rule == "xgboost":
        if math.isnan(x):
            return tree.default_left[node]
        with np.errstate(over="ignore"):  # XGBoost reads values beyond float32 range as inf
            return bool(np.float32(x) < np.float32(threshold))
    categories = tree.categories[node]
    if categories is not None:
        if math.isnan(x) or math.isinf(x):
            return False
        category = int(x)
        return category >= 0 and category in categories
    missing = tree.missing_type[node]
    if math.isnan(x) and missing != "nan":
        x = 0.0
    if (missing == "zero" and -ZERO_THRESHOLD <= x <= ZERO_THRESHOLD) or (
        missing == "nan" and math.isnan(x)
    ):
        return tree.default_left[node]
    return x <= threshold


def leaf(spec: SpecBuilder, tree: TreeSpec, row: list[float]) -> int:
    node = 0
    while tree.left_child[node] != -1:
        x = row[tree.split_feature[node]]
        left = goes_left(spec, tree, node, x)
        node = tree.left_child[node] if left else tree.right_child[node]
    return node


def raw_margins(spec: SpecBuilder, row: list[float]) -> list[float]:
    margins = list(spec.base_score or [0.0] * spec.n_groups)
    for tree in spec.trees:
        margins[tree.group] += tree.leaf_value[leaf(spec, tree, row)]
    return margins


def predict(spec: SpecBuilder, row: list[float], raw: bool = False) -> list[float]:
    m = raw_margins(spec, row)
    if raw or spec.objective == "regression":
        return m
    if spec.objective == "binary":
        return [1.0 / (1.0 + math.exp(-spec.sigmoid_scale * m[0]))]
    top = max(m)
    e = [math.exp(v - top) for v in m]
    return [v / sum(e) for v in e]


def leaf_ids(spec: SpecBuilder, row: list[float]) -> list[int]:
    return [tree.leaf_id[leaf(spec, tree, row)] for tree in spec.trees]


def _expected(
    spec: SpecBuilder, tree: TreeSpec, row: list[float], known: set[int], node: int
) -> float:
    if tree.left_child[node] == -1:
        return tree.leaf_value[node]
    left, right = tree.left_child[node], tree.right_child[node]
    if tree.split_feature[node] in known:
        hot = left if goes_left(spec, tree, node, row[tree.split_feature[node]]) else right
        return _expected(spec, tree, row, known, hot)
    total = tree.cover[node]
    return tree.cover[left] / total * _expected(spec, tree, row, known, left) + tree.cover[
        right
    ] / total * _expected(spec, tree, row, known, right)


def contributions(spec: SpecBuilder, row: list[float]) -> list[float]:
    """Path-dependent SHAP values from the Shapley formula, laid out like LightGBM pred_contrib."""
    n = len(spec.feature_names)
    out = [0.0] * (spec.n_groups * (n + 1))
    base = spec.base_score or [0.0] * spec.n_groups
    for g in range(spec.n_groups):
        out[g * (n + 1) + n] = base[g]
    for tree in spec.trees:
        offset = tree.group * (n + 1)

        def value(subset: tuple[int, ...], tree: TreeSpec = tree) -> float:
            return _expected(spec, tree, row, set(subset), 0)

        out[offset + n] += value(())
        for i in range(n):
            others = [j for j in range(n) if j != i]
            for size in range(n):
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                for subset in combinations(others, size):
                    out[offset + i] += weight * (value((*subset, i)) - value(subset))
    return out
