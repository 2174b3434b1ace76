"""Benchmark: payment features with every velocity family, radarcore against pandas.

Measures on a seeded synthetic stream (default 2,000,000 payments over 30 days):

* batch extraction rate (payments/s, one core): ``FeatureExtractor.extract_many`` replaying the
  stream in chunks into one reused output buffer (and again with a new matrix per chunk),
  every feature and velocity family on, state updated after each row;
* the baselines a data scientist would write instead, for the ``_charges_`` counters only
  (6 entities x 4 outcomes x hourly/daily/weekly, excluding the current payment): pandas
  ``groupby().rolling()`` time windows (on a slice of the stream: it is slow), and a vectorised
  numpy version (sort once, ``searchsorted`` window bounds, cumulative sums) on the whole stream;
* online latency of ``extract_one`` + ``update`` from Python (median, p99) and, when the C++
  benchmark binary is built (cmake ... -DRADARCORE_BUILD_TESTS=ON), from C++;
* velocity state memory per tracked entity.

Run: ``python bench/bench_features.py`` (``--quick`` for a smoke run with tiny sizes).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

import radarcore
from radarcore import _core

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
ENTITY_COLUMNS = {
    "billing_address": "billing_line1",
    "card_number": "card_fingerprint",
    "customer": "customer",
    "email": "email",
    "ip_address": "ip_address",
    "shipping_address": "shipping_line1",
}
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.0.0 Safari/537.36",
]


def _ids(prefix: str, values: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(values), pa.string()), "")


def _skewed(rng: np.random.Generator, n: int, population: int) -> np.ndarray:
    # Activity per person is log-normal: most pay a few times a month, a few pay very often.
    weights = np.cumsum(rng.lognormal(0.0, 1.2, population))
    return np.searchsorted(weights, rng.random(n) * weights[-1])


def synthetic_stream(n: int, seed: int, days: int = 30) -> pa.Table:
    """n payments sorted by time: cards, customers, emails, IPs, devices and addresses drawn
    from skewed populations, with outcomes, amounts in several currencies and sessions."""
    rng = np.random.default_rng(seed)
    created = np.sort(rng.integers(T0, T0 + days * 86400, n))
    people = max(n // 5, 10)
    person = (rng.permutation(people)[_skewed(rng, n, people)]).astype(np.int64)
    card = person * 2 + (rng.random(n) < 0.15)
    ip = np.where(rng.random(n) < 0.8, person, rng.integers(0, people, n))
    device = np.where(rng.random(n) < 0.9, person, rng.integers(0, people, n))
    email_missing = rng.random(n) < 0.1
    outcome = rng.choice(np.array(["authorized", "declined", "blocked"]), n, p=[0.9, 0.07, 0.03])
    currency = rng.choice(
        np.array(["usd", "eur", "gbp", "jpy", "cad"]), n, p=[0.6, 0.2, 0.1, 0.05, 0.05]
    )
    columns = {
        "id": _ids("ch_", np.arange(n)),
        "created": pa.array(created, pa.int64()),
        "amount": pa.array(rng.integers(100, 50_000, n), pa.int64()),
        "currency": pa.array(currency),
        "card_fingerprint": _ids("fp_", card),
        "card_bin": pa.array(np.char.mod("%06d", 400000 + card % 1000)),
        "card_brand": pa.array(rng.choice(np.array(["visa", "mc", "amex"]), n)),
        "card_funding": pa.array(rng.choice(np.array(["credit", "debit", "prepaid"]), n)),
        "card_country": pa.array(rng.choice(np.array(["US", "GB", "FR", "DE", "BR"]), n)),
        "customer": _ids("cus_", person),
        "customer_created": pa.array(created - rng.integers(0, 400 * 86400, n), pa.int64()),
        "email": pc.if_else(pa.array(email_missing), None, _ids("user", person).cast(pa.string())),
        "name": _ids("Person ", person),
        "billing_line1": _ids("", person % 100_000),
        "billing_city": pa.array(rng.choice(np.array(["Paris", "London", "Austin"]), n)),
        "billing_country": pa.array(rng.choice(np.array(["US", "GB", "FR"]), n)),
        "shipping_line1": _ids("", person % 90_000),
        "shipping_country": pa.array(rng.choice(np.array(["US", "GB", "FR"]), n)),
        "ip_address": pc.binary_join_element_wise(
            "10.",
            pc.cast(pa.array((ip >> 16) & 255), pa.string()),
            ".",
            pc.cast(pa.array((ip >> 8) & 255), pa.string()),
            ".",
            pc.cast(pa.array(ip & 255), pa.string()),
            "",
        ),
        "ip_country": pa.array(rng.choice(np.array(["US", "GB", "FR"]), n)),
        "user_agent": pa.array(rng.choice(np.array(USER_AGENTS), n)),
        "device_id": _ids("dev_", device),
        "session_timezone_offset": pa.array(rng.choice(np.array([-300, 0, 60, 120]), n)),
        "merchant": _ids("acct_", rng.integers(0, 50, n)),
        "outcome": pa.array(outcome),
    }
    # Emails are user<k>@example.com once the join above has made the local part.
    columns["email"] = pc.binary_join_element_wise(columns["email"], "@example.com", "")
    return pa.table(columns)


def pandas_charge_counters(frame: pd.DataFrame) -> pd.DataFrame:
    """What a data scientist writes: time-window rolling counts per entity and outcome,
    excluding the current payment (closed='left')."""
    frame = frame.assign(ts=pd.to_datetime(frame["created"], unit="s")).sort_values("ts")
    frame = frame.reset_index(drop=True)
    out = {}
    for outcome in ("authorized", "blocked", "declined", "total"):
        flag = np.ones(len(frame)) if outcome == "total" else (frame["outcome"] == outcome) * 1.0
        frame = frame.assign(flag=flag)
        for entity, column in ENTITY_COLUMNS.items():
            grouped = frame[[column, "ts", "flag"]].groupby(column)
            # Results come group by group, rows in time order within each group.
            positions = np.concatenate(list(grouped.indices.values()))
            for window, span in (("hourly", "3900s"), ("daily", "90000s"), ("weekly", "608400s")):
                rolled = grouped.rolling(span, on="ts", closed="left")["flag"].sum()
                values = np.full(len(frame), np.nan)
                values[positions] = rolled.fillna(0.0).to_numpy()
                out[f"{outcome}_charges_per_{entity}_{window}"] = values
    return pd.DataFrame(out)


def numpy_charge_counters(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The vectorised version: sort by (entity, time) once, then each window count is a
    difference of cumulative sums between searchsorted bounds (exact sliding windows)."""
    created = frame["created"].to_numpy(np.int64)
    n = len(created)
    outcomes = frame["outcome"].to_numpy()
    flags = {o: (outcomes == o).astype(np.int64) for o in ("authorized", "blocked", "declined")}
    flags["total"] = np.ones(n, dtype=np.int64)
    out = {}
    for entity, column in ENTITY_COLUMNS.items():
        codes, _ = pd.factorize(frame[column])
        order = np.lexsort((np.arange(n), created, codes))
        key = codes[order].astype(np.int64) * (1 << 34) + created[order]
        position = np.arange(n)
        for window, span in (("hourly", 3_900), ("daily", 90_000), ("weekly", 608_400)):
            low = np.searchsorted(key, key - span + 1, side="left")
            for outcome, flag in flags.items():
                cumulative = np.concatenate(([0], np.cumsum(flag[order])))
                counts = np.empty(n)
                counts[order] = cumulative[position] - cumulative[low]
                counts[codes < 0] = np.nan
                out[f"{outcome}_charges_per_{entity}_{window}"] = counts
    return out


