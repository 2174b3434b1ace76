"""Benchmark: Radar rule sets evaluated by radarcore against pandas/numpy expressions.

Two workloads, seeded:
* batch: a 200-rule set (a realistic mix of numeric thresholds, string equality and IN, lists,
  LIKE/INCLUDES, attribute-to-attribute comparisons, booleans and metadata) over 1,000,000
  payments;
* single: a 50-rule set deciding one payment at a time.

The baseline is what a data scientist would write instead: the same rules as vectorised
pandas/numpy expressions (with Radar's missing-value logic, so both give the same decisions, which
the benchmark checks). Run ``python bench/bench_rules.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import radarcore
from radarcore import RuleSet, ValueList
from radarcore.rules import ACTION_NAMES
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
    Or,
    StringLiteral,
    ValueListRef,
)
from radarcore.rules.catalogue import ValueType, lookup
from radarcore.rules.compile import INT64_MIN
from radarcore.rules.ruleset import Rule

COUNTRIES = ["US", "GB", "FR", "DE", "CA", "BR", "IN", "NG", "CN", "JP", "MX", "ES", "IT", "NL"]
DOMAINS = [f"domain{i}.com" for i in range(300)] + ["gmail.com", "fraud.net", "yahoo.com"]
LEVELS = ["normal", "normal", "normal", "elevated", "highest"]
BRANDS = ["visa", "mc", "amex", "dscvr"]
FUNDING = ["credit", "debit", "prepaid", "unknown"]
NUMERIC = {
    "amount_in_usd": (1.0, 3000.0),
    "risk_score": (0.0, 100.0),
    "card_count_for_email_daily": (0.0, 25.0),
    "total_charges_per_card_number_hourly": (0.0, 30.0),
    "distance_between_ip_and_billing_address": (0.0, 5000.0),
}


def _with_missing(rng: np.random.Generator, values: np.ndarray, rate: float) -> np.ndarray:
    out = values.astype(object)
    out[rng.random(len(values)) < rate] = None
    return out


def payments(rows: int, seed: int) -> dict[str, Any]:
    """Synthetic payments: numbers with NaN, strings with None, booleans."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for name, (low, high) in NUMERIC.items():
        values = np.round(rng.uniform(low, high, rows), 2)
        values[rng.random(rows) < 0.03] = np.nan
        columns[name] = values
    columns["card_country"] = _with_missing(rng, rng.choice(COUNTRIES, rows), 0.02)
    columns["ip_country"] = _with_missing(rng, rng.choice([*COUNTRIES, "us", "gb"], rows), 0.05)
    domains = rng.choice(DOMAINS, rows)
    users = rng.integers(0, 20_000, rows)
    emails = np.char.add(np.char.add(np.char.add("user", users.astype(str)), "@"), domains)
    columns["email"] = _with_missing(rng, emails, 0.05)
    columns["email_domain"] = _with_missing(rng, domains, 0.05)
    columns["risk_level"] = rng.choice(LEVELS, rows).astype(object)
    columns["card_brand"] = rng.choice(BRANDS, rows).astype(object)
    columns["card_funding"] = rng.choice(FUNDING, rows).astype(object)
    columns["card_fingerprint"] = np.char.add("fp", rng.integers(0, 50_000, rows).astype(str))
    columns["card_fingerprint"] = columns["card_fingerprint"].astype(object)
    columns["is_anonymous_ip"] = rng.random(rows) < 0.05
    columns["is_3d_secure"] = rng.random(rows) < 0.3
    trusted = rng.choice(np.array(["true", "false"], dtype=object), rows)
    columns["::customer:Trusted::"] = _with_missing(rng, trusted, 0.7)
    return columns


def value_lists() -> list[ValueList]:
    return [
        ValueList("blocked_domains", items=DOMAINS[:40]),
        ValueList("risky_countries", item_type="country", items=["NG", "BR", "IN"]),
        ValueList(
            "blocked_cards",
            item_type="card_fingerprint",
            items=[f"fp{i}" for i in range(0, 50_000, 97)],
        ),
    ]


