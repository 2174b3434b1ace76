"""Radar's rules language: parser, attribute catalogue, value lists, compiled evaluation and
backtests."""

from __future__ import annotations

from radarcore.rules.ast import Action, CmpOp, Condition, RuleNode
from radarcore.rules.backtest import Backtest, Categories, RuleBacktest, Tally
from radarcore.rules.catalogue import ATTRIBUTES, Attribute, ValueType, attribute_names, lookup
from radarcore.rules.lists import ITEM_TYPES, ValueList, ValueListItem, default_lists
from radarcore.rules.parser import parse_condition, parse_rule
from radarcore.rules.ruleset import (
    ACTION_NAMES,
    BatchDecision,
    Decision,
    Rule,
    RuleSet,
    default_rules,
)

__all__ = [
    "ACTION_NAMES",
    "ATTRIBUTES",
    "ITEM_TYPES",
    "Action",
    "Attribute",
    "Backtest",
    "BatchDecision",
    "Categories",
    "CmpOp",
    "Condition",
    "Decision",
    "Rule",
    "RuleBacktest",
    "RuleNode",
    "RuleSet",
    "Tally",
    "ValueList",
    "ValueListItem",
    "ValueType",
    "attribute_names",
    "default_lists",
    "default_rules",
    "lookup",
    "parse_condition",
    "parse_rule",
]
