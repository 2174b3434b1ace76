"""Rule text to syntax tree: a tokenizer and a recursive-descent parser with Radar's type checks.

Every rejected input raises :class:`radarcore.RuleSyntaxError` with the 0-based position where
the problem starts and a short message saying why.

>>> str(parse_rule("block if :card_country: != :ip_country: and :amount_in_usd: > 500"))
'Block if :card_country: != :ip_country: AND :amount_in_usd: > 500'
>>> str(parse_condition(":email: like 'fraud%@stripe.com' || !(is_missing(::foo::))"))
":email: LIKE 'fraud%@stripe.com' OR NOT is_missing(::foo::)"
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import NoReturn

from radarcore.errors import RuleSyntaxError
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
    Literal,
    MetadataRef,
    Not,
    NumberLiteral,
    Operand,
    Or,
    RuleNode,
    StringLiteral,
    ValueListRef,
)
from radarcore.rules.catalogue import Attribute, ValueType, attribute_names, lookup

__all__ = ["MAX_DEPTH", "MAX_RULE_LENGTH", "METADATA_SCOPES", "parse_condition", "parse_rule"]

MAX_RULE_LENGTH = 5000
"""The longest rule text Stripe accepts (``rule.predicate`` maxLength)."""

MAX_DEPTH = 64
"""How deep parentheses and ``NOT`` may nest (a radarcore limit that keeps parsing bounded)."""

METADATA_SCOPES = ("customer", "destination", "account")

_ACTION = re.compile(
    r"\s*(request\s+3d\s+secure|allow|block|review|resolve\s+dispute)(?=\s|$)", re.IGNORECASE
)
_ACTIONS = {
    "request 3d secure": Action.REQUEST_THREE_D_SECURE,
    "allow": Action.ALLOW,
    "block": Action.BLOCK,
    "review": Action.REVIEW,
    "resolve dispute": Action.RESOLVE_DISPUTE,
}
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ALIAS = re.compile(r"[A-Za-z0-9_\-]+")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_]+")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_STATE = re.compile(r"[A-Za-z0-9]{1,3}")
_SYMBOLS = ("!=", "<=", ">=", "&&", "||", "=", "<", ">", "!", "(", ")", ",")
_KEYWORDS = {"and", "or", "not", "in", "includes", "like", "if", "is_missing"}
_STRING_OPS = (CmpOp.EQ, CmpOp.NE, CmpOp.IN, CmpOp.INCLUDES, CmpOp.LIKE)
_OPS = {op.value.lower(): op for op in CmpOp}

NUMERIC_STRING = re.compile(r"-?[0-9]+(\.[0-9]+)?")
"""How a metadata value must look to compare as a number (also used by the evaluator)."""


@dataclass(frozen=True)
class _Token:
    kind: str  # attr, meta, string, number, list, word, symbol, end
    text: str
    position: int
    value: object = None


class _Parser:
    def __init__(self, text: str, offset: int) -> None:
        self.text = text
        self.tokens = list(self._tokenize(offset))
        self.index = 0
        self.depth = 0

    def fail(self, message: str, position: int) -> NoReturn:
        raise RuleSyntaxError(message, self.text, position)

    # -- tokens --------------------------------------------------------------------------------

    def _tokenize(self, pos: int) -> list[_Token]:
        text, tokens = self.text, []
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                tokens.append(_Token("end", "", pos))
                return tokens
            token = self._token_at(pos)
            tokens.append(token)
            pos += len(token.text)

    def _token_at(self, pos: int) -> _Token:
        text = self.text
        if text.startswith("::", pos):
            end = text.find("::", pos + 2)
            if end < 0:
                self.fail("metadata reference is not closed: write ::key::", pos)
            body = text[pos + 2 : end]
            scope, _, key = body.partition(":")
            if not key or scope not in METADATA_SCOPES:
                scope, key = "", body
            if not key.strip() or "\n" in key:
                self.fail("metadata key is empty or spans lines", pos)
            return _Token("meta", text[pos : end + 2], pos, MetadataRef(scope, key, pos))
        if text[pos] == ":":
            match = _ATTRIBUTE_NAME.match(text, pos + 1)
            end = match.end() if match else pos + 1
            if end >= len(text) or text[end] != ":":
                self.fail("attribute reference is not closed: write :attribute_name:", pos)
            name = text[pos + 1 : end]
            return _Token("attr", text[pos : end + 1], pos, name)
        if text[pos] == "'":
            return self._string(pos)
        if text[pos] == '"':
            self.fail("strings take single quotes: 'value'", pos)
        if text[pos] == "@":
            match = _ALIAS.match(text, pos + 1)
            if match is None:
                self.fail("a list reference needs an alias: @alias", pos)
            if len(match.group()) > 100:
                self.fail("a list alias is at most 100 characters", pos)
            return _Token("list", text[pos : match.end()], pos, match.group())
        number = _NUMBER.match(text, pos)
        if number is not None:
            end = number.end()
            if end < len(text) and (text[end].isalnum() or text[end] in "._"):
                self.fail("malformed number: write digits with an optional decimal part", pos)
            value = float(number.group())
            if math.isinf(value):
                self.fail("number is too large", pos)
            return _Token("number", number.group(), pos, value)
        word = _WORD.match(text, pos)
        if word is not None:
            return _Token("word", word.group(), pos, word.group().lower())
        for symbol in _SYMBOLS:
            if text.startswith(symbol, pos):
                if symbol == "=" and text.startswith("==", pos):
                    self.fail("equality is a single '=': write :attribute: = 'value'", pos)
                return _Token("symbol", symbol, pos, symbol)
        self.fail(f"unexpected character {text[pos]!r}", pos)

    def _string(self, start: int) -> _Token:
        text, pos, chars = self.text, start + 1, []
        while pos < len(text):
            char = text[pos]
            if char == "\\" and pos + 1 < len(text) and text[pos + 1] in "\\'":
                chars.append(text[pos + 1])
                pos += 2
            elif char == "'":
                return _Token("string", text[start : pos + 1], start, "".join(chars))
            else:
                chars.append(char)
                pos += 1
        self.fail("string is not closed: add a closing '", start)

    @property
    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_word(self, *words: str) -> bool:
        return self.peek.kind == "word" and self.peek.value in words

    def at_symbol(self, *symbols: str) -> bool:
        return self.peek.kind == "symbol" and self.peek.value in symbols

    def expect_symbol(self, symbol: str, what: str) -> _Token:
        if not self.at_symbol(symbol):
            self.fail(f"expected {what}, found {self.describe(self.peek)}", self.peek.position)
        return self.advance()

    @staticmethod
    def describe(token: _Token) -> str:
        return "end of rule" if token.kind == "end" else repr(token.text)

    # -- grammar -------------------------------------------------------------------------------

    def condition(self) -> Condition:
        if self.peek.kind == "end":
            self.fail("the condition is empty", self.peek.position)
        node = self.or_expr()
        if self.peek.kind != "end":
            token = self.peek
            if token.kind in ("attr", "meta", "string", "number") or self.at_symbol("("):
                self.fail(f"expected AND or OR before {token.text!r}", token.position)
            self.fail(f"unexpected {self.describe(token)}", token.position)
        return node

    def or_expr(self) -> Condition:
        operands = [self.and_expr()]
        while self.at_word("or") or self.at_symbol("||"):
            self.advance()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self) -> Condition:
        operands = [self.not_expr()]
        while self.at_word("and") or self.at_symbol("&&"):
            self.advance()
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def nest(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"conditions nest at most {MAX_DEPTH} levels deep", position)

    def not_expr(self) -> Condition:
        if self.at_word("not") or self.at_symbol("!"):
            token = self.advance()
            self.nest(token.position)
            node = Not(self.not_expr())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Condition:
        token = self.peek
        if self.at_symbol("("):
            self.advance()
            self.nest(token.position)
            node = self.or_expr()
            self.depth -= 1
            self.expect_symbol(")", "')' to close the '(' at position " + str(token.position))
            return node
        if self.at_word("is_missing"):
            return self.is_missing()
        if token.kind in ("attr", "meta"):
            return self.comparison()
        if token.kind == "end":
            self.fail("the condition ends too early: expected an attribute", token.position)
        if token.kind in ("string", "number"):
            self.fail(
                "a condition starts with an attribute, e.g. :card_country: = 'US'", token.position
            )
        if token.kind == "word" and token.value in _KEYWORDS:
            self.fail(f"expected an attribute before {token.text!r}", token.position)
        if token.kind == "word":
            self.fail(
                f"unknown word {token.text!r}: attributes are written :name:, metadata ::key::",
                token.position,
            )
        self.fail(f"expected an attribute, found {self.describe(token)}", token.position)

    def is_missing(self) -> IsMissing:
        self.advance()
        self.expect_symbol("(", "'(' after is_missing")
        operand = self.operand()
        if isinstance(operand, AttributeRef):
            attribute = self.attribute(operand)
            if attribute.value_type is ValueType.BOOLEAN:
                self.fail(
                    f"{operand} is boolean and never missing (false when not applicable)",
                    operand.position,
                )
        self.expect_symbol(")", "')' to close is_missing(")
        return IsMissing(operand)

    def operand(self) -> Operand:
        token = self.peek
        if token.kind == "attr":
            self.advance()
            ref = AttributeRef(str(token.value), token.position)
            self.attribute(ref)
            return ref
        if token.kind == "meta":
            self.advance()
            value = token.value
            assert isinstance(value, MetadataRef)
            return value
        self.fail(
            f"expected an attribute or metadata, found {self.describe(token)}", token.position
        )

    def attribute(self, ref: AttributeRef) -> Attribute:
        attribute = lookup(ref.name)
        if attribute is None:
            close = difflib.get_close_matches(ref.name.lower(), attribute_names(), n=1)
            hint = f"; did you mean :{close[0]}:?" if close else ""
            self.fail(f"unknown attribute {ref}{hint}", ref.position)
        return attribute

    def comparison(self) -> Condition:
        left = self.operand()
        op_token = self.peek
        op = self.operator()
        left_attr = self.attribute(left) if isinstance(left, AttributeRef) else None
        if op is None:
            if left_attr is not None and left_attr.value_type is ValueType.BOOLEAN:
                assert isinstance(left, AttributeRef)
                return BooleanAttribute(left)
            what = f"{left_attr.value_type.value} attribute" if left_attr else "metadata"
            self.fail(
                f"{left} is a {what}: it needs an operator and a value, e.g. {left} = 'value'"
                if left_attr is None or left_attr.value_type.is_string
                else f"{left} is a {what}: it needs an operator and a value, e.g. {left} > 10",
                op_token.position,
            )
        if left_attr is not None and left_attr.value_type is ValueType.BOOLEAN:
            self.fail(
                f"boolean attributes take no operator or value: write {left} or NOT {left}",
                op_token.position,
            )
        if left_attr is not None:
            self.check_operator(left, left_attr, op, op_token.position)
        right = self.right_side(op)
        self.check_right(left, left_attr, op, right, op_token.position)
        return Comparison(left, op, right)

    def operator(self) -> CmpOp | None:
        token = self.peek
        if token.kind == "symbol" and token.value in _OPS:
            self.advance()
            return _OPS[str(token.value)]
        if token.kind == "word" and token.value in ("in", "includes", "like"):
            self.advance()
            return _OPS[str(token.value)]
        return None

    def check_operator(self, left: Operand, attr: Attribute, op: CmpOp, position: int) -> None:
        kind = attr.value_type
        if kind.is_string and op not in _STRING_OPS:
            self.fail(
                f"{left} is a {_type_word(kind)}: strings allow only =, !=, IN, INCLUDES and "
                f"LIKE, not {op.value}",
                position,
            )
        if kind.is_numeric and op in (CmpOp.INCLUDES, CmpOp.LIKE):
            self.fail(
                f"{left} is numeric: numbers allow =, !=, <, >, <=, >= and IN, not {op.value}",
                position,
            )

    def right_side(self, op: CmpOp) -> Operand | Literal | InlineList | ValueListRef:
        token = self.peek
        if op is CmpOp.IN:
            if token.kind == "list":
                self.advance()
                return ValueListRef(str(token.value), token.position)
            if not self.at_symbol("("):
                self.fail(
                    "IN takes a list: ('a', 'b') or @alias, found " + self.describe(token),
                    token.position,
                )
            self.advance()
            items = [self.literal()]
            while self.at_symbol(","):
                self.advance()
                items.append(self.literal())
            self.expect_symbol(")", "',' or ')' in the list")
            return InlineList(tuple(items), token.position)
        if token.kind == "list":
            self.fail(f"a list can only follow IN, not {op.value}", token.position)
        if op in (CmpOp.INCLUDES, CmpOp.LIKE):
            if token.kind != "string":
                self.fail(
                    f"{op.value} takes a quoted string, found {self.describe(token)}",
                    token.position,
                )
            return self.literal()
        if token.kind in ("attr", "meta"):
            return self.operand()
        if token.kind in ("string", "number", "word"):
            return self.literal()
        if self.at_symbol("("):
            self.fail(f"a parenthesised list can only follow IN, not {op.value}", token.position)
        self.fail(
            f"expected a value after {op.value}, found {self.describe(token)}", token.position
        )

    def literal(self) -> Literal:
        token = self.peek
        if token.kind == "string":
            self.advance()
            return StringLiteral(str(token.value), token.position)
        if token.kind == "number":
            self.advance()
            assert isinstance(token.value, float)
            return NumberLiteral(token.value, token.position)
        if token.kind == "word" and token.value in ("true", "false"):
            self.fail(
                "there are no true/false literals: use the bare attribute or NOT", token.position
            )
        self.fail(
            f"expected a quoted string or a number, found {self.describe(token)}", token.position
        )

    # -- type checks of section 1.3 -------------------------------------------------------------

    def check_right(
        self,
        left: Operand,
        attr: Attribute | None,
        op: CmpOp,
        right: Operand | Literal | InlineList | ValueListRef,
        op_position: int,
    ) -> None:
        if isinstance(right, AttributeRef | MetadataRef):
            self.check_operands(left, attr, op, right, op_position)
        elif isinstance(right, InlineList):
            kinds = {type(item) for item in right.items}
            if len(kinds) > 1:
                self.fail("a list mixes strings and numbers", right.position)
            for item in right.items:
                self.check_literal(left, attr, op, item)
        elif isinstance(right, ValueListRef):
            if attr is not None and attr.value_type.is_numeric:
                self.fail(f"{left} is numeric: value lists hold strings", right.position)
        else:
            self.check_literal(left, attr, op, right)

    def check_operands(
        self, left: Operand, attr: Attribute | None, op: CmpOp, right: Operand, op_position: int
    ) -> None:
        right_attr = self.attribute(right) if isinstance(right, AttributeRef) else None
        if right_attr is not None and right_attr.value_type is ValueType.BOOLEAN:
            self.fail(f"{right} is boolean: booleans take no operator or value", right.position)
        if (
            attr is not None
            and right_attr is not None
            and attr.value_type.is_string != right_attr.value_type.is_string
        ):
            self.fail(
                f"cannot compare {_type_word(attr.value_type)} {left} with "
                f"{_type_word(right_attr.value_type)} {right}",
                right.position,
            )
        string_side = (attr is not None and attr.value_type.is_string) or (
            right_attr is not None and right_attr.value_type.is_string
        )
        if string_side and op not in _STRING_OPS:
            self.fail(
                f"strings allow only =, !=, IN, INCLUDES and LIKE, not {op.value}", op_position
            )

    def check_literal(self, left: Operand, attr: Attribute | None, op: CmpOp, lit: Literal) -> None:
        if attr is None:
            if op.is_ordering and (
                isinstance(lit, StringLiteral) and not NUMERIC_STRING.fullmatch(lit.value)
            ):
                self.fail(
                    f"{op.value} compares metadata as numbers, and {lit} is not a number",
                    lit.position,
                )
            return
        kind = attr.value_type
        if kind.is_numeric and isinstance(lit, StringLiteral):
            self.fail(
                f"numbers must be numbers: {left} is numeric, {lit} is a string", lit.position
            )
        if kind.is_string and isinstance(lit, NumberLiteral):
            self.fail(f"strings must be quoted: {left} is a string, write '{lit}'", lit.position)
        if not isinstance(lit, StringLiteral) or op in (CmpOp.INCLUDES, CmpOp.LIKE):
            return
        if kind is ValueType.COUNTRY and not _COUNTRY.fullmatch(lit.value):
            self.fail(
                f"countries must be 2-letter ISO 3166-1 codes such as 'CA', not {lit}", lit.position
            )
        if kind is ValueType.STATE and not _STATE.fullmatch(lit.value):
            self.fail(
                "states must be ISO 3166-2 codes without the country prefix such as 'CA' or "
                f"'ENG', not {lit}",
                lit.position,
            )
        allowed = attr.allowed_values
        if allowed is not None:
            value = lit.value if attr.case_sensitive else lit.value.casefold()
            if value not in allowed:
                self.fail(
                    f"{lit} is not a value of {left}; expected one of "
                    + ", ".join(f"'{v}'" for v in sorted(allowed)),
                    lit.position,
                )


def _type_word(kind: ValueType) -> str:
    return {
        ValueType.CASE_INSENSITIVE_STRING: "string",
        ValueType.CASE_SENSITIVE_STRING: "case-sensitive string",
        ValueType.COUNTRY: "country",
        ValueType.STATE: "state",
        ValueType.NUMERIC: "numeric",
        ValueType.BOUNDED_NUMERIC: "numeric",
        ValueType.BOOLEAN: "boolean",
    }[kind]


def _check_length(text: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"rule text must be a str, not {type(text).__name__}")
    if len(text) > MAX_RULE_LENGTH:
        raise RuleSyntaxError(
            f"a rule is at most {MAX_RULE_LENGTH} characters, this one has {len(text)}",
            text,
            MAX_RULE_LENGTH,
        )


def parse_condition(text: str) -> Condition:
    """Parse a condition (the part after ``if``; a leading ``if`` is accepted)."""
    _check_length(text)
    parser = _Parser(text, 0)
    if parser.at_word("if"):
        parser.advance()
    return parser.condition()


def parse_rule(text: str) -> RuleNode:
    """Parse ``{action} if {condition}``. Action words and keywords are case-insensitive."""
    _check_length(text)
    match = _ACTION.match(text)
    if match is None:
        start = len(text) - len(text.lstrip())
        if re.match(r"if(?=\s|$)", text[start:], re.IGNORECASE):
            message = "a rule starts with its action: Request 3D Secure, Allow, Block or Review"
        else:
            message = "unknown action: a rule starts with Request 3D Secure, Allow, Block or Review"
        raise RuleSyntaxError(message, text, start)
    action = _ACTIONS[" ".join(match.group(1).lower().split())]
    parser = _Parser(text, match.end())
    if not parser.at_word("if"):
        parser.fail(
            f"expected 'if' after {action.keyword}, found {parser.describe(parser.peek)}",
            parser.peek.position,
        )
    parser.advance()
    return RuleNode(action, parser.condition())
