"""radarcore: an open fraud-scoring engine that behaves like Stripe Radar."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from radarcore import synth
from radarcore.batch import score_files, score_table
from radarcore.errors import (
    InputError,
    ModelError,
    RadarError,
    RuleSetError,
    RuleSyntaxError,
    SchemaError,
    ValueListError,
)
from radarcore.features import FeatureExtractor, FeatureSchema
from radarcore.forest import Forest
from radarcore.mapping import ColumnMapping
from radarcore.rules import Decision, Rule, RuleSet, ValueList

try:
    __version__ = version("radarcore")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "ColumnMapping",
    "Decision",
    "FeatureExtractor",
    "FeatureSchema",
    "Forest",
    "InputError",
    "ModelError",
    "RadarError",
    "Rule",
    "RuleSet",
    "RuleSetError",
    "RuleSyntaxError",
    "SchemaError",
    "ValueList",
    "ValueListError",
    "__version__",
    "score_files",
    "score_table",
    "synth",
]
