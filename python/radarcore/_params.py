"""Request parameters checked the way Stripe's API checks them, with Stripe's messages.

A spec maps parameter names to :class:`P`. Values may be Python-typed (in-process) or strings
(form-encoded, as an HTTP server receives them): ``"100"`` is an integer, ``"true"`` a boolean.
Nested parameters are named as Stripe names them: ``radar_options[session]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from radarcore.errors import InvalidRequestError

__all__ = ["P", "Spec", "check"]

Kind = Literal["str", "int", "bool", "float", "object", "metadata", "list", "range"]

_RANGE_ENDS = ("gt", "gte", "lt", "lte")


@dataclass(frozen=True)
class P:
    """One parameter: its kind, whether it is required, allowed values, bounds, sub-spec."""

    kind: Kind = "str"
    required: bool = False
    choices: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    fields: Mapping[str, P] | None = None
    max_length: int = 5000


Spec = Mapping[str, P]


def _invalid(message: str, param: str, code: str | None = None) -> InvalidRequestError:
    return InvalidRequestError(message, param=param, code=code)


def _join_choices(choices: tuple[str, ...]) -> str:
    if len(choices) == 1:
        return choices[0]
    return ", ".join(choices[:-1]) + ("," if len(choices) > 2 else "") + " or " + choices[-1]


def _int(name: str, value: object) -> int:
    if isinstance(value, bool):
        raise _invalid(f"Invalid integer: {value}", name, "parameter_invalid_integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise _invalid(f"Invalid integer: {value}", name, "parameter_invalid_integer")


def _bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise _invalid(f"Invalid boolean: {value}", name)


def _float(name: str, value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _invalid(f"Invalid decimal: {value}", name)


def _range(name: str, value: object) -> tuple[int | None, int | None]:
    """Stripe's range filter (``created=N`` or ``created[gt]=N``, ``gte``, ``lt``, ``lte``) as
    inclusive ``(low, high)`` ends (``None``: open)."""
    if not isinstance(value, Mapping):
        exact = _int(name, value)
        return exact, exact
    ends = check({end: P("int") for end in _RANGE_ENDS}, value, prefix=name)
    lows = [ends["gte"]] if "gte" in ends else []
    lows += [ends["gt"] + 1] if "gt" in ends else []
    highs = [ends["lte"]] if "lte" in ends else []
    highs += [ends["lt"] - 1] if "lt" in ends else []
    return (max(lows) if lows else None), (min(highs) if highs else None)


def _value(name: str, spec: P, value: object) -> Any:
    kind = spec.kind
    if kind == "str":
        if type(value) is str and 0 < len(value) <= spec.max_length and spec.choices is None:
            return value  # the common case, decided before the kinds below
        return _string(name, spec, value)
    if kind == "int":
        number = _int(name, value)
        if spec.minimum is not None and number < spec.minimum:
            raise _invalid(
                f"This value must be greater than or equal to {spec.minimum}.",
                name,
                "parameter_invalid_integer",
            )
        if spec.maximum is not None and number > spec.maximum:
            raise _invalid(
                f"This value must be less than or equal to {spec.maximum}.",
                name,
                "parameter_invalid_integer",
            )
        return number
    if kind == "bool":
        return _bool(name, value)
    if kind == "float":
        return _float(name, value)
    if kind == "object":
        if not isinstance(value, Mapping):
            raise _invalid("Invalid object", name)
        return check(spec.fields or {}, value, prefix=name)
    if kind == "metadata":
        if not isinstance(value, Mapping):
            raise _invalid("Invalid object", name)
        out: dict[str, str] = {}
        for key, item in value.items():
            if not isinstance(key, str) or len(key) > 40:
                raise _invalid("Metadata keys can be at most 40 characters.", f"{name}[{key}]")
            if not isinstance(item, str | int | float) or isinstance(item, bool):
                raise _invalid(f"Invalid string: {item}", f"{name}[{key}]")
            if len(str(item)) > 500:
                raise _invalid("Metadata values can be at most 500 characters.", f"{name}[{key}]")
            out[key] = str(item)
        return out
    if kind == "range":
        return _range(name, value)
    if kind == "list":
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise _invalid("Invalid array", name)
        return [_value(f"{name}[{i}]", P(choices=spec.choices), v) for i, v in enumerate(value)]
    raise AssertionError(f"unknown parameter kind {spec.kind!r}")


def _string(name: str, spec: P, value: object) -> str:
    if not isinstance(value, str):
        raise _invalid(f"Invalid string: {value}", name)
    if value == "":
        raise _invalid(
            f"You passed an empty string for '{name}'. We assume empty values are an attempt "
            f"to unset a parameter; however '{name}' cannot be unset. You should remove "
            f"'{name}' from your request or supply a non-empty value.",
            name,
            "parameter_invalid_empty",
        )
    if len(value) > spec.max_length:
        raise _invalid(
            f"Invalid string: {value[:20]}...; must be at most {spec.max_length} characters",
            name,
            "parameter_invalid_string_too_long",
        )
    if spec.choices is not None and value not in spec.choices:
        raise _invalid(f"Invalid {name}: must be one of {_join_choices(spec.choices)}", name)
    return value


def check(spec: Spec, params: Mapping[str, object], *, prefix: str = "") -> dict[str, Any]:
    """Validated parameters (``None`` values dropped), or :class:`InvalidRequestError`.

    >>> check({"amount": P("int", required=True)}, {"amount": "1099"})
    {'amount': 1099}
    >>> check({"amount": P("int", required=True)}, {})
    Traceback (most recent call last):
    ...
    radarcore.errors.InvalidRequestError: Missing required param: amount.
    """
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else key
        field = spec.get(key)
        if field is None:
            raise _invalid(f"Received unknown parameter: {name}", name, "parameter_unknown")
        if value is not None:
            out[key] = _value(name, field, value)
    for key, field in spec.items():
        if field.required and key not in out:
            name = f"{prefix}[{key}]" if prefix else key
            raise _invalid(f"Missing required param: {name}.", name, "parameter_missing")
    return out
