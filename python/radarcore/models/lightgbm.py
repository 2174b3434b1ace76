"""Import LightGBM models (a Booster, a model file or the model text) into radarcore's spec."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from radarcore.errors import ModelError
from radarcore.models._spec import MissingType, SpecBuilder, TreeSpec

__all__ = ["spec_from_lightgbm"]

_MISSING: dict[str, MissingType] = {"None": "none", "Zero": "zero", "NaN": "nan"}
_IDENTITY = {"regression", "regression_l1", "huber", "fair", "quantile", "mape"}


def spec_from_lightgbm(model: Any) -> SpecBuilder:
    """Read a LightGBM model through ``Booster.dump_model()``.

    ``model`` is a ``lightgbm.Booster``, a fitted ``lightgbm.LGBMModel``, a path to a model file,
    or the model text itself. Raises :class:`radarcore.ModelError` for unreadable models and
    objectives radarcore does not reproduce.
    """
    import lightgbm

    if isinstance(model, lightgbm.LGBMModel):
        model = model.booster_
    try:
        if isinstance(model, lightgbm.Booster):
            booster = model
        elif isinstance(model, os.PathLike) or (
            isinstance(model, str) and not model.startswith("tree\n") and Path(model).is_file()
        ):
            booster = lightgbm.Booster(model_file=os.fspath(model))
        elif isinstance(model, str):
            booster = lightgbm.Booster(model_str=model)
        else:
            raise TypeError(
                "from_lightgbm expects a lightgbm.Booster, a model file path or the model text, "
                f"got {type(model).__name__}"
            )
        dump = booster.dump_model()
    except lightgbm.basic.LightGBMError as exc:
        raise ModelError(f"LightGBM could not read the model: {exc}") from exc
    return _spec_from_dump(dump)


def _spec_from_dump(dump: dict[str, Any]) -> SpecBuilder:
    objective = str(dump.get("objective", ""))
    name, *params = objective.split()
    options = dict(p.split(":", 1) for p in params if ":" in p)
    n_groups = int(dump.get("num_tree_per_iteration", 1))
    if dump.get("average_output", False):
        raise ModelError("LightGBM random-forest models (average_output) are not supported")
    builder = SpecBuilder(
        feature_names=[str(n) for n in dump["feature_names"]], split_rule="lightgbm"
    )
    if name == "binary":
        builder.objective = "binary"
        builder.sigmoid_scale = float(options.get("sigmoid", 1.0))
    elif name == "multiclass":
        builder.objective = "multiclass"
        builder.n_groups = n_groups
    elif name in _IDENTITY:
        builder.objective = "regression"
    else:
        raise ModelError(f"LightGBM objective {objective!r} is not supported")
    for i, info in enumerate(dump["tree_info"]):
        if info.get("is_linear", False):
            raise ModelError("LightGBM linear trees are not supported")
        tree = TreeSpec(group=i % n_groups)
        _add_node(tree, info["tree_structure"])
        builder.trees.append(tree)
    return builder


def _add_node(tree: TreeSpec, node: dict[str, Any]) -> int:
    if "leaf_value" in node:
        return tree.add_leaf(
            float(node["leaf_value"]),
            cover=float(node.get("leaf_count", 1)),
            leaf_id=int(node.get("leaf_index", 0)),
        )
    categorical = node["decision_type"] == "=="
    index = tree.add_split(
        int(node["split_feature"]),
        math.nan if categorical else float(node["threshold"]),
        default_left=bool(node["default_left"]),
        missing_type=_MISSING[str(node["missing_type"])],
        categories=[int(c) for c in str(node["threshold"]).split("||")] if categorical else None,
        cover=float(node["internal_count"]),
    )
    left = _add_node(tree, node["left_child"])
    right = _add_node(tree, node["right_child"])
    tree.set_children(index, left, right)
    return index
