"""Benchmark: end-to-end batch scoring (read, features, model, rules, write) in payments/s.

radarcore (``score_files``: Parquet in, Parquet out, one process pinned to one core; then Dask
on a LocalCluster with one worker per core) against what a data team would write instead:
pandas groupby-rolling time windows for velocity features (counts per card, email and IP over
1 hour, 1 day and 7 days and the card's 1-day amount sum: a subset of radarcore's features),
``lightgbm.Booster.predict`` and the same 50 threshold rules as pandas expressions.

Both models are LightGBM boosters with the same parameters, trained on the first payments of
the same seeded synthetic history (radarcore's on its full feature row, the baseline's on its
own features); radarcore scores with its compiled forest. Each pipeline runs in a fresh child
process (peak memory is that process's maximum RSS; for Dask, the client process only).
Run ``python bench/bench_batch.py`` (5,000,000 payments) or ``--quick``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import radarcore
from radarcore import FeatureExtractor, Forest, RuleSet, score_files, synth
from radarcore.models import RiskCalibration, RiskModel

PARAMS = {"objective": "binary", "num_leaves": 31, "learning_rate": 0.1, "verbose": -1}
BASELINE_FEATURES = [
    f"{what}_{key}_{window}"
    for key in ("card_fingerprint", "email", "ip_address")
    for what in ("count",)
    for window in ("1h", "1d", "7d")
] + ["amount_sum_card_fingerprint_1d", "amount"]


def rule_texts(n: int) -> list[str]:
    """``n`` threshold rules over attributes both pipelines compute."""
    rng = np.random.default_rng(5)
    pairs = [
        ("total_charges_per_card_number_hourly", "count_card_fingerprint_1h", 2, 6),
        ("total_charges_per_card_number_daily", "count_card_fingerprint_1d", 3, 12),
        ("total_charges_per_email_weekly", "count_email_7d", 5, 30),
        ("total_charges_per_ip_address_daily", "count_ip_address_1d", 3, 15),
    ]
    rules = []
    for i in range(n):
        radar, _, low, high = pairs[i % len(pairs)]
        limit = int(rng.integers(low, high))
        amount = int(rng.integers(1, 50)) * 10
        verb = ("Block", "Review")[i % 2]
        rules.append(f"{verb} if :{radar}: > {limit} and :amount_in_usd: > {amount}")
    return rules


def baseline_rule_masks(frame: Any, n: int) -> Any:
    import pandas as pd

    action = pd.Series([None] * len(frame), dtype=object, index=frame.index)
    lookup = {
        "total_charges_per_card_number_hourly": "count_card_fingerprint_1h",
        "total_charges_per_card_number_daily": "count_card_fingerprint_1d",
        "total_charges_per_email_weekly": "count_email_7d",
        "total_charges_per_ip_address_daily": "count_ip_address_1d",
    }
    decided = np.zeros(len(frame), dtype=bool)
    for text in rule_texts(n):
        verb, _, rest = text.partition(" if :")
        attribute, _, rest = rest.partition(": > ")
        limit, _, amount = rest.partition(" and :amount_in_usd: > ")
        hit = (frame[lookup[attribute]] - 1 > int(limit)) & (frame["amount"] > 100 * int(amount))
        new = hit.to_numpy() & ~decided
        action[new] = verb.lower()
        decided |= new
    return action


def baseline_features(frame: Any) -> Any:
    """pandas groupby-rolling velocity features (each count includes the payment itself)."""
    import pandas as pd

    frame = frame.copy()
    frame["ts"] = pd.to_datetime(frame["created"], unit="s")
    frame["row"] = np.arange(len(frame))
    for key in ("card_fingerprint", "email", "ip_address"):
        keyed = frame[frame[key].notna()].set_index("ts")
        grouped = keyed.groupby(key, sort=False)
        for window in ("1h", "1d", "7d"):
            counts = grouped["amount"].rolling(window.replace("d", "D")).count()
            rows = grouped["row"].rolling(window.replace("d", "D")).max()
            frame[f"count_{key}_{window}"] = np.nan
            frame.loc[rows.to_numpy().astype(np.int64), f"count_{key}_{window}"] = counts.to_numpy()
        if key == "card_fingerprint":
            sums = grouped["amount"].rolling("1D").sum()
            rows = grouped["row"].rolling("1D").max()
            frame["amount_sum_card_fingerprint_1d"] = np.nan
            frame.loc[rows.to_numpy().astype(np.int64), "amount_sum_card_fingerprint_1d"] = (
                sums.to_numpy()
            )
    return frame


def run_baseline(source: Path, output: Path, booster_file: str, n_rules: int) -> int:
    import lightgbm as lgb
    import pandas as pd

    frame = pd.read_parquet(source)
    features = baseline_features(frame)
    booster = lgb.Booster(model_file=booster_file)
    probability = booster.predict(features[BASELINE_FEATURES].to_numpy(dtype=np.float64))
    score = np.clip(np.rint(probability * 100), 0, 100).astype(np.int32)
    out = pd.DataFrame(
        {
            "id": frame["id"],
            "risk_score": score,
            "action": baseline_rule_masks(features, n_rules),
        }
    )
    out.to_parquet(output)
    return len(out)


def run_radarcore(
    source: Path, output: Path, model_file: str, n_rules: int, dask_workers: int
) -> int:
    model = RiskModel.load(model_file)
    rules = RuleSet(rule_texts(n_rules))
    if dask_workers == 0:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return score_files(source, output, model=model, rules=rules)
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=dask_workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        return score_files(source, output, model=model, rules=rules, client=client)


def _child(queue: Any, job: Callable[..., int], args: tuple[Any, ...]) -> None:
    began = time.perf_counter()
    rows = job(*args)
    elapsed = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    queue.put((rows, elapsed, peak))


def measure(job: Callable[..., int], args: tuple[Any, ...]) -> tuple[int, float, int]:
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue, job, args))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"benchmark child failed with exit code {process.exitcode}")
    result: tuple[int, float, int] = queue.get(timeout=10)
    return result


def train(history: pa.Table, folder: Path, train_rows: int) -> tuple[str, str]:
    import lightgbm as lgb

    head = history.slice(0, train_rows)
    label = head.column("is_fraud").to_numpy(zero_copy_only=False).astype(np.int32)
    extractor = FeatureExtractor()
    x = extractor.extract_many(head)
    names = list(extractor.schema.names)
    booster = lgb.train(PARAMS, lgb.Dataset(x, label, feature_name=names), 50)
    forest = Forest.from_lightgbm(booster)
    calibration = RiskCalibration.fit(forest.score_many(x, raw=True), label)
    model_file = str(folder / "model.rcm")
    RiskModel(forest, calibration, names).save(model_file)

    baseline = baseline_features(head.to_pandas())[BASELINE_FEATURES].to_numpy(np.float64)
    base_booster = lgb.train(
        PARAMS, lgb.Dataset(baseline, label, feature_name=BASELINE_FEATURES), 50
    )
    booster_file = str(folder / "baseline.txt")
    base_booster.save_model(booster_file)
    return model_file, booster_file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=5_000_000)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.payments, args.repeats = 3_000, 2
    cores = len(os.sched_getaffinity(0))
    print(f"machine: {radarcore._core.describe_cpu()}, nproc {cores}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        began = time.perf_counter()
        history = synth.generate(args.payments, seed=0)
        payments = history.payments.drop_columns(["is_fraud", "scenario"])
        source = folder / "payments.parquet"
        pq.write_table(payments, source, row_group_size=131_072)
        model_file, booster_file = train(history.payments, folder, min(args.payments, 100_000))
        del history, payments
        print(
            f"{args.payments:,} payments generated and models trained in "
            f"{time.perf_counter() - began:.0f}s; {args.rules} rules"
        )
        pipelines: list[tuple[str, Callable[..., int], tuple[Any, ...]]] = [
            (
                "pandas rolling + LightGBM predict",
                run_baseline,
                (source, folder / "b.parquet", booster_file, args.rules),
            ),
            (
                "radarcore, 1 core",
                run_radarcore,
                (source, folder / "r1.parquet", model_file, args.rules, 0),
            ),
            (
                f"radarcore, Dask {cores} workers",
                run_radarcore,
                (source, folder / "rd.parquet", model_file, args.rules, cores),
            ),
        ]
        rows_out: list[tuple[str, float, float, float, int, int]] = []
        for name, job, job_args in pipelines:
            runs = [measure(job, job_args) for _ in range(args.repeats)]
            seconds = [r[1] for r in runs]
            workers = cores if "Dask" in name else 1
            rows_out.append(
                (
                    name,
                    statistics.median(seconds),
                    max(seconds),
                    0.0,
                    max(r[2] for r in runs),
                    workers,
                )
            )
        baseline_rate = args.payments / rows_out[0][1]
        print()
        print(
            "| pipeline | median s | max s | payments/s | payments/s per core | "
            "peak RSS MB | vs pandas |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, median, worst, _, peak, workers in rows_out:
            rate = args.payments / median
            print(
                f"| {name} | {median:.2f} | {worst:.2f} | {rate:,.0f} | "
                f"{rate / workers:,.0f} | {peak / 2**20:,.0f} | {rate / baseline_rate:.1f}x |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
