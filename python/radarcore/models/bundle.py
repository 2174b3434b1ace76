"""``RiskModel``: a scoring forest, its calibration and the feature schema it was trained on.

One file holds everything a deployment needs to turn a feature row into Radar's
``risk_score`` and ``risk_level``::

    b"RCMODEL\\x01"                      magic and format version (8 bytes)
    header length                         unsigned 64-bit little-endian
    SHA-256 of the header                 32 bytes
    header                                UTF-8 JSON: schema, calibration, metadata, forest size
    forest                                radarcore's own checksummed forest format

The forest reads a subset of the schema's columns (all of them for the default model, only
the static ones for a baseline without velocity features); :meth:`RiskModel.margins` takes the
full feature matrix the extractor produces and picks those columns by name.

>>> from radarcore import Forest
>>> from radarcore.models import SpecBuilder, TreeSpec
>>> tree = TreeSpec()
>>> root = tree.add_split(0, 100.0)
>>> tree.set_children(root, tree.add_leaf(-4.0), tree.add_leaf(2.0))
>>> forest = Forest.from_spec(SpecBuilder(["amount"], objective="binary", trees=[tree]))
>>> model = RiskModel(forest, RiskCalibration(1.0, 0.0), schema=["amount", "hour"])
>>> model.risk_scores(np.array([[50.0, 3.0], [500.0, 3.0]])).tolist()
[57, 84]
>>> model.risk_levels([57, 70, 84]).tolist()
['normal', 'elevated', 'highest']
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from radarcore.errors import ModelError
from radarcore.features import FeatureSchema
from radarcore.models.calibration import RiskCalibration

if TYPE_CHECKING:
    # radarcore.forest imports radarcore.models, so the class is imported where it is used.
    from radarcore.forest import Forest

__all__ = ["MAGIC", "RiskModel", "default_model"]

MAGIC = b"RCMODEL\x01"
"""First bytes of a risk model file (the last byte is the container format version)."""

_LENGTH = struct.Struct("<Q")
_DIGEST_SIZE = 32
_PREFIX = len(MAGIC) + _LENGTH.size + _DIGEST_SIZE
_DEFAULT_RESOURCE = "default_model.rcm"


@dataclass(frozen=True)
class RiskModel:
    """A forest, the calibration of its margins, and the feature schema it was trained on.

    ``schema`` is the ordered list of feature names of the matrices this model scores (the
    extractor's :class:`~radarcore.FeatureSchema`); the forest's own features must be among
    them. ``metadata`` is free JSON: training window, label cut-off, parameters, metrics.
    ``version`` identifies this model among the versions an engine keeps; ``created`` is Unix
    seconds.
    """

    forest: Forest
    calibration: RiskCalibration
    schema: Sequence[str]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    version: str = field(default_factory=lambda: f"rcm_{uuid.uuid4().hex[:16]}")
    created: int = field(default_factory=lambda: int(datetime.now(UTC).timestamp()))

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.schema)
        object.__setattr__(self, "schema", names)
        if len(set(names)) != len(names):
            raise ModelError("the model's feature schema names a column twice")
        position = {name: i for i, name in enumerate(names)}
        missing = [n for n in self.forest.feature_names if n not in position]
        if missing:
            raise ModelError(f"the forest reads features that are not in the schema: {missing}")
        columns = np.array([position[n] for n in self.forest.feature_names], dtype=np.intp)
        object.__setattr__(self, "_columns", columns)
        object.__setattr__(self, "metadata", dict(self.metadata))

    @property
    def feature_names(self) -> list[str]:
        """The columns the forest reads, a subset of :attr:`schema`."""
        return self.forest.feature_names

    def check_schema(self, schema: FeatureSchema | Sequence[str]) -> None:
        """Raise :class:`~radarcore.ModelError` unless ``schema`` is the one this model expects."""
        names = tuple(schema.names if isinstance(schema, FeatureSchema) else schema)
        if names == self.schema:
            return
        theirs, ours = set(names), set(self.schema)
        raise ModelError(
            f"model {self.version} was trained on a different feature schema "
            f"({len(self.schema)} columns) than the extractor's ({len(names)} columns); "
            f"missing from the extractor: {sorted(ours - theirs)[:10]}, "
            f"unknown to the model: {sorted(theirs - ours)[:10]}"
            + ("; same columns in another order" if theirs == ours else "")
        )

    def margins(self, features: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Raw forest margins of a feature matrix of shape ``(rows, len(schema))``."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.schema):
            raise ValueError(
                f"features must have shape (rows, {len(self.schema)}) to match the model's "
                f"schema, got {x.shape}"
            )
        columns: npt.NDArray[np.intp] = self._columns  # type: ignore[attr-defined]
        if len(columns) != x.shape[1] or np.any(columns != np.arange(x.shape[1])):
            x = np.asfortranarray(x[:, columns])
        return self.forest.score_many(x, raw=True)

    def probabilities(self, features: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Calibrated fraud probability of each row."""
        return self.calibration.probability(self.margins(features))

    def risk_scores(self, features: npt.ArrayLike) -> npt.NDArray[np.int32]:
        """Radar's ``risk_score`` (0..100) of each row."""
        return self.calibration.risk_score(self.margins(features))

    @staticmethod
    def risk_levels(
        scores: npt.ArrayLike, elevated: int = 65, highest: int = 75
    ) -> npt.NDArray[np.str_]:
        """``normal``, ``elevated`` or ``highest`` for each score (thresholds inclusive)."""
        if not 0 <= elevated <= highest <= 100:
            raise ValueError(
                f"thresholds must satisfy 0 <= elevated <= highest <= 100, got "
                f"elevated={elevated}, highest={highest}"
            )
        s = np.asarray(scores)
        levels = np.full(s.shape, "normal", dtype="<U8")
        levels[s >= elevated] = "elevated"
        levels[s >= highest] = "highest"
        return levels

    def header(self) -> dict[str, Any]:
        """Everything but the trees, as the JSON header of the file."""
        return {
            "format": "radarcore.risk_model",
            "version": self.version,
            "created": self.created,
            "schema": list(self.schema),
            "features": self.feature_names,
            "calibration": self.calibration.to_dict(),
            "metadata": self.metadata,
        }

    def to_bytes(self) -> bytes:
        """This model as one self-checking file's bytes (see the module docstring)."""
        forest = self.forest.to_bytes()
        header = dict(self.header(), forest_bytes=len(forest))
        text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
        digest = hashlib.sha256(text).digest()
        return MAGIC + _LENGTH.pack(len(text)) + digest + text + forest

    @classmethod
    def from_bytes(cls, data: bytes) -> RiskModel:
        """Read a model written by :meth:`to_bytes` (``ModelError`` when it is not one)."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"from_bytes expects bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) < _PREFIX or data[: len(MAGIC)] != MAGIC:
            if data[:7] == MAGIC[:7]:
                raise ModelError(
                    f"unsupported risk model format version {data[7] if len(data) > 7 else '?'}"
                )
            raise ModelError("not a radarcore risk model (bad magic bytes)")
        (length,) = _LENGTH.unpack_from(data, len(MAGIC))
        digest = data[len(MAGIC) + _LENGTH.size : _PREFIX]
        text = data[_PREFIX : _PREFIX + length]
        if len(text) != length:
            raise ModelError("truncated risk model: the header is cut short")
        if hashlib.sha256(text).digest() != digest:
            raise ModelError("corrupt risk model: the header checksum does not match")
        try:
            header = json.loads(text.decode("utf-8"))
            forest_data = data[_PREFIX + length :]
            if len(forest_data) != int(header["forest_bytes"]):
                raise ModelError(
                    f"truncated risk model: expected {header['forest_bytes']} bytes of trees, "
                    f"found {len(forest_data)}"
                )
            from radarcore.forest import Forest

            forest = Forest.from_bytes(forest_data)
            if forest.feature_names != list(header["features"]):
                raise ModelError("corrupt risk model: the header and the trees disagree")
            return cls(
                forest=forest,
                calibration=RiskCalibration.from_dict(header["calibration"]),
                schema=header["schema"],
                metadata=header["metadata"],
                version=str(header["version"]),
                created=int(header["created"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ModelError(f"corrupt risk model header: {error}") from error

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write this model to ``path`` (atomically: a reader sees the old or the new file)."""
        tmp = f"{os.fspath(path)}.tmp{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(self.to_bytes())
        os.replace(tmp, path)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], *, schema: FeatureSchema | Sequence[str] | None = None
    ) -> RiskModel:
        """Read a model file; with ``schema``, also check that it matches (``ModelError``)."""
        with open(path, "rb") as f:
            model = cls.from_bytes(f.read())
        if schema is not None:
            model.check_schema(schema)
        return model

    def __repr__(self) -> str:
        return (
            f"RiskModel(version={self.version!r}, n_trees={self.forest.n_trees}, "
            f"features={len(self.feature_names)}/{len(self.schema)})"
        )


def default_model() -> RiskModel:
    """The model bundled with radarcore, trained on the synthetic stream by
    ``scripts/train_default_model.py``."""
    resource = resources.files("radarcore") / "data" / _DEFAULT_RESOURCE
    return RiskModel.from_bytes(resource.read_bytes())
