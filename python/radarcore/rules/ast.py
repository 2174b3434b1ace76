"""The plain-data syntax tree of a Radar rule: frozen dataclasses, printed back in canonical form.

Positions (0-based offsets into the rule text) travel with the nodes for error messages but do
not take part in equality, so ``parse(str(node)) == node`` holds for every parsed node.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeAlias

__all__ = [
    "Action",
    "And",
    "AttributeRef",
    "BooleanAttribute",
    "CmpOp",
    "Comparison",
    "Condition",
    "InlineList",
    "IsMissing",
    "Literal",
    "MetadataRef",
    "Not",
    "NumberLiteral",
    "Operand",
    "Or",
    "RuleNode",
    "StringLiteral",
    "ValueListRef",
    "format_number",
    "format_string",
]


class Action(enum.Enum):
    """A rule's action. ``keyword`` is the text that starts the rule."""

    REQUEST_THREE_D_SECURE = "request_three_d_secure"
    ALLOW = "allow"
    BLOCK = "block"
    REVIEW = "review"
    RESOLVE_DISPUTE = "resolve_dispute"

    @property
    def keyword(self) -> str:
        """The action as written at the start of a rule, e.g. ``Request 3D Secure``."""
        return _KEYWORDS[self]

    @property
    def stripe_name(self) -> str:
        """The ``rule.action`` string of a Charge outcome (``manual_review`` for Review)."""
        return "manual_review" if self is Action.REVIEW else self.value


_KEYWORDS = {
    Action.REQUEST_THREE_D_SECURE: "Request 3D Secure",
    Action.ALLOW: "Allow",
    Action.BLOCK: "Block",
    Action.REVIEW: "Review",
    Action.RESOLVE_DISPUTE: "Resolve dispute",
}


class CmpOp(enum.Enum):
    """A comparison operator, valued by its canonical spelling."""

    EQ = "="
    NE = "!="
    LT = "<"
    GT = ">"
    LE = "<="
    GE = ">="
    IN = "IN"
    INCLUDES = "INCLUDES"
    LIKE = "LIKE"

    @property
    def is_ordering(self) -> bool:
        """Whether the operator orders numbers (``<``, ``>``, ``<=``, ``>=``)."""
        return self in (CmpOp.LT, CmpOp.GT, CmpOp.LE, CmpOp.GE)


def format_string(value: str) -> str:
    """A string literal in rule syntax: single quotes, with ``\\`` and ``'`` escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def format_number(value: float) -> str:
    """A number literal in rule syntax: plain decimal digits, never an exponent."""
    if value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


@dataclass(frozen=True)
class AttributeRef:
    """``:name:``, an attribute of the catalogue."""

    name: str
    position: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return f":{self.name}:"


@dataclass(frozen=True)
class MetadataRef:
    """``::key::`` (``scope`` empty) or ``::customer:key::``, ``::destination:key::``,
    ``::account:key::``. Metadata values are case-sensitive strings."""

    scope: str
    key: str
    position: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return f"::{self.scope}:{self.key}::" if self.scope else f"::{self.key}::"


@dataclass(frozen=True)
class StringLiteral:
    """``'text'``."""

    value: str
    position: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return format_string(self.value)


@dataclass(frozen=True)
class NumberLiteral:
    """``1000`` or ``1000.00`` (major units for amounts)."""

    value: float
    position: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return format_number(self.value)


Literal: TypeAlias = StringLiteral | NumberLiteral


@dataclass(frozen=True)
class InlineList:
    """``('CA', 'DE')`` or ``(1, 2)``: the right-hand side of ``IN``."""

    items: tuple[Literal, ...]
    position: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return "(" + ", ".join(str(item) for item in self.items) + ")"


@dataclass(frozen=True)
class ValueListRef:
    """``@alias``: a saved value list, the right-hand side of ``IN``."""

    alias: str
    position: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        return f"@{self.alias}"


Operand: TypeAlias = AttributeRef | MetadataRef


@dataclass(frozen=True)
class Comparison:
    """``left op right``."""

    left: Operand
    op: CmpOp
    right: Operand | Literal | InlineList | ValueListRef

    def __str__(self) -> str:
        return f"{self.left} {self.op.value} {self.right}"


@dataclass(frozen=True)
class BooleanAttribute:
    """A bare boolean attribute, ``:is_anonymous_ip:``."""

    attribute: AttributeRef

    def __str__(self) -> str:
        return str(self.attribute)


@dataclass(frozen=True)
class IsMissing:
    """``is_missing(:attribute:)`` or ``is_missing(::key::)``."""

    operand: Operand

    def __str__(self) -> str:
        return f"is_missing({self.operand})"


@dataclass(frozen=True)
class Not:
    """``NOT x``: false when ``x`` is unknown (Radar's missing-value rule)."""

    operand: Condition

    def __str__(self) -> str:
        if isinstance(self.operand, BooleanAttribute | IsMissing):
            return f"NOT {self.operand}"
        return f"NOT ({self.operand})"


@dataclass(frozen=True)
class And:
    """``a AND b AND ...`` (two or more operands)."""

    operands: tuple[Condition, ...]

    def __str__(self) -> str:
        return " AND ".join(_grouped(c, (And, Or)) for c in self.operands)


@dataclass(frozen=True)
class Or:
    """``a OR b OR ...`` (two or more operands)."""

    operands: tuple[Condition, ...]

    def __str__(self) -> str:
        return " OR ".join(_grouped(c, (Or,)) for c in self.operands)


Condition: TypeAlias = Comparison | BooleanAttribute | IsMissing | Not | And | Or


def _grouped(node: Condition, kinds: tuple[type, ...]) -> str:
    return f"({node})" if isinstance(node, kinds) else str(node)


@dataclass(frozen=True)
class RuleNode:
    """A whole rule, ``{action} if {condition}``; ``str()`` is Stripe's *predicate*."""

    action: Action
    condition: Condition

    def __str__(self) -> str:
        return f"{self.action.keyword} if {self.condition}"
