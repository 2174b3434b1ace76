"""The machinery every Stripe-shaped object shares: ids, ``to_dict`` and ``from_dict``."""

from __future__ import annotations

import dataclasses
import os
import string
import types
import typing
from typing import Any, ClassVar, TypeVar, Union

__all__ = ["PRIVATE", "StripeObject", "new_id"]

_ALPHABET = string.ascii_letters + string.digits

#: Field metadata marking engine-side state that is stored but not part of Stripe's JSON.
PRIVATE: dict[str, bool] = {"private": True}

T = TypeVar("T", bound="StripeObject")


def new_id(prefix: str) -> str:
    """A fresh object id with Stripe's prefix, e.g. ``new_id("ch")`` -> ``"ch_3Ab..."``.

    24 characters drawn from 62 with the OS's random source (about 142 bits).
    """
    return prefix + "_" + "".join([_ALPHABET[b % 62] for b in os.urandom(24)])


class _Spec:
    """Per-class field layout, computed once: (name, nested type, is_list, private)."""

    def __init__(self, cls: type[StripeObject]) -> None:
        hints = typing.get_type_hints(cls)
        self.fields: list[tuple[str, type[StripeObject] | None, bool, bool]] = []
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            nested, is_list = _nested_type(hints[f.name])
            self.fields.append((f.name, nested, is_list, bool(f.metadata.get("private"))))


def _nested_type(hint: Any) -> tuple[type[StripeObject] | None, bool]:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(hint):
            nested, is_list = _nested_type(arg)
            if nested is not None:
                return nested, is_list
        return None, False
    if origin is list:
        (arg,) = typing.get_args(hint)
        nested, _ = _nested_type(arg)
        return nested, nested is not None
    if isinstance(hint, type) and issubclass(hint, StripeObject):
        return hint, False
    return None, False


class StripeObject:
    """Base of the dataclasses in Stripe's shape.

    ``to_dict()`` gives Stripe's JSON; ``to_record()`` adds the engine's private fields (what the
    store keeps); ``from_dict`` reads either back. Keys named in ``omit_if_none`` are left out of
    the JSON when ``None``, as Stripe leaves out optional fields such as ``Outcome.risk_score``.
    """

    omit_if_none: ClassVar[frozenset[str]] = frozenset()
    _spec: ClassVar[_Spec | None] = None

    @classmethod
    def _layout(cls) -> _Spec:
        spec = cls.__dict__.get("_spec")
        if spec is None:
            spec = _Spec(cls)
            cls._spec = spec
        return spec

    def _dump(self, private: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, nested, is_list, is_private in self._layout().fields:
            if is_private and not private:
                continue
            value = getattr(self, name)
            if value is None:
                if name in self.omit_if_none:
                    continue
            elif nested is not None:
                value = [item._dump(private) for item in value] if is_list else value._dump(private)
            elif isinstance(value, dict):
                value = dict(value)
            elif isinstance(value, list):
                value = list(value)
            out[name] = value
        return out

    def clone(self: T) -> T:
        """A copy sharing nothing mutable with this object (nested objects, dicts, lists)."""
        new = object.__new__(type(self))
        state = new.__dict__
        for name, nested, is_list, _ in self._layout().fields:
            value = getattr(self, name)
            if value is not None:
                if nested is not None:
                    value = [item.clone() for item in value] if is_list else value.clone()
                elif isinstance(value, dict):
                    value = dict(value)
                elif isinstance(value, list):
                    value = list(value)
            state[name] = value
        return new

    def to_dict(self) -> dict[str, Any]:
        """Stripe's JSON for this object (a fresh dict)."""
        return self._dump(private=False)

    def to_record(self) -> dict[str, Any]:
        """Stripe's JSON plus the engine's private fields: the stored form."""
        return self._dump(private=True)

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        """Build the object from ``to_dict()`` or ``to_record()``; unknown keys are ignored."""
        kwargs: dict[str, Any] = {}
        for name, nested, is_list, _ in cls._layout().fields:
            if name not in data:
                continue
            value = data[name]
            if value is not None and nested is not None:
                value = (
                    [nested.from_dict(item) for item in value]
                    if is_list
                    else nested.from_dict(value)
                )
            kwargs[name] = value
        return cls(**kwargs)
