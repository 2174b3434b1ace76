"""Synthetic stream speed: ``radarcore.synth`` against the simulator a user would otherwise pick.

The baseline is the transaction simulator of the Fraud Detection Handbook (Le Borgne et al.,
"Reproducible Machine Learning for Credit Card Fraud Detection", chapter 3.2): customer and
terminal profiles, a per-customer loop drawing Poisson transactions per day, and three fraud
scenarios. It is reproduced here as published (a Python loop per customer and day, pandas for the
fraud scenarios), sized to produce about the same number of payments. It writes 8 columns
per transaction; radarcore writes the 55-column payment event schema plus a labels table.

Both run once to warm up, then ``repeats`` times; the table shows the median and p99 seconds,
payments per second, and the speed ratio to the baseline at the same size.

    python bench/bench_synth.py            # full run (minutes)
    python bench/bench_synth.py --quick    # tiny sizes, for the test suite
"""

# The baseline keeps the published code's legacy global NumPy generator on purpose.
# ruff: noqa: NPY002

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import radarcore
from radarcore import _core, synth

SEED = 20261122


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    baseline_sizes: tuple[int, ...]
    repeats: int


FULL = Plan(sizes=(100_000, 1_000_000), baseline_sizes=(100_000,), repeats=5)
QUICK = Plan(sizes=(2_000,), baseline_sizes=(2_000,), repeats=1)


# ---- the baseline: the Fraud Detection Handbook simulator, as published ---------------------


def handbook_customers(n_customers: int, random_state: int = 0) -> pd.DataFrame:
    np.random.seed(random_state)
    rows = []
    for customer_id in range(n_customers):
        x, y = np.random.uniform(0, 100), np.random.uniform(0, 100)
        mean_amount = np.random.uniform(5, 100)
        rows.append([customer_id, x, y, mean_amount, mean_amount / 2, np.random.uniform(0, 4)])
    return pd.DataFrame(
        rows,
        columns=["CUSTOMER_ID", "x_customer_id", "y_customer_id", "mean_amount", "std_amount",
                 "mean_nb_tx_per_day"],
    )  # fmt: skip


def handbook_terminals(n_terminals: int, random_state: int = 0) -> pd.DataFrame:
    np.random.seed(random_state)
    rows = [
        [terminal_id, np.random.uniform(0, 100), np.random.uniform(0, 100)]
        for terminal_id in range(n_terminals)
    ]
    return pd.DataFrame(rows, columns=["TERMINAL_ID", "x_terminal_id", "y_terminal_id"])


