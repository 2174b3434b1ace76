"""``Forest``: a compiled gradient-boosted tree ensemble that reproduces LightGBM and XGBoost."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt

from radarcore import _core
from radarcore.models._spec import OBJECTIVES, ObjectiveName, SpecBuilder
from radarcore.models.lightgbm import spec_from_lightgbm
from radarcore.models.xgboost import spec_from_xgboost

__all__ = ["Forest"]

FloatArray = npt.NDArray[np.float64]

# Below this many row-tree visits a batch is scored on the calling thread: starting threads
# costs more than it saves.
_PARALLEL_WORK = 2_000_000


class Forest:
    """An immutable tree ensemble compiled for fast scoring.

    Build one with :meth:`from_lightgbm`, :meth:`from_xgboost`, :meth:`from_spec`, :meth:`load`
    or :meth:`from_bytes`. Every method is safe to call from several threads at once; the
    compiled kernels run without the GIL.

    Inputs to the ``*_many`` methods are 2-D float32/float64 arrays (C or Fortran order; other
    numeric dtypes are converted to float64), or a pandas/polars DataFrame or a pyarrow Table
    whose columns are matched to :attr:`feature_names` by name (extra columns are ignored).
    Missing values are NaN (or null in DataFrames and Tables).

    ``n_threads``: ``None`` scores small batches on the calling thread and large ones (more than
    about two million row-tree visits) on every hardware thread; an integer uses exactly that
    many threads.

    >>> from radarcore.models import SpecBuilder, TreeSpec
    >>> tree = TreeSpec()
    >>> root = tree.add_split(0, 0.5)
    >>> tree.set_children(root, tree.add_leaf(-1.0), tree.add_leaf(1.0))
    >>> forest = Forest.from_spec(SpecBuilder(["amount"], objective="regression", trees=[tree]))
    >>> forest.score_many(np.array([[0.2], [0.9]])).tolist()
    [-1.0, 1.0]
    >>> forest.score_one([0.9])
    1.0
    """

    __slots__ = ("_core",)

    def __init__(self, core: _core.Forest) -> None:
        """Wrap a compiled forest; use the ``from_*`` constructors instead."""
        self._core = core

    @classmethod
    def from_spec(cls, spec: SpecBuilder) -> Forest:
        """Compile a :class:`radarcore.models.SpecBuilder` (raises ModelError if inconsistent)."""
        return cls(_core.Forest(**spec.core_arguments()))  # type: ignore[arg-type]

    @classmethod
    def from_lightgbm(cls, model: Any) -> Forest:
        """Import a LightGBM Booster (or fitted LGBMModel), a model file path or the model text."""
        return cls.from_spec(spec_from_lightgbm(model))

    @classmethod
    def from_xgboost(cls, model: Any) -> Forest:
        """Import an XGBoost Booster (or fitted XGBModel), a JSON model file path or JSON text."""
        return cls.from_spec(spec_from_xgboost(model))

    @classmethod
    def from_bytes(cls, data: bytes) -> Forest:
        """Read radarcore's binary model format (raises ModelError if it is not a valid model)."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"from_bytes expects bytes, got {type(data).__name__}")
        return cls(_core.Forest.from_bytes(bytes(data)))

    def to_bytes(self) -> bytes:
        """This model in radarcore's versioned, checksummed binary format."""
        return self._core.to_bytes()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Forest:
        """Read a model file written by :meth:`save`."""
        with open(path, "rb") as f:
            return cls.from_bytes(f.read())

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write this model to ``path`` in radarcore's binary format."""
        with open(path, "wb") as f:
            f.write(self.to_bytes())

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (Forest.from_bytes, (self.to_bytes(),))

    def __repr__(self) -> str:
        return (
            f"Forest(objective={self.objective!r}, n_trees={self.n_trees}, "
            f"n_features={self.n_features}, n_classes={self.n_classes})"
        )

    @property
    def feature_names(self) -> list[str]:
        """The model's features, in the order its input columns are read."""
        return self._core.feature_names

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return self._core.n_features

    @property
    def n_trees(self) -> int:
        """Number of trees (for multiclass, classes times iterations)."""
        return self._core.n_trees

    @property
    def objective(self) -> ObjectiveName:
        """``"binary"``, ``"regression"`` or ``"multiclass"``."""
        return OBJECTIVES[self._core.objective]

    @property
    def n_classes(self) -> int:
        """Number of classes for classifiers (2 for binary), 1 for regression."""
        if self.objective == "binary":
            return 2
        return self._core.n_groups

    @property
    def base_score(self) -> list[float]:
        """The margin added to every prediction, one value per output."""
        return self._core.base_score

    def score_many(self, X: Any, *, raw: bool = False, n_threads: int | None = None) -> FloatArray:
        """Score a batch: probabilities (binary, multiclass), values (regression), or raw margins.

        Returns shape ``(rows,)``, or ``(rows, n_classes)`` for multiclass, like LightGBM's
        ``predict``.
        """
        x = self._matrix(X)
        out = self._core.predict(x, raw, self._threads(x, n_threads))
        return out if self._core.n_groups > 1 else out[:, 0]

    def score_one(self, row: Any, *, raw: bool = False) -> Any:
        """Score one payment: a 1-D float array or a sequence of numbers in feature order.

        Returns a float, or an array of class probabilities for multiclass. Equal to the
        matching row of :meth:`score_many`.
        """
        return self._core.score_one(row, raw)

    def contributions_many(self, X: Any, *, n_threads: int | None = None) -> FloatArray:
        """Per-feature TreeSHAP contributions plus the bias column, as LightGBM's ``pred_contrib``.

        Shape ``(rows, n_features + 1)``, or ``(rows, n_classes * (n_features + 1))`` for
        multiclass; each row sums to the raw margin.
        """
        x = self._matrix(X)
        return self._core.contributions(x, self._threads(x, n_threads))

    def leaves_many(self, X: Any, *, n_threads: int | None = None) -> npt.NDArray[np.int32]:
        """The leaf each row reaches in each tree, shape ``(rows, n_trees)``.

        LightGBM models report leaf indices (as ``pred_leaf``), XGBoost models node ids.
        """
        x = self._matrix(X)
        return self._core.leaves(x, self._threads(x, n_threads))

    def _threads(self, x: npt.NDArray[Any], n_threads: int | None) -> int:
        if n_threads is None:
            work = x.shape[0] * max(1, self.n_trees)
            return 1 if work < _PARALLEL_WORK else _core.hardware_threads()
        if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
            raise ValueError(f"n_threads must be a positive integer or None, got {n_threads!r}")
        return n_threads

    def _matrix(self, X: Any) -> npt.NDArray[Any]:
        module = type(X).__module__.split(".")[0]
        if module in ("pandas", "polars", "pyarrow") and hasattr(X, "columns"):
            return self._columns(X)
        x = np.asarray(X)
        if x.dtype.kind not in "fiub":
            raise TypeError(f"X must hold numbers, got dtype {x.dtype}")
        if x.ndim != 2:
            raise ValueError(f"X must be a 2-D array (rows, features), got {x.ndim} dimensions")
        if x.shape[1] != self.n_features:
            raise ValueError(
                f"X has {x.shape[1]} columns but the model expects {self.n_features} features: "
                f"{self.feature_names}"
            )
        if x.dtype not in (np.float32, np.float64) or not x.dtype.isnative:
            x = x.astype(np.float64)
        if not (x.flags.c_contiguous or x.flags.f_contiguous):
            x = np.ascontiguousarray(x)
        return x

    def _columns(self, table: Any) -> FloatArray:
        names = self.feature_names
        columns = table.column_names if hasattr(table, "column_names") else table.columns
        present = [str(c) for c in columns]
        missing = [n for n in names if n not in set(present)]
        if missing:
            raise ValueError(f"missing columns {missing}: the model expects {names}, got {present}")
        out = np.empty((len(table), len(names)), dtype=np.float64, order="F")
        for j, name in enumerate(names):
            out[:, j] = _column_values(table, name)
        return out


def _column_values(table: Any, name: str) -> FloatArray:
    module = type(table).__module__.split(".")[0]
    if module == "pyarrow":
        column = table.column(name)
        kind = column.type
        import pyarrow as pa

        ok = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
        values = column.to_numpy(zero_copy_only=False) if ok else None
    elif module == "polars":
        series = table.get_column(name)
        kind = series.dtype
        ok = kind.is_numeric() or str(kind) == "Boolean"
        values = series.to_numpy() if ok else None
    else:
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        series = table[name]
        kind = series.dtype
        ok = is_numeric_dtype(kind) or is_bool_dtype(kind)
        values = series.to_numpy(dtype=np.float64, na_value=np.nan) if ok else None
    if values is None:
        raise TypeError(f"column {name!r} must be numeric, got {kind}")
    return np.asarray(values, dtype=np.float64)
