"""Import XGBoost tree models (a Booster or a JSON model file) into radarcore's spec."""

from __future__ import annotations

import json
import math
import os
from typing import Any

from radarcore.errors import ModelError
from radarcore.models._spec import SpecBuilder, TreeSpec

__all__ = ["spec_from_xgboost"]

_IDENTITY = {
    "reg:squarederror",
    "reg:squaredlogerror",
    "reg:absoluteerror",
    "reg:pseudohubererror",
    "reg:quantileerror",
    "binary:logitraw",
}
_LOGISTIC = {"binary:logistic", "reg:logistic"}
_SOFTMAX = {"multi:softprob", "multi:softmax"}


def spec_from_xgboost(model: Any) -> SpecBuilder:
    """Read an XGBoost gbtree model from its JSON form.

    ``model`` is an ``xgboost.Booster``, a fitted ``xgboost.XGBModel``, a path to a ``.json``
    model file, or the JSON text or bytes. ``multi:softmax`` models score class probabilities.
    Raises :class:`radarcore.ModelError` for unreadable JSON, other boosters (dart, gblinear),
    categorical splits and unsupported objectives.
    """
    try:
        import xgboost

        if isinstance(model, xgboost.XGBModel):
            model = model.get_booster()
        if isinstance(model, xgboost.Booster):
            text: str | bytes = bytes(model.save_raw("json"))
        elif isinstance(model, os.PathLike) or (
            isinstance(model, str) and not model.lstrip().startswith("{")
        ):
            with open(os.fspath(model), "rb") as f:
                text = f.read()
        elif isinstance(model, str | bytes):
            text = model
        else:
            raise TypeError(
                "from_xgboost expects an xgboost.Booster, a JSON model file path or JSON text, "
                f"got {type(model).__name__}"
            )
        doc = json.loads(text)
        return _spec_from_json(doc["learner"])
    except (ValueError, KeyError, IndexError) as exc:
        raise ModelError(f"not a readable XGBoost JSON model: {exc!r}") from exc


def _floats(value: Any) -> list[float]:
    if isinstance(value, list):
        return [float(v) for v in value]
    text = str(value).strip().strip("[]")
    return [float(v) for v in text.split(",")]


def _spec_from_json(learner: dict[str, Any]) -> SpecBuilder:
    booster = learner["gradient_booster"]
    if booster.get("name") != "gbtree":
        raise ModelError(f"XGBoost booster {booster.get('name')!r} is not supported (only gbtree)")
    param = learner["learner_model_param"]
    objective = str(learner["objective"]["name"])
    n_features = int(param["num_feature"])
    names = learner.get("feature_names") or [f"f{i}" for i in range(n_features)]
    n_class = int(param.get("num_class", "0"))
    base = _floats(param["base_score"])
    builder = SpecBuilder(feature_names=[str(n) for n in names], split_rule="xgboost")
    if objective in _LOGISTIC:
        builder.objective = "binary"
        builder.base_score = [math.log(base[0] / (1.0 - base[0]))]
    elif objective in _SOFTMAX:
        builder.objective = "multiclass"
        builder.n_groups = n_class
        builder.base_score = base if len(base) == n_class else [base[0]] * n_class
    elif objective in _IDENTITY:
        builder.objective = "regression"
        builder.base_score = base[:1]
    else:
        raise ModelError(f"XGBoost objective {objective!r} is not supported")
    model = booster["model"]
    for tree_json, group in zip(model["trees"], model["tree_info"], strict=True):
        builder.trees.append(_tree(tree_json, int(group)))
    return builder


def _tree(t: dict[str, Any], group: int) -> TreeSpec:
    if any(int(s) != 0 for s in t.get("split_type", [])):
        raise ModelError("XGBoost categorical splits are not supported")
    tree = TreeSpec(group=group)
    left, right = t["left_children"], t["right_children"]
    for n, (lc, rc) in enumerate(zip(left, right, strict=True)):
        cover = float(t["sum_hessian"][n])
        if lc == -1:
            tree.add_leaf(float(t["split_conditions"][n]), cover=cover, leaf_id=n)
        else:
            tree.add_split(
                int(t["split_indices"][n]),
                float(t["split_conditions"][n]),
                default_left=bool(t["default_left"][n]),
                cover=cover,
            )
            tree.set_children(n, int(lc), int(rc))
    return tree