def _leaf(rng: np.random.Generator) -> str:
    kind = rng.choice(
        ["num", "num", "num", "num", "eq", "eq", "in", "list", "like", "attr", "bool", "meta"]
    )
    if kind == "num":
        name = str(rng.choice(list(NUMERIC)))
        low, high = NUMERIC[name]
        op = str(rng.choice(["<", ">", "<=", ">=", "!="]))
        return f":{name}: {op} {round(float(rng.uniform(low, high)), 2)}"
    if kind == "eq":
        name, values = [
            ("risk_level", LEVELS),
            ("card_brand", BRANDS),
            ("card_funding", FUNDING),
            ("card_country", COUNTRIES),
            ("email_domain", DOMAINS),
        ][rng.integers(0, 5)]
        return f":{name}: {rng.choice(['=', '!='])} '{rng.choice(values)}'"
    if kind == "in":
        picked = ", ".join(f"'{c}'" for c in rng.choice(COUNTRIES, 3, replace=False))
        return f":{rng.choice(['card_country', 'ip_country'])}: IN ({picked})"
    if kind == "list":
        return str(
            rng.choice(
                [
                    ":email_domain: IN @blocked_domains",
                    ":ip_country: IN @risky_countries",
                    ":card_fingerprint: IN @blocked_cards",
                ]
            )
        )
    if kind == "like":
        return str(
            rng.choice(
                [
                    f":email: LIKE 'user{rng.integers(0, 99)}%'",
                    ":email: LIKE '%@fraud.net'",
                    f":email: INCLUDES '{rng.integers(0, 999)}@'",
                ]
            )
        )
    if kind == "attr":
        return ":card_country: != :ip_country:"
    if kind == "bool":
        return str(rng.choice([":is_anonymous_ip:", "NOT :is_3d_secure:"]))
    return "::customer:Trusted:: = 'true'"


def _rare(rng: np.random.Generator) -> str:
    """A numeric threshold in the tail (a few percent of payments), as real rules have."""
    name = str(rng.choice(list(NUMERIC)))
    low, high = NUMERIC[name]
    tail = float(rng.uniform(0.0, 0.01)) * (high - low)
    if rng.random() < 0.7:
        return f":{name}: {rng.choice(['>', '>='])} {round(high - tail, 2)}"
    return f":{name}: {rng.choice(['<', '<='])} {round(low + tail, 2)}"


def rule_texts(count: int, seed: int) -> list[str]:
    """`count` distinct rules, each a rare threshold AND-ed with up to two leaves of the mix,
    so most payments match no rule and run through the whole set."""
    rng = np.random.default_rng(seed)
    actions = ["Block"] * 5 + ["Review"] * 3 + ["Allow", "Request 3D Secure"]
    texts: list[str] = []
    while len(texts) < count:
        others = [_leaf(rng) for _ in range(rng.integers(0, 3))]
        if len(others) == 2:
            others = [f"({others[0]} {rng.choice(['AND', 'OR'])} {others[1]})"]
        leaves = [*others, _rare(rng)] if rng.random() < 0.5 else [_rare(rng), *others]
        condition = " AND ".join(leaves)
        if rng.random() < 0.1:
            condition = f"NOT (NOT ({condition}))"
        action = str(rng.choice(actions))
        if action == "Allow":
            condition = f"({condition}) AND :risk_score: < 5"
        text = f"{action} if {condition}"
        if text not in texts:
            texts.append(text)
    return texts