def handbook_transactions(profile: pd.Series, nb_days: int) -> pd.DataFrame:
    transactions = []
    random.seed(int(profile.CUSTOMER_ID))
    np.random.seed(int(profile.CUSTOMER_ID))
    for day in range(nb_days):
        for _ in range(np.random.poisson(profile.mean_nb_tx_per_day)):
            time_tx = int(np.random.normal(86400 / 2, 20000))
            if 0 < time_tx < 86400:
                amount = np.random.normal(profile.mean_amount, profile.std_amount)
                if amount < 0:
                    amount = np.random.uniform(0, profile.mean_amount * 2)
                if len(profile.available_terminals) > 0:
                    terminal = random.choice(profile.available_terminals)
                    transactions.append(
                        [time_tx + day * 86400, day, profile.CUSTOMER_ID, terminal,
                         np.round(amount, decimals=2)]
                    )  # fmt: skip
    return pd.DataFrame(
        transactions,
        columns=["TX_TIME_SECONDS", "TX_TIME_DAYS", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT"],
    )


def handbook_terminals_within(profile: pd.Series, xy: np.ndarray, radius: float) -> list[int]:
    here = profile[["x_customer_id", "y_customer_id"]].to_numpy(dtype=float)
    return list(np.where(np.sqrt(np.sum(np.square(here - xy), axis=1)) < radius)[0])


def handbook_generate(n_payments: int) -> pd.DataFrame:
    """About ``n_payments`` transactions: 2 per customer-day on average, over 10 days."""
    nb_days = 10
    n_customers = max(1, n_payments // (2 * nb_days))
    customers = handbook_customers(n_customers, random_state=0)
    terminals = handbook_terminals(max(1_000, n_customers * 2), random_state=1)
    xy = terminals[["x_terminal_id", "y_terminal_id"]].to_numpy(dtype=float)
    customers["available_terminals"] = customers.apply(
        lambda c: handbook_terminals_within(c, xy, 5.0), axis=1
    )
    tx = pd.concat(
        [handbook_transactions(c, nb_days) for _, c in customers.iterrows()], ignore_index=True
    )
    seconds = tx["TX_TIME_SECONDS"].astype("int64")
    tx["TX_DATETIME"] = pd.to_datetime(seconds, unit="s", origin="2018-04-01")
    tx = tx.sort_values("TX_DATETIME").reset_index(drop=True)
    tx["TX_FRAUD"] = 0
    tx["TX_FRAUD_SCENARIO"] = 0
    tx.loc[tx.TX_AMOUNT > 220, ["TX_FRAUD", "TX_FRAUD_SCENARIO"]] = [1, 1]
    for day in range(int(tx.TX_TIME_DAYS.max())):
        compromised = terminals.TERMINAL_ID.sample(n=2, random_state=day)
        hit = tx[tx.TX_TIME_DAYS.between(day, day + 27) & tx.TERMINAL_ID.isin(compromised)]
        tx.loc[hit.index, ["TX_FRAUD", "TX_FRAUD_SCENARIO"]] = [1, 2]
    for day in range(int(tx.TX_TIME_DAYS.max())):
        victims = customers.CUSTOMER_ID.sample(n=min(3, len(customers)), random_state=day).values
        hit = tx[tx.TX_TIME_DAYS.between(day, day + 13) & tx.CUSTOMER_ID.isin(victims)]
        random.seed(day)
        chosen = random.sample(list(hit.index.values), k=len(hit) // 3)
        tx.loc[chosen, "TX_AMOUNT"] = tx.loc[chosen, "TX_AMOUNT"] * 5
        tx.loc[chosen, ["TX_FRAUD", "TX_FRAUD_SCENARIO"]] = [1, 3]
    return tx


# ---- timing --------------------------------------------------------------------------------


@dataclass
class Result:
    engine: str
    size: int
    rows: int
    columns: int
    seconds: list[float]


def timed(engine: str, size: int, repeats: int, run: Callable[[], tuple[int, int]]) -> Result:
    run()
    seconds = []
    for _ in range(repeats):
        began = time.perf_counter()
        rows, columns = run()
        seconds.append(time.perf_counter() - began)
    return Result(engine, size, rows, columns, seconds)


def radarcore_run(size: int, folder: Path) -> Callable[[], tuple[int, int]]:
    def run() -> tuple[int, int]:
        history = synth.generate(size, seed=SEED)
        synth.write(history, folder)
        return history.payments.num_rows, history.payments.num_columns

    return run


def baseline_run(size: int, folder: Path) -> Callable[[], tuple[int, int]]:
    def run() -> tuple[int, int]:
        tx = handbook_generate(size)
        tx.to_parquet(folder / "handbook.parquet")
        return len(tx), tx.shape[1]

    return run


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(np.ceil(0.99 * len(ordered))) - 1)]


def report(results: list[Result]) -> str:
    baseline = {
        r.size: statistics.median(r.seconds) / r.rows for r in results if r.engine != "radarcore"
    }
    lines = [
        f"{'engine':<28} {'payments':>10} {'cols':>5} {'median s':>9} {'p99 s':>8} "
        f"{'payments/s':>12} {'speed-up':>9}"
    ]
    for r in results:
        median = statistics.median(r.seconds)
        per_row = median / r.rows
        ratio = f"{baseline[r.size] / per_row:8.1f}x" if r.size in baseline else "        -"
        lines.append(
            f"{r.engine:<28} {r.rows:>10,} {r.columns:>5} {median:>9.2f} {p99(r.seconds):>8.2f} "
            f"{r.rows / median:>12,.0f} {ratio}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    plan = QUICK if parser.parse_args().quick else FULL
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in plan.sizes:
            repeats = plan.repeats if size <= 100_000 else max(1, plan.repeats - 2)
            results.append(timed("radarcore", size, repeats, radarcore_run(size, folder)))
            if size in plan.baseline_sizes:
                results.append(
                    timed("fraud-handbook simulator", size, repeats, baseline_run(size, folder))
                )
    print(f"radarcore {radarcore.__version__} synth: generate + write Parquet, seed {SEED}")
    print(f"machine: {_core.describe_cpu()}, nproc {os.cpu_count()}")
    print(report(results))
    print("speed-up: baseline seconds per payment / radarcore seconds per payment, same size")


if __name__ == "__main__":
    main()
