"""Rules and rule sets: parse, print, evaluate in Radar's order, backtest.

>>> rules = RuleSet.parse('''
... Block if :card_country: != :ip_country: and :amount_in_usd: > 500
... Review if :risk_level: = 'elevated'
... ''')
>>> decision = rules.evaluate_one(
...     {"card_country": "US", "ip_country": "fr", "amount_in_usd": 900.0, "risk_level": "normal"}
... )
>>> decision.action, decision.rule.predicate
('block', ':card_country: != :ip_country: AND :amount_in_usd: > 500')
>>> rules.evaluate_one({"card_country": "US", "amount_in_usd": 900.0}).action is None
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from radarcore.errors import RuleSetError, RuleSyntaxError
from radarcore.rules._columns import payment_inputs
from radarcore.rules.ast import (
    Action,
    And,
    AttributeRef,
    Comparison,
    Condition,
    Not,
    Or,
    RuleNode,
    ValueListRef,
)
from radarcore.rules.catalogue import lookup
from radarcore.rules.compile import INT64_MIN, CompiledProgram, compile_rules, post_authorization
from radarcore.rules.lists import DEFAULT_LIST_KINDS, ValueList, default_lists
from radarcore.rules.parser import parse_rule

if TYPE_CHECKING:
    from radarcore.models.bundle import RiskModel
    from radarcore.rules.backtest import Backtest, RuleBacktest

__all__ = [
    "ACTION_NAMES",
    "MAX_RULES",
    "BatchDecision",
    "Decision",
    "ObjectKind",
    "Rule",
    "RuleSet",
    "default_rules",
    "object_code",
]

MAX_RULES = 200
"""Transaction rules per rule set (Stripe's per-account limit)."""

ObjectKind = Literal["charge", "payment_intent", "setup_intent"]
_OBJECTS: dict[str, int] = {"charge": 0, "payment_intent": 1, "setup_intent": 2}

ACTION_NAMES: tuple[str | None, ...] = (None, "allow", "block", "review")
"""Batch action codes: 0 none, 1 allow, 2 block, 3 review."""


class Rule:
    """One rule, ``{action} if {condition}``.

    ``id`` defaults to a stable id derived from the canonical text; ``predicate`` is the
    condition in canonical form (what Stripe reports as ``outcome.rule.predicate``) and
    ``str(rule)`` the whole rule in canonical form.
    """

    __slots__ = ("_predicate", "id", "node", "text")

    def __init__(self, node: RuleNode, *, id: str | None = None, text: str | None = None) -> None:
        if not isinstance(node, RuleNode):
            raise TypeError(f"node must be a RuleNode, not {type(node).__name__}")
        if id is not None and (not isinstance(id, str) or not id or len(id) > 5000):
            raise RuleSetError("a rule id is a non-empty string of at most 5000 characters")
        self.node = node
        # Rendered once: the engine reports it on every payment the rule decides.
        self._predicate = str(node.condition)
        self.text = str(node) if text is None else text
        digest = hashlib.sha256(str(node).encode()).hexdigest()[:16]
        self.id = f"rule_{digest}" if id is None else id

    @classmethod
    def parse(cls, text: str, *, id: str | None = None) -> Rule:
        """Parse one rule; raises :class:`radarcore.RuleSyntaxError` with a position."""
        return cls(parse_rule(text), id=id, text=text)

    @property
    def action(self) -> Action:
        """The rule's action."""
        return self.node.action

    @property
    def condition(self) -> Condition:
        """The rule's condition (syntax tree)."""
        return self.node.condition

    @property
    def predicate(self) -> str:
        """The condition in canonical form."""
        return self._predicate

    @property
    def post_authorization(self) -> bool:
        """Whether the rule reads ``cvc_check``, ``address_zip_check`` or ``address_line1_check``
        (such rules run after the others of their action)."""
        return post_authorization(self.node.condition)

    def list_references(self) -> list[tuple[ValueListRef, AttributeRef | None]]:
        """Every ``@alias`` the rule reads, with the attribute it is compared with."""
        found: list[tuple[ValueListRef, AttributeRef | None]] = []
        stack: list[Condition] = [self.node.condition]
        while stack:
            node = stack.pop()
            if isinstance(node, And | Or):
                stack.extend(node.operands)
            elif isinstance(node, Not):
                stack.append(node.operand)
            elif isinstance(node, Comparison) and isinstance(node.right, ValueListRef):
                left = node.left if isinstance(node.left, AttributeRef) else None
                found.append((node.right, left))
        return found

    def backtest(
        self,
        history: Any,
        *,
        lists: Iterable[ValueList] = (),
        object: ObjectKind = "payment_intent",
        model: RiskModel | None = None,
    ) -> RuleBacktest:
        """Backtest this rule alone (see :meth:`RuleSet.backtest`)."""
        rule_set = RuleSet([self], lists=lists)
        return rule_set.backtest(history, object=object, model=model).rules[0]

    def __str__(self) -> str:
        return str(self.node)

    def __repr__(self) -> str:
        return f"Rule({str(self.node)!r}, id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Rule) and (self.id, self.node) == (other.id, other.node)

    def __hash__(self) -> int:
        return hash((self.id, self.node))


@dataclass(frozen=True)
class Decision:
    """What a rule set decides for one payment.

    ``action`` comes from the allow/block/review rules (``None`` when none matched) and ``rule``
    is the rule that decided; ``request_three_d_secure`` is set when a Request 3D Secure rule
    matched (``three_d_secure_rule``), independently of ``action``.
    """

    action: Literal["allow", "block", "review"] | None
    rule: Rule | None
    request_three_d_secure: bool
    three_d_secure_rule: Rule | None


@dataclass(frozen=True)
class BatchDecision:
    """Decisions for a batch: ``actions`` (int8 codes, see :data:`ACTION_NAMES`), ``rules``
    (int32 index into ``rule_set.rules``, -1 for none), ``request_three_d_secure`` (bool) and
    ``three_d_secure_rules`` (int32, -1 for none)."""

    rule_set: RuleSet
    actions: npt.NDArray[np.int8]
    rules: npt.NDArray[np.int32]
    request_three_d_secure: npt.NDArray[np.bool_]
    three_d_secure_rules: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.actions)

    def __getitem__(self, index: int) -> Decision:
        rules = self.rule_set.rules
        rule, tds_rule = int(self.rules[index]), int(self.three_d_secure_rules[index])
        return Decision(
            ACTION_NAMES[int(self.actions[index])],  # type: ignore[arg-type]
            rules[rule] if rule >= 0 else None,
            bool(self.request_three_d_secure[index]),
            rules[tds_rule] if tds_rule >= 0 else None,
        )

    def action_names(self) -> npt.NDArray[np.object_]:
        """The actions as strings (``None`` where no rule decided)."""
        return np.array(ACTION_NAMES, dtype=object)[self.actions]


