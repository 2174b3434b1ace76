"""Stripe's form encoding: ``a[b][c]=v`` nests, ``a[]=v`` and ``a[0]=v`` make arrays.

The API takes ``application/x-www-form-urlencoded`` bodies (and query strings for ``GET``) and
turns them into the nested dicts and lists the engine's services take; every value stays a
string (the services' parameter checks convert ``"1099"`` and ``"true"``):

>>> decode(b"amount=2000&radar_options[session]=rse_1&expand[]=latest_charge&expand[]=customer")
{'amount': '2000', 'radar_options': {'session': 'rse_1'}, 'expand': ['latest_charge', 'customer']}
>>> decode(b"items[1][v]=b&items[0][v]=a")
{'items': [{'v': 'a'}, {'v': 'b'}]}

Malformed input (a key that is both a value and an object, a repeated plain key, too deep a
nesting, too many parameters, an array index out of range, bytes that are not UTF-8) raises
:class:`radarcore.InvalidRequestError` naming the parameter.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import parse_qsl

from radarcore.errors import InvalidRequestError

__all__ = ["MAX_DEPTH", "MAX_INDEX", "MAX_PARAMS", "decode", "is_number"]

#: Deepest nesting accepted (``payment_method_data[billing_details][address][line1]`` is 4).
MAX_DEPTH = 6
#: Most parameters in one request.
MAX_PARAMS = 1000
#: Largest array index (``expand[99]``).
MAX_INDEX = 255

_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_PART = re.compile(r"\[([^\[\]]*)\]")


def is_number(text: str) -> bool:
    """Whether ``text`` is a non-negative decimal number ``int`` reads (ASCII digits only:
    ``"²".isdigit()`` is true, but ``int("²")`` fails)."""
    return text.isascii() and text.isdigit()


def _invalid(message: str, param: str | None) -> InvalidRequestError:
    return InvalidRequestError(message, param=param, code="parameter_invalid")


@functools.lru_cache(maxsize=4096)
def _path(key: str) -> tuple[str, ...]:
    """``a[b][]`` -> ``("a", "b", "")`` (cached: clients send the same keys again and again)."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise _invalid(f"Invalid parameter name: {key[:100]!r}", key[:100] or None)
    parts = (match.group(1), *_PART.findall(match.group(2)))
    if len(parts) > MAX_DEPTH:
        raise _invalid(f"Parameter {key[:100]} is nested too deeply.", key[:100])
    return parts


def _arrays(node: Any, name: str) -> Any:
    """Turn the dicts built for ``a[]``/``a[0]`` into lists (in index order)."""
    if isinstance(node, _Array):
        items = sorted(node.items())
        if node.indexed and [i for i, _ in items] != list(range(len(items))):
            raise _invalid(f"Invalid array: indexes of {name} must be 0, 1, 2, ...", name)
        return [_arrays(v, f"{name}[{i}]") for i, v in items]
    if isinstance(node, dict):
        return {k: _arrays(v, k if not name else f"{name}[{k}]") for k, v in node.items()}
    return node


class _Array(dict[int, Any]):
    """An array being built: index -> value; ``indexed`` when the keys gave explicit indexes."""

    indexed = False


def decode(body: bytes | str) -> dict[str, Any]:
    """The nested parameters of a form-encoded body or query string."""
    try:
        text = body.decode("utf-8", errors="strict") if isinstance(body, bytes) else body
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_PARAMS, errors="strict")
    except UnicodeDecodeError:
        raise _invalid("Invalid request: the body is not UTF-8 form data.", None) from None
    except ValueError:
        raise _invalid(f"Invalid request: more than {MAX_PARAMS} parameters.", None) from None
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = _path(key)
        node: dict[Any, Any] = root
        name = ""
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if isinstance(node, _Array):
                if part == "":
                    index = len(node)
                elif is_number(part) and len(part) <= 3 and int(part) <= MAX_INDEX:
                    index = int(part)
                    node.indexed = True
                else:
                    raise _invalid(f"Invalid array index {part!r} in {key[:100]}", name)
                name = f"{name}[{index}]"
                part_key: Any = index
            else:
                if part == "":
                    raise _invalid(f"Invalid parameter name: {key[:100]!r}", key[:100])
                name = part if not name else f"{name}[{part}]"
                part_key = part
            if last:
                if isinstance(node.get(part_key), dict):
                    raise _invalid(
                        f"Invalid parameter {name}: given both as a value and as an object.", name
                    )
                if part_key in node:
                    raise _invalid(f"Received multiple values for parameter {name}.", name)
                node[part_key] = value
                break
            following = parts[depth + 1]
            child = node.get(part_key)
            if child is None:
                is_array = following == "" or is_number(following)
                child = _Array() if is_array else {}
                node[part_key] = child
            elif not isinstance(child, dict):
                raise _invalid(
                    f"Invalid parameter {name}: given both as a value and as an object.", name
                )
            node = child
    result: dict[str, Any] = _arrays(root, "")
    return result
