"""Benchmark: end-to-end batch scoring (read, features, model, rules, write) in payments/s.

radarcore's ``score_files`` (Parquet in, Parquet out) on one core (the process pinned to one
CPU, ``threads=1``), on all cores in process (``threads=nproc``) and on a Dask LocalCluster
(one worker per core), against what a data team would write instead: pandas groupby-rolling
time windows for velocity features (counts per card, email and IP over 1 hour, 1 day and 7
days and the card's 1-day amount sum: a subset of radarcore's features),
``lightgbm.Booster.predict`` and the same 50 threshold rules as pandas expressions.

Models: radarcore runs with the bundled default model (whatever ``default_model()`` is on this
checkout) and with a LightGBM model of 200 trees x 31 leaves trained on the first payments (the
size the default model is meant to have); the pandas pipeline's booster has the same shape,
trained on its own features. The 50 rules read velocity counters and ``amount_in_usd``.

The pandas pipeline is slow: it runs on the first ``--baseline-payments`` payments of the same
history (default 200,000), and the table reports its rate; ratios compare rates. Each run is a
fresh child process (peak memory is that process's maximum RSS; for Dask, the client only).

The synthetic history (``synth.generate(n, seed=0)``: minutes and ~8.5 GB for 5,000,000
payments) and the trained models are cached under ``bench/.cache``; a smaller ``--payments``
takes the first payments of a larger cached history.
Run ``python bench/bench_batch.py`` (5,000,000 payments) or ``--quick``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from queue import Empty
from typing import Any

import numpy as np
import pyarrow.parquet as pq

import radarcore
from radarcore import FeatureExtractor, Forest, RuleSet, score_files, synth
from radarcore.models import RiskCalibration, RiskModel

CACHE = Path(__file__).resolve().parent / ".cache"
PARAMS = {"objective": "binary", "num_leaves": 31, "learning_rate": 0.05, "verbose": -1}
TREES = 200
TRAIN_ROWS = 100_000
BASELINE_FEATURES = [
    f"count_{key}_{window}"
    for key in ("card_fingerprint", "email", "ip_address")
    for window in ("1h", "1d", "7d")
] + ["amount_sum_card_fingerprint_1d", "amount"]


def rule_texts(n: int) -> list[str]:
    """``n`` threshold rules over attributes both pipelines compute."""
    rng = np.random.default_rng(5)
    pairs = [
        ("total_charges_per_card_number_hourly", 2, 6),
        ("total_charges_per_card_number_daily", 3, 12),
        ("total_charges_per_email_weekly", 5, 30),
        ("total_charges_per_ip_address_daily", 3, 15),
    ]
    rules = []
    for i in range(n):
        radar, low, high = pairs[i % len(pairs)]
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
    source: Path, output: Path, model_file: str | None, n_rules: int, cores: int, dask: bool
) -> int:
    from radarcore.models.bundle import default_model

    model = default_model() if model_file is None else RiskModel.load(model_file)
    rules = RuleSet(rule_texts(n_rules))
    if not dask:
        if cores == 1:
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return score_files(source, output, model=model, rules=rules, threads=cores)
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=cores, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        return score_files(source, output, model=model, rules=rules, client=client)


def _child(queue: Any, job: Callable[..., int], args: tuple[Any, ...]) -> None:
    began = time.perf_counter()
    cpu = time.process_time()
    rows = job(*args)
    elapsed = time.perf_counter() - began
    cpu = time.process_time() - cpu
    queue.put((rows, elapsed, cpu, peak_rss()))


def peak_rss() -> int:
    """This process's peak resident memory in bytes. Linux's VmHWM belongs to the address
    space, so unlike ``ru_maxrss`` (kept across exec) it does not start at the parent's."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(job: Callable[..., int], args: tuple[Any, ...]) -> tuple[int, float, float, int]:
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(queue, job, args))
    process.start()
    while True:
        try:
            result: tuple[int, float, float, int] = queue.get(timeout=1)
            break
        except Empty:
            if not process.is_alive():
                raise RuntimeError(
                    f"benchmark child failed with exit code {process.exitcode}"
                ) from None
    process.join()
    return result


def history_file(payments: int, folder: Path) -> Path:
    """The seeded history (labels included) as Parquet: a cached one of at least ``payments``
    rows (its first rows are a history too), else one generated and cached."""
    cached = sorted(
        (int(p.name.split("-")[1]), p)
        for p in folder.glob("history-*-seed0.parquet")
        if int(p.name.split("-")[1]) >= payments
    )
    if cached:
        return cached[0][1]
    path = folder / f"history-{payments}-seed0.parquet"
    history = synth.generate(payments, seed=0).payments
    tmp = path.with_suffix(".tmp")
    pq.write_table(history, tmp, row_group_size=131_072)
    tmp.rename(path)
    return path


def first_rows(path: Path, rows: int) -> Any:
    """The first ``rows`` rows of a Parquet file."""
    import pyarrow as pa

    batches, have = [], 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=min(rows, 131_072)):
        batches.append(batch.slice(0, rows - have))
        have += batches[-1].num_rows
        if have >= rows:
            break
    return pa.Table.from_batches(batches)


def inputs(history: Path, payments: int, baseline_payments: int, folder: Path) -> tuple[Path, Path]:
    """The scoring inputs without labels: the first ``payments``, and the baseline's first."""
    full = folder / f"{history.stem}-first-{payments}.parquet"
    head = folder / f"{history.stem}-first-{baseline_payments}.parquet"
    for path, rows in ((full, payments), (head, baseline_payments)):
        if not path.exists():
            table = first_rows(history, rows).drop_columns(["is_fraud", "scenario"])
            pq.write_table(table, path, row_group_size=131_072)
    return full, head


