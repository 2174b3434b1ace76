"""radarcore's error tree: every error the package raises derives from :class:`RadarError`."""

from __future__ import annotations

__all__ = [
    "InputError",
    "ModelError",
    "RadarError",
    "RuleSetError",
    "RuleSyntaxError",
    "SchemaError",
    "ValueListError",
]


class RadarError(Exception):
    """Base class of every error radarcore raises on purpose."""


class ModelError(RadarError):
    """A model file or buffer that cannot be loaded, or a model that does not fit the schema."""


class SchemaError(RadarError, ValueError):
    """Input that does not match the declared schema (columns, fields, types)."""


class RuleSyntaxError(RadarError, ValueError):
    """Rule text that does not parse or type-check.

    ``position`` is the 0-based character offset in the rule text where the problem starts.
    """

    def __init__(self, message: str, text: str, position: int) -> None:
        self.message = message
        self.text = text
        self.position = position
        super().__init__(f"{message} (at position {position})")


class ValueListError(RadarError, ValueError):
    """A value list or list item that breaks Radar's limits (alias, item type, value, expiry)."""


class RuleSetError(RadarError, ValueError):
    """A rule set that cannot be built: too many rules, duplicate ids, an unsupported action."""


class InputError(RadarError, ValueError):
    """An input file or directory that cannot be read (missing, unknown format, corrupt)."""
