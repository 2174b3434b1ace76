"""Backtests: what a rule set would have matched and decided on labelled past payments.

Column contract of ``history`` (a mapping of columns, pandas/polars DataFrame or pyarrow Table),
besides the attribute columns the rules read (as in :meth:`RuleSet.evaluate_many`):

* ``amount`` (integer, minor units) and ``currency`` (3-letter code), or ``amount_in_usd``
  (major units, used when ``amount`` is absent and reported as ``usd`` cents);
* ``outcome_type``: Stripe's outcome, ``authorized``, ``manual_review``, ``issuer_declined`` or
  ``blocked`` (``invalid`` and missing are accepted);
* ``is_disputed``, ``has_early_fraud_warning``, ``refunded_as_fraud``, ``is_refunded``: booleans
  (missing reads as false).

Every payment falls in exactly one category, the first that applies: ``fraudulent`` (disputed,
early fraud warning, or refunded as fraud), ``already_blocked`` (``outcome_type == 'blocked'``),
``other_refunds`` (refunded for another reason), ``rest``. Amounts are integer totals in minor
units per (lower-case) currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from radarcore.errors import SchemaError
from radarcore.rules._columns import column_names, is_text, table_column, to_arrow

if TYPE_CHECKING:
    from radarcore.models.bundle import RiskModel
    from radarcore.rules.ruleset import ObjectKind, Rule, RuleSet

__all__ = ["CATEGORIES", "Backtest", "Categories", "RuleBacktest", "Tally", "backtest"]

CATEGORIES = ("fraudulent", "other_refunds", "already_blocked", "rest")
_LABELS = ("is_disputed", "has_early_fraud_warning", "refunded_as_fraud", "is_refunded")


@dataclass(frozen=True)
class Tally:
    """How many payments, and their amounts per currency (minor units)."""

    count: int
    amount: dict[str, int]


@dataclass(frozen=True)
class Categories:
    """One :class:`Tally` per category."""

    fraudulent: Tally
    other_refunds: Tally
    already_blocked: Tally
    rest: Tally

    @property
    def count(self) -> int:
        """Payments in all four categories."""
        return sum(getattr(self, name).count for name in CATEGORIES)


@dataclass(frozen=True)
class RuleBacktest:
    """``matched``: payments where the rule's condition holds; ``decided``: payments this rule
    would have decided (Request 3D Secure rules: the first 3DS rule that matched)."""

    rule: Rule
    matched: Categories
    decided: Categories


@dataclass(frozen=True)
class Backtest:
    """A rule set's backtest: all payments, payments per resulting action (``allow``,
    ``block``, ``review``, ``request_three_d_secure``) and one entry per rule."""

    payments: Categories
    by_action: dict[str, Categories]
    rules: tuple[RuleBacktest, ...]


class _History:
    def __init__(self, history: Any) -> None:
        names = set(column_names(history))
        missing = [name for name in ("outcome_type", *_LABELS) if name not in names]
        if "amount" not in names and "amount_in_usd" not in names:
            missing.append("amount (or amount_in_usd)")
        if "amount" in names and "currency" not in names:
            missing.append("currency")
        if missing:
            raise SchemaError(f"backtest history lacks the columns: {', '.join(missing)}")
        labels = {name: self._flag(history, name) for name in _LABELS}
        outcome = to_arrow(table_column(history, "outcome_type"), "outcome_type")
        if not (is_text(outcome.type) or pa.types.is_null(outcome.type)):
            raise SchemaError(f"column 'outcome_type' must hold strings, got {outcome.type}")
        blocked = (
            np.asarray(
                pc.fill_null(pc.equal(outcome, "blocked"), False).to_numpy(zero_copy_only=False),
                dtype=bool,
            )
            if not pa.types.is_null(outcome.type)
            else np.zeros(len(outcome), dtype=bool)
        )
        fraud = (
            labels["is_disputed"] | labels["has_early_fraud_warning"] | labels["refunded_as_fraud"]
        )
        category = np.full(len(blocked), 3, dtype=np.int8)
        category[blocked] = 2
        category[labels["is_refunded"] & ~blocked] = 1
        category[fraud] = 0
        self.category = category
        self.amount, self.currency, self.currencies = self._amounts(history, names)

    @staticmethod
    def _flag(history: Any, name: str) -> npt.NDArray[np.bool_]:
        array = to_arrow(table_column(history, name), name)
        if pa.types.is_null(array.type):
            return np.zeros(len(array), dtype=bool)
        if not pa.types.is_boolean(array.type):
            raise SchemaError(f"column {name!r} must be boolean, got {array.type}")
        return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)

    @staticmethod
    def _amounts(
        history: Any, names: set[str]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], list[str]]:
        if "amount" in names:
            amount = to_arrow(table_column(history, "amount"), "amount")
            if not pa.types.is_integer(amount.type):
                raise SchemaError(
                    f"column 'amount' must hold integers (minor units), got {amount.type}"
                )
            currency = to_arrow(table_column(history, "currency"), "currency")
            if not is_text(currency.type):
                raise SchemaError(f"column 'currency' must hold strings, got {currency.type}")
            encoded = pc.dictionary_encode(pc.utf8_lower(currency))
            codes = pc.fill_null(pc.cast(encoded.indices, pa.int32()), -1)
            values = pc.fill_null(amount, 0).to_numpy(zero_copy_only=False).astype(np.int64)
            return values, codes.to_numpy(zero_copy_only=False), encoded.dictionary.to_pylist()
        usd = to_arrow(table_column(history, "amount_in_usd"), "amount_in_usd")
        if not (pa.types.is_floating(usd.type) or pa.types.is_integer(usd.type)):
            raise SchemaError(f"column 'amount_in_usd' must be numeric, got {usd.type}")
        cents = np.round(
            pc.fill_null(pc.cast(usd, pa.float64()), 0.0).to_numpy(zero_copy_only=False) * 100
        )
        return cents.astype(np.int64), np.zeros(len(cents), dtype=np.int32), ["usd"]

    def categories(self, mask: npt.NDArray[np.bool_]) -> Categories:
        tallies = []
        for code in range(len(CATEGORIES)):
            selected = mask & (self.category == code)
            sums = np.zeros(len(self.currencies), dtype=np.int64)
            currency = self.currency[selected]
            known = currency >= 0
            np.add.at(sums, currency[known], self.amount[selected][known])
            amount = {c: int(s) for c, s in zip(self.currencies, sums, strict=True) if s != 0}
            tallies.append(Tally(int(selected.sum()), amount))
        return Categories(*tallies)


def backtest(
    rule_set: RuleSet,
    history: Any,
    *,
    object: ObjectKind = "payment_intent",
    model: RiskModel | None = None,
) -> Backtest:
    """Backtest ``rule_set`` on ``history`` (see the module docstring for the columns).

    With ``model``, ``history`` holds payment events (:mod:`radarcore.events`) plus the label
    columns, and the attributes the rules read are computed by batch scoring
    (:func:`radarcore.batch.rule_attributes`: velocity replayed in ``created`` order,
    ``risk_score`` and ``risk_level`` from ``model``), exactly as ``score_table`` decides."""
    labelled = _History(history)
    columns = history
    if model is not None:
        from radarcore.batch import rule_attributes

        columns = rule_attributes(history, model=model, rules=rule_set)
    decision, matched = rule_set.matches(columns, object=object)
    rows = np.arange(len(decision))
    rules = []
    for index, rule in enumerate(rule_set.rules):
        decided = (decision.rules == index) | (decision.three_d_secure_rules == index)
        rules.append(
            RuleBacktest(rule, labelled.categories(matched[index]), labelled.categories(decided))
        )
    by_action = {
        name: labelled.categories(decision.actions == code)
        for code, name in ((1, "allow"), (2, "block"), (3, "review"))
    }
    by_action["request_three_d_secure"] = labelled.categories(decision.request_three_d_secure)
    return Backtest(labelled.categories(rows >= 0), by_action, tuple(rules))