class PandasRules:
    """The baseline: each rule as pandas/numpy expressions over a DataFrame, with Radar's
    missing-value logic as (definitely true, definitely false) masks."""

    def __init__(self, rule_set: RuleSet) -> None:
        self.rule_set = rule_set
        self.lists = rule_set.lists

    def _column(self, df: pd.DataFrame, name: str, fold: bool) -> pd.Series:
        key = (name, fold)
        if key not in self.cache:
            series = df[name] if name in df else pd.Series([None] * len(df), dtype=object)
            self.cache[key] = series.str.casefold() if fold else series
        return self.cache[key]

    def _numeric(self, df: pd.DataFrame, name: str) -> np.ndarray:
        return df[name].to_numpy(dtype=float, na_value=np.nan)

    def _tf(self, r: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return known & r, known & ~r

    def leaf(self, node: Condition, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(node, BooleanAttribute):
            values = df[node.attribute.name].to_numpy(dtype=bool)
            return values, ~values
        if isinstance(node, IsMissing):
            assert isinstance(node.operand, AttributeRef)
            missing = df[node.operand.name].isna().to_numpy()
            return missing, ~missing
        assert isinstance(node, Comparison)
        left, op, right = node.left, node.op, node.right
        ops: dict[CmpOp, Callable[[Any, Any], Any]] = {
            CmpOp.EQ: np.equal,
            CmpOp.NE: np.not_equal,
            CmpOp.LT: np.less,
            CmpOp.GT: np.greater,
            CmpOp.LE: np.less_equal,
            CmpOp.GE: np.greater_equal,
        }
        if isinstance(left, MetadataRef):
            s = self._column(df, str(left), False)
            assert isinstance(right, StringLiteral)
            return self._tf((s == right.value).to_numpy(), s.notna().to_numpy())
        attribute = lookup(left.name)
        assert attribute is not None
        if attribute.value_type.is_numeric:
            x = self._numeric(df, left.name)
            assert isinstance(right, NumberLiteral)
            return self._tf(ops[op](x, right.value), ~np.isnan(x))
        fold = attribute.value_type is not ValueType.CASE_SENSITIVE_STRING
        s = self._column(df, left.name, fold)
        known = s.notna().to_numpy()
        if isinstance(right, AttributeRef):
            other = self._column(df, right.name, fold)
            equal = (s == other).to_numpy()
            known = known & other.notna().to_numpy()
            return self._tf(equal if op is CmpOp.EQ else ~equal, known)
        if isinstance(right, ValueListRef):
            value_list = self.lists[right.alias]
            fold = fold and not value_list.case_sensitive
            items = {i.value.casefold() if fold else i.value for i in value_list.items}
            return self._tf(s.isin(items).to_numpy(), known)
        if isinstance(right, InlineList):
            items = {str(i.value).casefold() for i in right.items}
            return self._tf(s.isin(items).to_numpy(), known)
        assert isinstance(right, StringLiteral)
        literal = right.value.casefold() if fold else right.value
        if op is CmpOp.LIKE:
            regex = ".*".join(re.escape(p) for p in literal.split("%"))
            hit = s.str.fullmatch(regex, flags=re.DOTALL).fillna(False).to_numpy(dtype=bool)
            return self._tf(hit, known)
        if op is CmpOp.INCLUDES:
            hit = s.str.contains(literal, regex=False).fillna(False).to_numpy(dtype=bool)
            return self._tf(hit, known)
        equal = (s == literal).to_numpy()
        return self._tf(equal if op is CmpOp.EQ else ~equal, known)

    def condition(self, node: Condition, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(node, Not):
            t, f = self.condition(node.operand, df)
            return f, t
        if isinstance(node, And | Or):
            t, f = self.condition(node.operands[0], df)
            for operand in node.operands[1:]:
                t2, f2 = self.condition(operand, df)
                t, f = (t & t2, f | f2) if isinstance(node, And) else (t | t2, f & f2)
            return t, f
        return self.leaf(node, df)

    def evaluate(self, df: pd.DataFrame) -> np.ndarray:
        """Action codes (0 none, 1 allow, 2 block, 3 review) in Radar's order."""
        self.cache: dict[tuple[str, bool], pd.Series] = {}
        actions = np.zeros(len(df), dtype=np.int8)
        rules: list[Rule] = list(self.rule_set.rules)
        for code, action in ((1, Action.ALLOW), (2, Action.BLOCK), (3, Action.REVIEW)):
            group = [r for r in rules if r.action is action]
            for rule in sorted(group, key=lambda r: r.post_authorization):
                matched, _ = self.condition(rule.condition, df)
                actions[(actions == 0) & matched] = code
        return actions


def _timed(function: Callable[[], object], repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (process) seconds per run; on a shared machine the CPU time is the
    steadier measure of a single-threaded kernel."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def _p99(values: list[float]) -> float:
    return float(np.percentile(values, 99))


def batch_benchmark(rows: int, rule_count: int, repeats: int) -> list[tuple[str, ...]]:
    columns = payments(rows, seed=1)
    rule_set = RuleSet(rule_texts(rule_count, seed=2), lists=value_lists())
    frame = pd.DataFrame(columns)
    baseline = PandasRules(rule_set)
    expected = baseline.evaluate(frame)
    got = rule_set.evaluate_many(columns)
    assert np.array_equal(got.actions, expected), "radarcore and pandas disagree"
    program = rule_set.program
    prepared = program.encode(columns)

    def kernel() -> None:
        program.core.evaluate_many(*prepared, 1, INT64_MIN, False)

    def kernel_all_rules() -> None:
        program.core.evaluate_many(*prepared, 1, INT64_MIN, True)

    measured = {
        "pandas/numpy expressions": _timed(lambda: baseline.evaluate(frame), max(1, repeats // 2)),
        "radarcore evaluate_many (from columns)": _timed(
            lambda: rule_set.evaluate_many(columns), repeats
        ),
        "radarcore kernel, decisions": _timed(kernel, repeats),
        "radarcore kernel, every rule (match matrix)": _timed(kernel_all_rules, repeats),
    }
    base = statistics.median(measured["pandas/numpy expressions"][0])
    evaluations = rows * rule_count
    table = []
    for name, (wall, cpu) in measured.items():
        median, median_cpu = statistics.median(wall), statistics.median(cpu)
        table.append(
            (
                f"batch {rule_count} rules x {rows:,} payments: {name}",
                f"{median * 1e3:,.1f} ms",
                f"{_p99(wall) * 1e3:,.1f} ms",
                f"{median_cpu * 1e3:,.1f} ms",
                f"{evaluations / median_cpu / 1e6:,.0f} M rule-evals/s",
                f"{base / median:,.1f}x",
            )
        )
    return table


def single_benchmark(rule_count: int, calls: int) -> list[tuple[str, ...]]:
    columns = payments(max(calls, 1), seed=3)
    rule_set = RuleSet(rule_texts(rule_count, seed=4), lists=value_lists())
    frame = pd.DataFrame(columns)
    records = frame.replace({np.nan: None}).to_dict("records")
    baseline = PandasRules(rule_set)
    one_row = [frame.iloc[[i]] for i in range(min(calls, 200))]
    for i, row in enumerate(one_row):
        expected = ACTION_NAMES[int(baseline.evaluate(row)[0])]
        assert rule_set.evaluate_one(records[i]).action == expected

    def per_call(function: Callable[[int], object], n: int) -> tuple[list[float], list[float]]:
        wall, cpu = [], []
        for i in range(n):
            start, start_cpu = time.perf_counter(), time.process_time()
            function(i)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        return wall, cpu

    pandas_times = per_call(lambda i: baseline.evaluate(one_row[i]), len(one_row))
    radar_times = per_call(lambda i: rule_set.evaluate_one(records[i]), calls)
    base = statistics.median(pandas_times[0])
    table = []
    for name, (wall, cpu) in (
        ("pandas/numpy expressions on a 1-row frame", pandas_times),
        ("radarcore evaluate_one (Python call)", radar_times),
    ):
        median = statistics.median(wall)
        table.append(
            (
                f"single payment, {rule_count} rules: {name}",
                f"{median * 1e6:,.1f} us",
                f"{_p99(wall) * 1e6:,.1f} us",
                f"{statistics.median(cpu) * 1e6:,.1f} us",
                f"{1 / median:,.0f} payments/s",
                f"{base / median:,.1f}x",
            )
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
    args = parser.parse_args(argv)
    rows, repeats, calls = (2_000, 1, 20) if args.quick else (1_000_000, 5, 2_000)
    rows_table = batch_benchmark(rows, 200, repeats) + single_benchmark(50, calls)
    print(f"radarcore {radarcore.__version__} rules benchmark")
    print(f"machine: {radarcore._core.describe_cpu()}, nproc={os.cpu_count()}, one thread")
    header = ("workload", "median", "p99", "cpu median", "throughput", "vs pandas")
    widths = [max(len(r[i]) for r in [header, *rows_table]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows_table]:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
