"""A slow, plain-Python evaluator of rule syntax trees: the oracle the compiled core must match.

It reads the syntax tree directly and follows the documented semantics (README, "Rules"):
Kleene logic where a comparison reading a missing value is unknown, NOT keeps unknown, and a
rule matches only when its condition is true.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from radarcore.rules.ast import (
    Action,
    And,
    AttributeRef,
    BooleanAttribute,
    CmpOp,
    Comparison,
    Condition,
    InlineList,
    IsMissing,
    MetadataRef,
    Not,
    NumberLiteral,
    Operand,
    Or,
    RuleNode,
    StringLiteral,
    ValueListRef,
)
from radarcore.rules.catalogue import ValueType, lookup
from radarcore.rules.lists import ValueList

Tri = bool | None
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_POST_AUTH = {"cvc_check", "address_zip_check", "address_line1_check"}


def _key(operand: Operand) -> str:
    return operand.name if isinstance(operand, AttributeRef) else str(operand)


def _is_numeric(operand: Operand) -> bool:
    if isinstance(operand, MetadataRef):
        return False
    attribute = lookup(operand.name)
    assert attribute is not None
    return attribute.value_type.is_numeric


def _folds(operand: Operand) -> bool:
    if isinstance(operand, MetadataRef):
        return False
    attribute = lookup(operand.name)
    assert attribute is not None
    return attribute.value_type is not ValueType.CASE_SENSITIVE_STRING


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        number = float(value) if _DECIMAL.fullmatch(value) else math.inf
        return number if math.isfinite(number) else None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def _compare(op: CmpOp, x: float | None, y: float | None) -> Tri:
    if x is None or y is None:
        return None
    return {
        CmpOp.EQ: x == y,
        CmpOp.NE: x != y,
        CmpOp.LT: x < y,
        CmpOp.GT: x > y,
        CmpOp.LE: x <= y,
        CmpOp.GE: x >= y,
    }[op]


def _like(value: str, pattern: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    return re.fullmatch(regex, value, re.DOTALL) is not None


class Oracle:
    def __init__(self, lists: Mapping[str, ValueList], at: int | None) -> None:
        self.lists = lists
        self.at = at

    def condition(self, node: Condition, values: Mapping[str, object]) -> Tri:
        if isinstance(node, And):
            results = [self.condition(o, values) for o in node.operands]
            if any(r is False for r in results):
                return False
            return True if all(r is True for r in results) else None
        if isinstance(node, Or):
            results = [self.condition(o, values) for o in node.operands]
            if any(r is True for r in results):
                return True
            return False if all(r is False for r in results) else None
        if isinstance(node, Not):
            inner = self.condition(node.operand, values)
            return None if inner is None else not inner
        if isinstance(node, BooleanAttribute):
            return bool(values.get(node.attribute.name))
        if isinstance(node, IsMissing):
            value = values.get(_key(node.operand))
            return value is None or (isinstance(value, float) and math.isnan(value))
        return self.comparison(node, values)

    def comparison(self, node: Comparison, values: Mapping[str, object]) -> Tri:
        left, op, right = node.left, node.op, node.right
        raw = values.get(_key(left))
        if _is_numeric(left):
            x = _number(raw)
            if isinstance(right, NumberLiteral):
                return _compare(op, x, right.value)
            if isinstance(right, InlineList):
                return None if x is None else x in {float(i.value) for i in right.items}
            assert isinstance(right, AttributeRef | MetadataRef)
            return _compare(op, x, _number(values.get(_key(right))))
        if raw is None:
            return None
        assert isinstance(raw, str)
        fold = _folds(left)
        if isinstance(right, ValueListRef):
            value_list = self.lists[right.alias]
            fold = fold and not value_list.case_sensitive
            norm = raw.casefold() if fold else raw
            return any(
                (item.value.casefold() if fold else item.value) == norm and item.live(self.at)
                for item in value_list.items
            )
        if isinstance(right, InlineList):
            if all(isinstance(i, NumberLiteral) for i in right.items):
                x = _number(raw)
                return None if x is None else x in {float(i.value) for i in right.items}
            items = {str(i.value).casefold() if fold else str(i.value) for i in right.items}
            return (raw.casefold() if fold else raw) in items
        if isinstance(right, NumberLiteral):
            return _compare(op, _number(raw), right.value)
        if isinstance(right, StringLiteral):
            if op.is_ordering:
                return _compare(op, _number(raw), float(right.value))
            value = raw.casefold() if fold else raw
            literal = right.value.casefold() if fold else right.value
            if op is CmpOp.INCLUDES:
                return literal in value
            if op is CmpOp.LIKE:
                return _like(value, literal)
            return (value == literal) if op is CmpOp.EQ else (value != literal)
        other = values.get(_key(right))
        if _is_numeric(right):
            return _compare(op, _number(raw), _number(other))
        if other is None:
            return None
        assert isinstance(other, str)
        if op.is_ordering:
            return _compare(op, _number(raw), _number(other))
        if fold and _folds(right):
            raw, other = raw.casefold(), other.casefold()
        return (raw == other) if op is CmpOp.EQ else (raw != other)


def _post_authorization(node: Condition) -> bool:
    if isinstance(node, And | Or):
        return any(_post_authorization(o) for o in node.operands)
    if isinstance(node, Not):
        return _post_authorization(node.operand)
    if isinstance(node, BooleanAttribute):
        refs: list[object] = [node.attribute]
    elif isinstance(node, IsMissing):
        refs = [node.operand]
    else:
        refs = [node.left, node.right]
    return any(isinstance(r, AttributeRef) and r.name in _POST_AUTH for r in refs)


def decide(
    rules: Sequence[RuleNode],
    values: Mapping[str, object],
    lists: Mapping[str, ValueList],
    *,
    object: str = "payment_intent",
    at: int | None = None,
) -> tuple[str | None, int, bool, int]:
    """(action, deciding rule index, request 3DS, 3DS rule index) in Radar's order."""
    oracle = Oracle(lists, at)
    matched = [oracle.condition(rule.condition, values) is True for rule in rules]

    def ordered(action: Action) -> list[int]:
        indices = [i for i, rule in enumerate(rules) if rule.action is action]
        return sorted(indices, key=lambda i: _post_authorization(rules[i].condition))

    tds_rule = -1
    if object != "charge":
        tds_rule = next((i for i in ordered(Action.REQUEST_THREE_D_SECURE) if matched[i]), -1)
    for action, name in (
        (Action.ALLOW, "allow"),
        (Action.BLOCK, "block"),
        (Action.REVIEW, "review"),
    ):
        if action is Action.REVIEW and object == "setup_intent":
            continue
        for i in ordered(action):
            if matched[i]:
                return name, i, tds_rule >= 0, tds_rule
    return None, -1, tds_rule >= 0, tds_rule


def matches(
    rules: Sequence[RuleNode], values: Mapping[str, object], lists: Mapping[str, ValueList]
) -> list[bool]:
    """Whether each rule's condition is true."""
    oracle = Oracle(lists, None)
    return [oracle.condition(rule.condition, values) is True for rule in rules]
