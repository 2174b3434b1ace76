"""radarcore: an open fraud-scoring engine that behaves like Stripe Radar."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from radarcore import synth
from radarcore.batch import score_files, score_table
from radarcore.errors import (
    CardError,
    IdempotencyError,
    InputError,
    InvalidRequestError,
    ModelError,
    RadarError,
    RuleSetError,
    RuleSyntaxError,
    SchemaError,
    StripeError,
    ValueListError,
)
from radarcore.features import FeatureExtractor, FeatureSchema
from radarcore.forest import Forest
from radarcore.mapping import ColumnMapping
from radarcore.radar import Radar, RadarSettings
from radarcore.rules import Decision, Rule, RuleSet, ValueList

try:
    __version__ = version("radarcore")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "CardError",
    "ColumnMapping",
    "Decision",
    "FeatureExtractor",
    "FeatureSchema",
    "Forest",
    "IdempotencyError",
    "InputError",
    "InvalidRequestError",
    "ModelError",
    "Radar",
    "RadarError",
    "RadarSettings",
    "Rule",
    "RuleSet",
    "RuleSetError",
    "RuleSyntaxError",
    "SchemaError",
    "StripeError",
    "ValueList",
    "ValueListError",
    "__version__",
    "score_files",
    "score_table",
    "synth",
]
