"""radarcore: an open fraud-scoring engine that behaves like Stripe Radar."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from radarcore.errors import ModelError, RadarError, RuleSyntaxError, SchemaError
from radarcore.features import FeatureExtractor, FeatureSchema

try:
    __version__ = version("radarcore")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "FeatureExtractor",
    "FeatureSchema",
    "ModelError",
    "RadarError",
    "RuleSyntaxError",
    "SchemaError",
    "__version__",
]
