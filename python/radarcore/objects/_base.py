"""The machinery every Stripe-shaped object shares: ids, ``to_dict`` and ``from_dict``."""

from __future__ import annotations

import dataclasses
import os
import string
import threading
import types
import typing
from typing import Any, ClassVar, TypeVar, Union

__all__ = ["PRIVATE", "StripeObject", "new_id"]

_ALPHABET = string.ascii_letters + string.digits
# Byte b becomes the character _ALPHABET[b % 62].
_ID_CHARACTERS = bytes(ord(_ALPHABET[b % 62]) for b in range(256))
_ID_LENGTH = 24


class _Entropy:
    """Id characters from the OS's random source, read a page at a time and mapped to the
    alphabet at once (one system call and one translation per ~170 ids instead of one per id);
    a forked child starts with none, so it shares no ids."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.characters = ""
        self.position = 0

    def take(self, n: int) -> str:
        with self.lock:
            if self.position + n > len(self.characters):
                self.characters = os.urandom(4096).translate(_ID_CHARACTERS).decode("ascii")
                self.position = 0
            start = self.position
            self.position += n
            return self.characters[start : start + n]


_ENTROPY = _Entropy()
os.register_at_fork(after_in_child=_ENTROPY.reset)

#: Field metadata marking engine-side state that is stored but not part of Stripe's JSON.
PRIVATE: dict[str, bool] = {"private": True}

T = TypeVar("T", bound="StripeObject")


def new_id(prefix: str) -> str:
    """A fresh object id with Stripe's prefix, e.g. ``new_id("ch")`` -> ``"ch_3Ab..."``.

    24 characters drawn from 62 with the OS's random source (about 142 bits).
    """
    return prefix + "_" + _ENTROPY.take(_ID_LENGTH)


class _Spec:
    """Per-class field layout, computed once.

    ``names`` are the field names in declaration order, ``public`` the same without the private
    ones. ``deep`` is (name, nested type, is_list) for the fields whose values may be mutable
    (nested objects, dicts, lists): the only ones dumping and loading have to look at, the
    others holding immutable scalars (``str``, ``int``, ``Literal``...) that are shared;
    ``nested`` is the part of ``deep`` holding nested objects.
    """

    def __init__(self, cls: type[StripeObject]) -> None:
        hints = typing.get_type_hints(cls)
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        self.names = tuple(f.name for f in fields)
        self.public = tuple(f.name for f in fields if not f.metadata.get("private"))
        self.deep: list[tuple[str, type[StripeObject] | None, bool]] = []
        for f in fields:
            nested, is_list = _nested_type(hints[f.name])
            if nested is not None or not _scalar(hints[f.name]):
                self.deep.append((f.name, nested, is_list))
        self.nested = [(name, nested, is_list) for name, nested, is_list in self.deep if nested]
        self.name_set = frozenset(self.names)


_SCALARS = (str, int, float, bool, type(None))


def _scalar(hint: Any) -> bool:
    """Whether every value the hint allows is an immutable scalar."""
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        return True
    if origin in (Union, types.UnionType):
        return all(_scalar(arg) for arg in typing.get_args(hint))
    return hint in _SCALARS


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


def _copy(value: Any) -> Any:
    """A copy of a dict or list field one level down (other values are immutable)."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    return value


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
        spec = self._layout()
        state = self.__dict__
        out = {name: state[name] for name in (spec.names if private else spec.public)}
        for name, nested, is_list in spec.deep:
            value = out.get(name)
            if value is None:
                continue
            if nested is None:
                out[name] = _copy(value)
            elif is_list:
                out[name] = [item._dump(private) for item in value]
            else:
                out[name] = value._dump(private)
        for name in self.omit_if_none:
            if out.get(name, 0) is None:
                del out[name]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Stripe's JSON for this object (a fresh dict)."""
        return self._dump(private=False)

    def to_record(self) -> dict[str, Any]:
        """Stripe's JSON plus the engine's private fields: the stored form."""
        return self._dump(private=True)

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        """Build the object from ``to_dict()`` or ``to_record()``; unknown keys are ignored."""
        spec = cls._layout()
        kwargs = {name: data[name] for name in spec.names if name in data}
        for name, nested, is_list in spec.deep:
            if nested is None:
                continue
            value = kwargs.get(name)
            if value is not None:
                kwargs[name] = (
                    [nested.from_dict(item) for item in value]
                    if is_list
                    else nested.from_dict(value)
                )
        if len(kwargs) < len(spec.names):
            return cls(**kwargs)
        # Every field given (a stored record): nothing for __init__ to default, so skip it.
        obj = object.__new__(cls)
        obj.__dict__.update(kwargs)
        return obj

    @classmethod
    def adopt(cls: type[T], data: dict[str, Any]) -> T:
        """:meth:`from_dict` for a record the caller hands over (a freshly decoded document, as
        the stores read them): when it holds exactly the object's fields, ``data`` itself
        becomes the object's state, nested records likewise, instead of being copied. The
        caller must not use ``data`` afterwards."""
        spec = cls._layout()
        if data.keys() != spec.name_set:
            return cls.from_dict(data)
        for name, nested, is_list in spec.nested:
            value = data[name]
            if value is not None:
                data[name] = (
                    [nested.adopt(item) for item in value] if is_list else nested.adopt(value)
                )
        obj = object.__new__(cls)
        obj.__dict__ = data
        return obj