def train(history: Path, folder: Path, trees: int) -> tuple[str, str]:
    """A radarcore model and a baseline booster, both ``trees`` x 31 leaves, trained on the
    history's first payments and cached."""
    import lightgbm as lgb

    model_file = folder / f"{history.stem}-model-{trees}.rcm"
    booster_file = folder / f"{history.stem}-baseline-{trees}.txt"
    if model_file.exists() and booster_file.exists():
        return str(model_file), str(booster_file)
    rows = first_rows(history, TRAIN_ROWS)
    label = rows.column("is_fraud").to_numpy(zero_copy_only=False).astype(np.int32)
    extractor = FeatureExtractor()
    x = extractor.extract_many(rows)
    names = list(extractor.schema.names)
    booster = lgb.train(PARAMS, lgb.Dataset(x, label, feature_name=names), trees)
    forest = Forest.from_lightgbm(booster)
    calibration = RiskCalibration.fit(forest.score_many(x, raw=True), label)
    RiskModel(forest, calibration, names).save(str(model_file))

    baseline = baseline_features(rows.to_pandas())[BASELINE_FEATURES].to_numpy(np.float64)
    base_booster = lgb.train(
        PARAMS, lgb.Dataset(baseline, label, feature_name=BASELINE_FEATURES), trees
    )
    base_booster.save_model(str(booster_file))
    return str(model_file), str(booster_file)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q, method="higher"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=5_000_000)
    parser.add_argument("--baseline-payments", type=int, default=200_000)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-dask", action="store_true", help="leave out the Dask run")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    args = parser.parse_args()
    trees = TREES
    folder = CACHE
    if args.quick:
        args.payments, args.baseline_payments, args.repeats, trees = 3_000, 3_000, 1, 20
        folder = CACHE / "quick"
    args.baseline_payments = min(args.baseline_payments, args.payments)
    folder.mkdir(parents=True, exist_ok=True)
    cores = len(os.sched_getaffinity(0))
    print(f"machine: {radarcore._core.describe_cpu()}, nproc {cores}")
    print(f"load average before: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    began = time.perf_counter()
    history = history_file(args.payments, folder)
    source, head = inputs(history, args.payments, args.baseline_payments, folder)
    model_file, booster_file = train(history, folder, trees)
    from radarcore.models.bundle import default_model

    bundled = default_model()
    print(
        f"{args.payments:,} payments ready in {time.perf_counter() - began:.0f}s "
        f"(cached in {folder}); {args.rules} rules; bundled default model: "
        f"{bundled.forest.n_trees} trees; trained model: {trees} trees x 31 leaves"
    )
    out = folder / "out.parquet"
    pipelines: list[tuple[str, int, Callable[..., int], tuple[Any, ...], int]] = [
        (
            f"pandas rolling + LightGBM predict ({trees} trees)",
            args.baseline_payments,
            run_baseline,
            (head, out, booster_file, args.rules),
            1,
        ),
        (
            "radarcore, 1 core, bundled default model",
            args.payments,
            run_radarcore,
            (source, out, None, args.rules, 1, False),
            1,
        ),
        (
            f"radarcore, 1 core, {trees} trees",
            args.payments,
            run_radarcore,
            (source, out, model_file, args.rules, 1, False),
            1,
        ),
        (
            f"radarcore, {cores} threads in process, bundled default model",
            args.payments,
            run_radarcore,
            (source, out, None, args.rules, cores, False),
            cores,
        ),
        (
            f"radarcore, {cores} threads in process, {trees} trees",
            args.payments,
            run_radarcore,
            (source, out, model_file, args.rules, cores, False),
            cores,
        ),
    ]
    if not args.skip_dask:
        pipelines.append(
            (
                f"radarcore, Dask {cores} workers, {trees} trees",
                args.payments,
                run_radarcore,
                (source, out, model_file, args.rules, cores, True),
                cores,
            )
        )
    results = []
    for name, payments, job, job_args, workers in pipelines:
        runs = [measure(job, job_args) for _ in range(args.repeats)]
        assert all(r[0] == payments for r in runs), name
        seconds = [r[1] for r in runs]
        results.append(
            (name, payments, statistics.median(seconds), percentile(seconds, 99), runs, workers)
        )
        print(f"  {name}: {', '.join(f'{s:.1f}s' for s in seconds)}", flush=True)
    baseline_rate = results[0][1] / results[0][2]
    baseline_cpu_rate = results[0][1] / statistics.median(r[2] for r in results[0][4])
    print()
    print(f"load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(
        "| pipeline | payments | median s | p99 s | payments/s | payments/s per core | "
        "CPU s (median) | payments per CPU second | peak RSS MB | vs pandas | vs pandas (CPU) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, payments, median, p99, runs, workers in results:
        rate = payments / median
        cpu = statistics.median(r[2] for r in runs)
        peak = max(r[3] for r in runs)
        # Dask: the CPU time and memory are the client's only.
        cpu_rate = "-" if "Dask" in name else f"{payments / cpu:,.0f}"
        cpu_ratio = "-" if "Dask" in name else f"{payments / cpu / baseline_cpu_rate:.1f}x"
        print(
            f"| {name} | {payments:,} | {median:.2f} | {p99:.2f} | {rate:,.0f} | "
            f"{rate / workers:,.0f} | {cpu:.2f} | {cpu_rate} | {peak / 2**20:,.0f} | "
            f"{rate / baseline_rate:.1f}x | {cpu_ratio} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