def default_rules() -> list[Rule]:
    """Radar's built-in rules: the default list rules (section 3.2, allow and block for each
    default list) then ``Block if :risk_level: = 'highest'`` and
    ``Review if :risk_level: = 'elevated'`` with Stripe's observed ids."""
    rules = []
    for kind, (_, attribute) in sorted(DEFAULT_LIST_KINDS.items()):
        for verb in ("allow", "block"):
            rules.append(
                Rule.parse(
                    f"{verb.title()} if :{attribute}: IN @default_{kind}_{verb}_list",
                    id=f"{verb}_if_in_default_{kind}_{verb}_list",
                )
            )
    rules.append(Rule.parse("Block if :risk_level: = 'highest'", id="block_if_high_risk"))
    rules.append(
        Rule.parse("Review if :risk_level: = 'elevated'", id="manual_review_if_elevated_risk")
    )
    return rules


class RuleSet:
    """An ordered set of transaction rules and the value lists they read, compiled once.

    Radar's order: every Request 3D Secure rule is evaluated; then Allow, Block and Review rules
    in that priority, the first match deciding. Within an action, rules run in the order given,
    rules reading post-authorisation attributes after the others. Charges run no Request 3D
    Secure rules and SetupIntents no Review rules. The lists are read when the set is built:
    build a new set after changing them.
    """

    def __init__(
        self,
        rules: Iterable[Rule | str],
        *,
        lists: Iterable[ValueList] | Mapping[str, ValueList] = (),
    ) -> None:
        self._rules = tuple(r if isinstance(r, Rule) else Rule.parse(r) for r in rules)
        values = lists.values() if isinstance(lists, Mapping) else lists
        self._lists: dict[str, ValueList] = {}
        for value_list in values:
            if value_list.alias in self._lists:
                raise RuleSetError(f"two lists share the alias @{value_list.alias}")
            self._lists[value_list.alias] = value_list
        if len(self._rules) > MAX_RULES:
            raise RuleSetError(
                f"a rule set holds at most {MAX_RULES} rules, got {len(self._rules)}"
            )
        seen: set[str] = set()
        for rule in self._rules:
            if rule.id in seen:
                raise RuleSetError(f"two rules share the id {rule.id!r}")
            seen.add(rule.id)
            if rule.action is Action.RESOLVE_DISPUTE:
                raise RuleSetError(
                    f"{rule.id}: Resolve dispute rules act on disputes, not on payments"
                )
            self._check_lists(rule)
        self._program: CompiledProgram = compile_rules([r.node for r in self._rules], self._lists)
        # Decisions are immutable and few (an action, a rule, 3D Secure): each made once.
        self._decisions: dict[tuple[int, int, bool, int], Decision] = {}

    def _check_lists(self, rule: Rule) -> None:
        for ref, attribute_ref in rule.list_references():
            value_list = self._lists.get(ref.alias)
            if value_list is None:
                raise RuleSyntaxError(f"unknown list @{ref.alias}", rule.text, ref.position)
            attribute = lookup(attribute_ref.name) if attribute_ref is not None else None
            if not value_list.accepts(attribute):
                raise RuleSyntaxError(
                    f"list @{ref.alias} holds {value_list.item_type} items and cannot be "
                    f"compared with {attribute_ref}",
                    rule.text,
                    ref.position,
                )

    @classmethod
    def parse(
        cls, text: str, *, lists: Iterable[ValueList] | Mapping[str, ValueList] = ()
    ) -> RuleSet:
        """One rule per line; blank lines and lines starting with ``#`` are skipped. Errors
        name the line and carry the position in the whole text."""
        rules, offset = [], 0
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip() and not line.lstrip().startswith("#"):
                try:
                    rules.append(Rule.parse(line))
                except RuleSyntaxError as error:
                    raise RuleSyntaxError(
                        f"line {number}: {error.message}", text, offset + error.position
                    ) from None
            offset += len(line) + 1
        return cls(rules, lists=lists)

    @classmethod
    def default(
        cls,
        rules: Iterable[Rule | str] = (),
        *,
        lists: Iterable[ValueList] | Mapping[str, ValueList] | None = None,
    ) -> RuleSet:
        """``rules`` followed by :func:`default_rules`, with ``lists`` added to the (empty)
        :func:`default_lists`; a given list with a default alias takes that list's place."""
        given = list(lists.values() if isinstance(lists, Mapping) else lists or ())
        aliases = {v.alias for v in given}
        all_lists = given + [v for v in default_lists() if v.alias not in aliases]
        return cls([*rules, *default_rules()], lists=all_lists)

    @property
    def program(self) -> CompiledProgram:
        """The compiled program (its core object and input slots)."""
        return self._program

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules, in the order given."""
        return self._rules

    @property
    def lists(self) -> Mapping[str, ValueList]:
        """The value lists by alias."""
        return dict(self._lists)

    def __len__(self) -> int:
        return len(self._rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules)

    def __str__(self) -> str:
        return "\n".join(str(rule) for rule in self._rules)

    def __repr__(self) -> str:
        return f"RuleSet({len(self._rules)} rules, {len(self._lists)} lists)"

    def evaluate_one(
        self,
        attributes: Mapping[str, object],
        *,
        object: ObjectKind = "payment_intent",
        at: int | None = None,
    ) -> Decision:
        """Decide one payment.

        ``attributes`` maps attribute names (``"amount_in_usd"``) and metadata references as
        written in rules (``"::Customer Age::"``, ``"::customer:Trusted::"``) to values: numbers
        (``None`` or NaN when missing), ``bool`` for boolean attributes (``None`` reads as false)
        and ``str`` (``None`` when missing). Absent names are missing. ``at`` (Unix seconds) is
        the time for list-item expiry; ``None`` ignores expiry.
        """
        numeric, strings = payment_inputs(self._program, attributes)
        return self.decision(
            *self._program.core.evaluate_one(numeric, strings, object_code(object), _at(at))
        )

    def decision(self, verdict: int, rule: int, tds: bool, tds_rule: int) -> Decision:
        """The :class:`Decision` of what the compiled program returns for one payment (action
        code, deciding rule index or -1, 3D Secure requested, its rule index or -1)."""
        key = (verdict, rule, tds, tds_rule)
        made = self._decisions.get(key)
        if made is None:
            made = self._decisions[key] = Decision(
                ACTION_NAMES[verdict],  # type: ignore[arg-type]
                self._rules[rule] if rule >= 0 else None,
                tds,
                self._rules[tds_rule] if tds_rule >= 0 else None,
            )
        return made

    def evaluate_many(
        self, columns: Any, *, object: ObjectKind = "payment_intent", at: int | None = None
    ) -> BatchDecision:
        """Decide a batch of payments given as columns.

        ``columns`` is a mapping of name to column (numpy float64 with NaN for missing numbers,
        numpy bool for booleans, str/object arrays with ``None`` for missing strings, pyarrow
        or pandas columns) or a pandas/polars DataFrame or pyarrow Table. Names are those of
        :meth:`evaluate_one`; an absent column is missing on every row.
        """
        verdict, rule, tds, tds_rule, _ = self._program.core.evaluate_many(
            *self._program.encode(columns), object_code(object), _at(at), False
        )
        return BatchDecision(self, verdict, rule, tds, tds_rule)

    def matches(
        self, columns: Any, *, object: ObjectKind = "payment_intent", at: int | None = None
    ) -> tuple[BatchDecision, npt.NDArray[np.bool_]]:
        """:meth:`evaluate_many` plus a (rules, rows) boolean matrix: where each rule's
        condition holds, whatever decided the payment."""
        verdict, rule, tds, tds_rule, matched = self._program.core.evaluate_many(
            *self._program.encode(columns), object_code(object), _at(at), True
        )
        assert matched is not None
        return BatchDecision(self, verdict, rule, tds, tds_rule), matched

    def backtest(
        self,
        history: Any,
        *,
        object: ObjectKind = "payment_intent",
        model: RiskModel | None = None,
    ) -> Backtest:
        """What these rules would have done on past payments (see
        :func:`radarcore.rules.backtest.backtest` for the column contract; with ``model``,
        ``history`` is payment events scored by batch scoring)."""
        from radarcore.rules.backtest import backtest

        return backtest(self, history, object=object, model=model)


def object_code(object: str) -> int:
    """The program's code of a Radar object kind (``ValueError`` for another name)."""
    code = _OBJECTS.get(object)
    if code is None:
        raise ValueError(f"object must be one of {', '.join(map(repr, _OBJECTS))}, not {object!r}")
    return code


def _at(at: int | None) -> int:
    if at is None:
        return INT64_MIN
    if isinstance(at, bool) or not isinstance(at, int | np.integer):
        raise TypeError(f"at must be Unix seconds as an int, not {type(at).__name__}")
    return int(at)
