"""Syntax trees to the compact program the core evaluates (``radarcore._core.RuleProgram``).

Each distinct comparison becomes one *leaf* over input *slots* (a numeric column or a string
column, the latter either exact or case-folded), each rule a postfix program over its leaves.
String literals and list items of case-insensitive comparisons are case-folded here; the
evaluator folds the input strings of those slots the same way (``str.casefold``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias
from typing import Literal as TypingLiteral

import numpy as np
import numpy.typing as npt

from radarcore import _core
from radarcore.rules._columns import batch_inputs
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
from radarcore.rules.catalogue import Attribute, ValueType, lookup
from radarcore.rules.lists import ValueList

__all__ = [
    "ACTION_CODES",
    "INT64_MAX",
    "INT64_MIN",
    "CompiledProgram",
    "EncodedBatch",
    "Slot",
    "compile_rules",
    "post_authorization",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# Mirrors of the core's enums (cpp/rules/program.hpp).
_NUM_CMP_CONST, _NUM_CMP_NUM, _NUM_IN_SET, _BOOL, _NUM_MISSING, _STR_MISSING = range(6)
_STR_CMP_CONST, _STR_IN_SET, _STR_INCLUDES, _STR_LIKE, _STR_CMP_STR = range(6, 11)
_STRNUM_CMP_CONST, _STRNUM_CMP_NUM, _STRNUM_CMP_STRNUM, _STRNUM_IN_SET = range(11, 15)
_LEAF, _NOT, _AND, _OR = range(4)
_OP_CODES = {CmpOp.EQ: 0, CmpOp.NE: 1, CmpOp.LT: 2, CmpOp.GT: 3, CmpOp.LE: 4, CmpOp.GE: 5}
_FLIPPED = {CmpOp.LT: CmpOp.GT, CmpOp.GT: CmpOp.LT, CmpOp.LE: CmpOp.GE, CmpOp.GE: CmpOp.LE}
ACTION_CODES = {
    Action.REQUEST_THREE_D_SECURE: 0,
    Action.ALLOW: 1,
    Action.BLOCK: 2,
    Action.REVIEW: 3,
}


@dataclass(frozen=True)
class Slot:
    """One input of the program: ``source`` is an attribute name or a metadata reference as
    written in rules (``::key::``); ``fold`` marks string slots that receive case-folded text;
    ``boolean`` marks numeric slots fed from a boolean attribute (missing reads as false)."""

    kind: TypingLiteral["numeric", "string"]
    source: str
    fold: bool = False
    boolean: bool = False


EncodedBatch: TypeAlias = tuple[
    int,
    list[npt.NDArray[np.float64]],
    list[npt.NDArray[np.int32]],
    list[npt.NDArray[np.int64]],
    list[npt.NDArray[np.uint8]],
]
"""(rows, numeric columns, code columns, dictionary offsets, dictionary bytes): the first five
arguments of ``_core.RuleProgram.evaluate_many``."""


@dataclass(frozen=True)
class CompiledProgram:
    """A compiled rule set: the core program and the slots it reads, in slot order."""

    core: _core.RuleProgram
    numeric_slots: tuple[Slot, ...]
    string_slots: tuple[Slot, ...]

    def encode(self, columns: Any) -> EncodedBatch:
        """The program's inputs from batch columns (see ``RuleSet.evaluate_many``), so the
        kernel can run on them again without converting (benchmarks, repeated backtests)."""
        return batch_inputs(self, columns)


class _Compiler:
    def __init__(self, lists: Mapping[str, ValueList]) -> None:
        self.lists = lists
        self.numeric: dict[Slot, int] = {}
        self.string: dict[Slot, int] = {}
        self.leaves: dict[tuple[int, int, int, int, float, int], int] = {}
        self.strings: dict[str, int] = {}
        self.string_sets: dict[tuple[tuple[str, int], ...], int] = {}
        self.number_sets: dict[tuple[float, ...], int] = {}

    def numeric_slot(self, source: str, boolean: bool = False) -> int:
        return self.numeric.setdefault(Slot("numeric", source, boolean=boolean), len(self.numeric))

    def string_slot(self, source: str, fold: bool) -> int:
        return self.string.setdefault(Slot("string", source, fold=fold), len(self.string))

    def leaf(
        self,
        kind: int,
        op: CmpOp = CmpOp.EQ,
        a: int = 0,
        b: int = 0,
        number: float = 0.0,
        ref: int = 0,
    ) -> list[tuple[int, int]]:
        key = (kind, _OP_CODES[op], a, b, number, ref)
        return [(_LEAF, self.leaves.setdefault(key, len(self.leaves)))]

    def text(self, value: str) -> int:
        return self.strings.setdefault(value, len(self.strings))

    def string_set(self, items: Sequence[tuple[str, int]]) -> int:
        key = tuple(sorted(set(items)))
        return self.string_sets.setdefault(key, len(self.string_sets))

    def number_set(self, items: Sequence[float]) -> int:
        key = tuple(sorted(set(items)))
        return self.number_sets.setdefault(key, len(self.number_sets))

    def condition(self, node: Condition) -> list[tuple[int, int]]:
        if isinstance(node, And | Or):
            code = self.condition(node.operands[0])
            for operand in node.operands[1:]:
                code += [*self.condition(operand), (_AND if isinstance(node, And) else _OR, 0)]
            return code
        if isinstance(node, Not):
            return [*self.condition(node.operand), (_NOT, 0)]
        if isinstance(node, BooleanAttribute):
            return self.leaf(_BOOL, a=self.numeric_slot(node.attribute.name, boolean=True))
        if isinstance(node, IsMissing):
            attribute = _attribute(node.operand)
            if attribute is not None and attribute.value_type.is_numeric:
                return self.leaf(_NUM_MISSING, a=self.numeric_slot(attribute.name))
            return self.leaf(
                _STR_MISSING, a=self.string_slot(_source(node.operand), _folds(attribute))
            )
        return self.comparison(node)

    def comparison(self, node: Comparison) -> list[tuple[int, int]]:
        left, op, right = node.left, node.op, node.right
        attribute = _attribute(left)
        if attribute is not None and attribute.value_type.is_numeric:
            a = self.numeric_slot(attribute.name)
            if isinstance(right, NumberLiteral):
                return self.leaf(_NUM_CMP_CONST, op, a, number=right.value)
            if isinstance(right, InlineList):
                values = [item.value for item in right.items if isinstance(item, NumberLiteral)]
                return self.leaf(_NUM_IN_SET, CmpOp.EQ, a, ref=self.number_set(values))
            if isinstance(right, MetadataRef):
                b = self.string_slot(_source(right), False)
                return self.leaf(_STRNUM_CMP_NUM, _FLIPPED.get(op, op), b, a)
            assert isinstance(right, AttributeRef)
            return self.leaf(_NUM_CMP_NUM, op, a, self.numeric_slot(right.name))
        return self.string_comparison(left, attribute, op, right)

    def string_comparison(
        self,
        left: Operand,
        attribute: Attribute | None,
        op: CmpOp,
        right: Operand | StringLiteral | NumberLiteral | InlineList | ValueListRef,
    ) -> list[tuple[int, int]]:
        fold = _folds(attribute)
        source = _source(left)
        if isinstance(right, ValueListRef):
            value_list = self.lists[right.alias]
            fold = fold and not value_list.case_sensitive
            items = [
                (
                    _normal(item.value, fold),
                    INT64_MAX if item.expires_at is None else item.expires_at,
                )
                for item in value_list.items
            ]
            return self.leaf(
                _STR_IN_SET, CmpOp.EQ, self.string_slot(source, fold), ref=self.string_set(items)
            )
        if isinstance(right, InlineList):
            if all(isinstance(item, NumberLiteral) for item in right.items):
                numbers = [float(item.value) for item in right.items]
                return self.leaf(
                    _STRNUM_IN_SET,
                    CmpOp.EQ,
                    self.string_slot(source, False),
                    ref=self.number_set(numbers),
                )
            texts = [(_normal(str(item.value), fold), INT64_MAX) for item in right.items]
            return self.leaf(
                _STR_IN_SET, CmpOp.EQ, self.string_slot(source, fold), ref=self.string_set(texts)
            )
        if isinstance(right, NumberLiteral) or (
            isinstance(right, StringLiteral) and op.is_ordering
        ):
            number = float(right.value)
            return self.leaf(_STRNUM_CMP_CONST, op, self.string_slot(source, False), number=number)
        if isinstance(right, StringLiteral):
            a = self.string_slot(source, fold)
            ref = self.text(_normal(right.value, fold))
            kind = {CmpOp.INCLUDES: _STR_INCLUDES, CmpOp.LIKE: _STR_LIKE}.get(op, _STR_CMP_CONST)
            return self.leaf(kind, op if kind == _STR_CMP_CONST else CmpOp.EQ, a, ref=ref)
        right_attribute = _attribute(right)
        if right_attribute is not None and right_attribute.value_type.is_numeric:
            return self.leaf(
                _STRNUM_CMP_NUM,
                op,
                self.string_slot(source, False),
                self.numeric_slot(right_attribute.name),
            )
        if op.is_ordering:
            return self.leaf(
                _STRNUM_CMP_STRNUM,
                op,
                self.string_slot(source, False),
                self.string_slot(_source(right), False),
            )
        fold = fold and _folds(right_attribute)
        return self.leaf(
            _STR_CMP_STR, op, self.string_slot(source, fold), self.string_slot(_source(right), fold)
        )


def _source(operand: Operand) -> str:
    return operand.name if isinstance(operand, AttributeRef) else str(operand)


def _attribute(operand: Operand) -> Attribute | None:
    if isinstance(operand, MetadataRef):
        return None
    attribute = lookup(operand.name)
    assert attribute is not None, "the parser only accepts catalogue attributes"
    return attribute


def _folds(attribute: Attribute | None) -> bool:
    return attribute is not None and attribute.value_type is not ValueType.CASE_SENSITIVE_STRING


def _normal(value: str, fold: bool) -> str:
    return value.casefold() if fold else value


def post_authorization(node: Condition) -> bool:
    """Whether the condition reads a post-authorisation attribute (``cvc_check``, ...)."""
    if isinstance(node, And | Or):
        return any(post_authorization(operand) for operand in node.operands)
    if isinstance(node, Not):
        return post_authorization(node.operand)
    if isinstance(node, BooleanAttribute):
        refs: list[object] = [node.attribute]
    elif isinstance(node, IsMissing):
        refs = [node.operand]
    else:
        refs = [node.left, node.right]
    return any(
        isinstance(ref, AttributeRef)
        and bool(getattr(lookup(ref.name), "post_authorization", False))
        for ref in refs
    )


def compile_rules(rules: Sequence[RuleNode], lists: Mapping[str, ValueList]) -> CompiledProgram:
    """Compile ``rules`` (transaction rules; every ``@alias`` must be in ``lists``)."""
    compiler = _Compiler(lists)
    codes = [
        (
            ACTION_CODES[rule.action],
            post_authorization(rule.condition),
            compiler.condition(rule.condition),
        )
        for rule in rules
    ]
    core = _core.RuleProgram(
        len(compiler.numeric),
        len(compiler.string),
        list(compiler.leaves),
        codes,
        list(compiler.strings),
        [list(items) for items in compiler.string_sets],
        [list(items) for items in compiler.number_sets],
    )
    return CompiledProgram(core, tuple(compiler.numeric), tuple(compiler.string))