def percentile_table(samples_ns: np.ndarray) -> tuple[float, float]:
    return float(np.median(samples_ns)) / 1000.0, float(np.percentile(samples_ns, 99)) / 1000.0


def python_online_latency(table: pa.Table, n: int) -> tuple[float, float]:
    events = table.slice(0, n).to_pylist()
    fx = radarcore.FeatureExtractor()
    samples = np.empty(len(events), dtype=np.int64)
    for i, event in enumerate(events):
        start = time.perf_counter_ns()
        fx.extract_one(event)
        fx.update(event)
        samples[i] = time.perf_counter_ns() - start
    return percentile_table(samples)


def cpp_online_latency(n: int) -> str | None:
    binary = ROOT / "build" / "cpp" / "bench_features"
    if not binary.exists():
        return None
    result = subprocess.run([str(binary), str(n)], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--payments", type=int, default=2_000_000)
    parser.add_argument("--chunk", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pandas-payments", type=int, default=20_000)
    args = parser.parse_args()
    n = 3_000 if args.quick else args.payments
    chunk = 1_000 if args.quick else args.chunk
    pandas_rows = 2_000 if args.quick else args.pandas_payments
    online_n = 500 if args.quick else 50_000

    print(f"machine: {_core.describe_cpu()}, nproc={os.cpu_count()}, {platform.python_version()}")
    table = synthetic_stream(n, args.seed)
    print(f"stream: {n:,} payments, seed {args.seed}")

    # The replay fills one reused (chunk, width) buffer, as a chunked pipeline would; the
    # second replay allocates a new matrix per chunk (the kernel zeroes its pages each time).
    fx = radarcore.FeatureExtractor()
    width = len(fx.schema)
    buffer = np.empty((chunk, width))
    start, cpu_start = time.perf_counter(), time.process_time()
    for offset in range(0, n, chunk):
        part = table.slice(offset, chunk)
        fx.extract_many(part, out=buffer if part.num_rows == chunk else None)
    batch_rate = n / (time.perf_counter() - start)
    batch_cpu_rate = n / (time.process_time() - cpu_start)
    entities = fx.entity_count
    per_entity = fx.memory_bytes / max(entities, 1)
    fresh = radarcore.FeatureExtractor()
    cpu_start = time.process_time()
    for offset in range(0, n, chunk):
        fresh.extract_many(table.slice(offset, chunk))
    fresh_cpu_rate = n / (time.process_time() - cpu_start)

    frame = table.slice(0, pandas_rows).to_pandas()
    start = time.process_time()
    pandas_charge_counters(frame)
    pandas_rate = pandas_rows / (time.process_time() - start)
    whole = table.select(["created", "outcome", *ENTITY_COLUMNS.values()]).to_pandas()
    start = time.process_time()
    numpy_charge_counters(whole)
    numpy_rate = n / (time.process_time() - start)
    subset = radarcore.FeatureExtractor()
    start = time.process_time()
    subset.extract_many(table.slice(0, pandas_rows))
    radar_subset_rate = pandas_rows / (time.process_time() - start)

    py_median, py_p99 = python_online_latency(table, online_n)
    baseline = (
        f"| numpy, vectorised (searchsorted), the same 72 counters, all {n:,} payments, "
        f"CPU time | {batch_cpu_rate:,.0f} payments/s (all {width} features) | "
        f"{numpy_rate:,.0f} payments/s | {batch_cpu_rate / numpy_rate:,.2f}x |"
    )
    cpp = cpp_online_latency(5_000 if args.quick else 2_000_000)

    print()
    print("| measure | radarcore | pandas baseline | ratio |")
    print("|---|---|---|---|")
    print(
        f"| batch, {width} features, every velocity family ({n:,} payments), CPU time | "
        f"{batch_cpu_rate:,.0f} payments/s | - | - |"
    )
    print(
        f"| same, wall clock (shared machine: load {os.getloadavg()[0]:.1f}) | "
        f"{batch_rate:,.0f} payments/s | - | - |"
    )
    print(
        f"| same, CPU time, a new output matrix per chunk | {fresh_cpu_rate:,.0f} payments/s "
        "| - | - |"
    )
    print(
        f"| batch, first {pandas_rows:,} payments, CPU time "
        "(pandas: the 72 `_charges_` window counters only) | "
        f"{radar_subset_rate:,.0f} payments/s | {pandas_rate:,.0f} payments/s | "
        f"{radar_subset_rate / pandas_rate:,.1f}x |"
    )
    print(baseline)
    print(
        f"| online extract_one + update from Python (median / p99) | "
        f"{py_median:.1f} / {py_p99:.1f} us | - | - |"
    )
    print(
        f"| state memory per tracked entity ({entities:,} entities) | "
        f"{per_entity:.0f} bytes | - | - |"
    )
    print()
    if cpp is None:
        print("C++ online latency: build the C++ benchmarks to include it (see README).")
    else:
        print(cpp)


if __name__ == "__main__":
    main()
