"""The plain-data form of a tree ensemble that importers produce and the compiled core takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from radarcore.errors import ModelError

__all__ = ["MissingType", "ObjectiveName", "SpecBuilder", "SplitRuleName", "TreeSpec"]

ObjectiveName = Literal["regression", "binary", "multiclass"]
SplitRuleName = Literal["lightgbm", "xgboost"]
MissingType = Literal["none", "zero", "nan"]

OBJECTIVES: tuple[ObjectiveName, ...] = ("regression", "binary", "multiclass")
SPLIT_RULES: tuple[SplitRuleName, ...] = ("lightgbm", "xgboost")
MISSING_TYPES: tuple[MissingType, ...] = ("none", "zero", "nan")


@dataclass
class TreeSpec:
    """One tree as parallel per-node lists; node 0 is the root, ``left_child == -1`` marks a leaf.

    Thresholds follow the owning forest's split rule: LightGBM sends ``x <= threshold`` left,
    XGBoost sends ``float32(x) < float32(threshold)`` left. ``categories`` holds, for
    categorical nodes, the category values that go left (LightGBM only).
    """

    group: int = 0
    left_child: list[int] = field(default_factory=list)
    right_child: list[int] = field(default_factory=list)
    split_feature: list[int] = field(default_factory=list)
    threshold: list[float] = field(default_factory=list)
    default_left: list[bool] = field(default_factory=list)
    missing_type: list[MissingType] = field(default_factory=list)
    categories: list[list[int] | None] = field(default_factory=list)
    leaf_value: list[float] = field(default_factory=list)
    cover: list[float] = field(default_factory=list)
    leaf_id: list[int] = field(default_factory=list)

    def add_split(
        self,
        feature: int,
        threshold: float,
        *,
        default_left: bool = False,
        missing_type: MissingType = "nan",
        categories: list[int] | None = None,
        cover: float = 1.0,
    ) -> int:
        """Append an internal node; attach its children with :meth:`set_children`.

        Returns the new node's index.
        """
        return self._append(
            feature, threshold, default_left, missing_type, categories, 0.0, cover, -1
        )

    def add_leaf(self, value: float, *, cover: float = 1.0, leaf_id: int | None = None) -> int:
        """Append a leaf; ``leaf_id`` (default: its node index) is what ``leaves_many`` reports."""
        node = len(self.left_child)
        return self._append(
            0, 0.0, False, "nan", None, value, cover, node if leaf_id is None else leaf_id
        )

    def set_children(self, node: int, left: int, right: int) -> None:
        """Attach the two children of an internal node."""
        self.left_child[node] = left
        self.right_child[node] = right

    def _append(
        self,
        feature: int,
        threshold: float,
        default_left: bool,
        missing_type: MissingType,
        categories: list[int] | None,
        value: float,
        cover: float,
        leaf_id: int,
    ) -> int:
        self.left_child.append(-1)
        self.right_child.append(-1)
        self.split_feature.append(feature)
        self.threshold.append(threshold)
        self.default_left.append(default_left)
        self.missing_type.append(missing_type)
        self.categories.append(categories)
        self.leaf_value.append(value)
        self.cover.append(cover)
        self.leaf_id.append(leaf_id)
        return len(self.left_child) - 1


@dataclass
class SpecBuilder:
    """A whole ensemble: its schema, objective, base score and trees."""

    feature_names: list[str]
    objective: ObjectiveName = "binary"
    split_rule: SplitRuleName = "lightgbm"
    n_groups: int = 1
    sigmoid_scale: float = 1.0
    base_score: list[float] | None = None
    trees: list[TreeSpec] = field(default_factory=list)

    def core_arguments(self) -> dict[str, object]:
        """The keyword arguments of ``radarcore._core.Forest``: flat arrays over all trees."""
        offsets = [0]
        for tree in self.trees:
            offsets.append(offsets[-1] + len(tree.left_child))
        cat_offsets = [0]
        cat_words: list[int] = []
        is_categorical: list[int] = []
        for tree in self.trees:
            for categories in tree.categories:
                is_categorical.append(categories is not None)
                words = _bitset(categories or [])
                cat_words.extend(words)
                cat_offsets.append(cat_offsets[-1] + len(words))

        def cat(name: str, dtype: npt.DTypeLike) -> npt.NDArray[np.generic]:
            values = [v for tree in self.trees for v in getattr(tree, name)]
            return np.asarray(values, dtype=dtype)

        return {
            "n_features": len(self.feature_names),
            "feature_names": list(self.feature_names),
            "objective": OBJECTIVES.index(self.objective),
            "split_rule": SPLIT_RULES.index(self.split_rule),
            "n_groups": self.n_groups,
            "sigmoid_scale": self.sigmoid_scale,
            "base_score": np.asarray(self.base_score or [0.0] * self.n_groups, dtype=np.float64),
            "tree_offsets": np.asarray(offsets, dtype=np.int64),
            "tree_group": np.asarray([t.group for t in self.trees], dtype=np.int32),
            "left_child": cat("left_child", np.int32),
            "right_child": cat("right_child", np.int32),
            "split_feature": cat("split_feature", np.int32),
            "threshold": cat("threshold", np.float64),
            "default_left": cat("default_left", np.uint8),
            "missing_type": np.asarray(
                [MISSING_TYPES.index(m) for t in self.trees for m in t.missing_type], dtype=np.uint8
            ),
            "is_categorical": np.asarray(is_categorical, dtype=np.uint8),
            "leaf_value": cat("leaf_value", np.float64),
            "cover": cat("cover", np.float64),
            "leaf_id": cat("leaf_id", np.int32),
            "cat_offsets": np.asarray(cat_offsets, dtype=np.int64),
            "cat_words": np.asarray(cat_words, dtype=np.uint32),
        }


def _bitset(categories: list[int]) -> list[int]:
    if not categories:
        return []
    if min(categories) < 0:
        raise ModelError(f"categories must be non-negative, got {min(categories)}")
    words = [0] * (max(categories) // 32 + 1)
    for c in categories:
        words[c // 32] |= 1 << (c % 32)
    return words
