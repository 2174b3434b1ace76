"""Forest scoring speed: radarcore against the tools a user would otherwise pick, in one run.

Trains (once, cached under bench/.cache/) LightGBM binary models with 63 leaves on 64 synthetic
features, 500 and 100 trees, and an XGBoost model grown the same way, then times single-threaded
batch throughput and single-row latency for radarcore, LightGBM ``predict``, XGBoost
``inplace_predict``, a tl2cgen-compiled library, lleaves (its compiled function called through
ctypes for single rows) and ONNX Runtime. Batch throughput is timed twice: by the wall clock and
by the process's CPU time, which stays steady when other jobs share the machine (every engine
runs single-threaded, so CPU time is its whole cost). ``--quick`` uses tiny sizes so the test
suite can run the whole script in seconds.

    python bench/bench_forest.py            # full run (first run trains and compiles: minutes)
    python bench/bench_forest.py --quick
"""

from __future__ import annotations

import argparse
import ctypes
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import xgboost as xgb

import radarcore
from radarcore import _core

CACHE = Path(__file__).resolve().parent / ".cache"
N_FEATURES = 64
N_LEAVES = 63
SEED = 20261122


@dataclass
class Sizes:
    trees: tuple[int, ...]
    train_rows: int
    batch_rows: int
    batch_repeats: int
    single_calls: int


FULL = Sizes(
    trees=(500, 100), train_rows=40_000, batch_rows=20_000, batch_repeats=5, single_calls=3_000
)
QUICK = Sizes(trees=(8,), train_rows=2_000, batch_rows=300, batch_repeats=2, single_calls=30)


@dataclass
class Result:
    engine: str
    rows_per_s: float
    cpu_rows_per_s: float
    single_median_us: float
    single_p99_us: float
    max_abs_diff: float


def make_data(rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(rows, N_FEATURES))
    x[rng.random(x.shape) < 0.02] = np.nan
    z = np.nan_to_num(x)
    logit = z[:, 0] * z[:, 1] + np.sin(3 * z[:, 2]) + 0.5 * z[:, 3:10].sum(axis=1) - 0.7
    y = (logit + rng.normal(size=rows) > 0).astype(np.int32)
    return x, y


def train_models(trees: int, sizes: Sizes, tag: str) -> tuple[Path, Path]:
    CACHE.mkdir(parents=True, exist_ok=True)
    lgb_path = CACHE / f"lightgbm_{tag}_{trees}.txt"
    xgb_path = CACHE / f"xgboost_{tag}_{trees}.json"
    if lgb_path.exists() and xgb_path.exists():
        return lgb_path, xgb_path
    x, y = make_data(sizes.train_rows, np.random.default_rng(SEED))
    params = {
        "objective": "binary",
        "num_leaves": N_LEAVES,
        "learning_rate": 0.05,
        "min_data_in_leaf": 5,
        "verbose": -1,
        "num_threads": 2,
        "seed": SEED,
    }
    lgb.train(params, lgb.Dataset(x, y), trees).save_model(str(lgb_path))
    xparams = {
        "objective": "binary:logistic",
        "tree_method": "hist",
        "grow_policy": "lossguide",
        "max_leaves": N_LEAVES,
        "max_depth": 0,
        "eta": 0.05,
        "nthread": 2,
        "seed": SEED,
    }
    xgb.train(xparams, xgb.DMatrix(x, y), trees).save_model(str(xgb_path))
    return lgb_path, xgb_path


def time_batch(fn: Callable[[], Any], rows: int, repeats: int) -> tuple[float, float]:
    """Rows per second by the median wall-clock and the median process CPU time of a call."""
    fn()
    wall = []
    cpu = []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return rows / float(np.median(wall)), rows / max(float(np.median(cpu)), 1e-9)


def time_single(fn: Callable[[int], Any], calls: int) -> tuple[float, float]:
    for i in range(min(calls, 100)):
        fn(i)
    times = np.empty(calls)
    clock = time.perf_counter_ns
    for i in range(calls):
        start = clock()
        fn(i)
        times[i] = clock() - start
    return float(np.median(times)) / 1e3, float(np.percentile(times, 99)) / 1e3


def bench_model(trees: int, sizes: Sizes, tag: str) -> list[Result]:
    lgb_path, xgb_path = train_models(trees, sizes, tag)
    x, _ = make_data(sizes.batch_rows, np.random.default_rng(SEED + 1))
    x32 = x.astype(np.float32)
    rows = [np.ascontiguousarray(r) for r in x[: sizes.single_calls]]
    n_rows = len(rows)
    booster = lgb.Booster(model_file=str(lgb_path))
    expected = booster.predict(x, num_threads=1)
    results: list[Result] = []

    def add(engine: str, batch: Callable[[], Any], one: Callable[[int], Any]) -> None:
        diff = float(np.max(np.abs(np.asarray(batch(), dtype=np.float64).ravel() - expected)))
        rps, cpu_rps = time_batch(batch, sizes.batch_rows, sizes.batch_repeats)
        median, p99 = time_single(lambda i: one(i % n_rows), sizes.single_calls)
        results.append(Result(engine, rps, cpu_rps, median, p99, diff))

    forest = radarcore.Forest.from_lightgbm(lgb_path)
    add("radarcore", lambda: forest.score_many(x, n_threads=1), lambda i: forest.score_one(rows[i]))
    add(
        "LightGBM predict",
        lambda: booster.predict(x, num_threads=1),
        lambda i: booster.predict(rows[i][None, :], num_threads=1),
    )
    add_xgboost(add, xgb_path, x, rows, sizes, expected)
    add_tl2cgen(add, booster, x, rows, trees, tag)
    add_lleaves(add, lgb_path, x, rows, trees, tag)
    add_onnx(add, booster, x32, rows)
    return results


def add_xgboost(
    add: Callable[..., None],
    path: Path,
    x: np.ndarray,
    rows: list[np.ndarray],
    sizes: Sizes,
    expected: np.ndarray,
) -> None:
    booster = xgb.Booster(model_file=str(path))
    booster.set_param({"nthread": 1})
    forest = radarcore.Forest.from_xgboost(booster)
    predicted = booster.inplace_predict(x)
    mismatch = float(np.max(np.abs(forest.score_many(x) - predicted)))
    print(f"  radarcore vs XGBoost on the XGBoost model: max |diff| {mismatch:.2e}")
    add(
        "XGBoost inplace_predict*",
        lambda: booster.inplace_predict(x) * 0 + expected,
        lambda i: booster.inplace_predict(rows[i][None, :]),
    )
    add(
        "radarcore on XGBoost model*",
        lambda: forest.score_many(x, n_threads=1) * 0 + expected,
        lambda i: forest.score_one(rows[i]),
    )


def add_tl2cgen(
    add: Callable[..., None],
    booster: lgb.Booster,
    x: np.ndarray,
    rows: list[np.ndarray],
    trees: int,
    tag: str,
) -> None:
    import tl2cgen
    import treelite

    lib = CACHE / f"tl2cgen_{tag}_{trees}.so"
    if not lib.exists():
        model = treelite.frontend.from_lightgbm(booster)
        tl2cgen.export_lib(
            model, toolchain="gcc", libpath=str(lib), params={"parallel_comp": 2}, nthread=2
        )
    predictor = tl2cgen.Predictor(str(lib), nthread=1)
    dmat = tl2cgen.DMatrix(x, dtype="float64")
    add(
        "tl2cgen compiled",
        lambda: predictor.predict(dmat),
        lambda i: predictor.predict(tl2cgen.DMatrix(rows[i][None, :], dtype="float64")),
    )


def add_lleaves(
    add: Callable[..., None],
    path: Path,
    x: np.ndarray,
    rows: list[np.ndarray],
    trees: int,
    tag: str,
) -> None:
    import lleaves

    model = lleaves.Model(model_file=str(path))
    model.compile(cache=str(CACHE / f"lleaves_{tag}_{trees}.o"))
    entry = model._c_entry_func
    out = np.zeros(1)
    out_ptr = out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
    ptrs = [r.ctypes.data_as(ctypes.POINTER(ctypes.c_double)) for r in rows]

    def one(i: int) -> float:
        entry(ptrs[i], out_ptr, 0, 1)
        return float(out[0])

    add("lleaves", lambda: model.predict(x, n_jobs=1), one)


def add_onnx(
    add: Callable[..., None], booster: lgb.Booster, x32: np.ndarray, rows: list[np.ndarray]
) -> None:
    import onnxmltools
    import onnxruntime as ort
    from onnxmltools.convert.common.data_types import FloatTensorType

    onx = onnxmltools.convert_lightgbm(
        booster, initial_types=[("input", FloatTensorType([None, N_FEATURES]))], zipmap=False
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        onx.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    name = session.get_outputs()[1].name
    rows32 = [r.astype(np.float32)[None, :] for r in rows]
    add(
        "ONNX Runtime (float32)",
        lambda: session.run([name], {"input": x32})[0][:, 1],
        lambda i: session.run([name], {"input": rows32[i]}),
    )


def print_table(trees: int, results: list[Result]) -> None:
    ours = results[0]
    print(f"\n### {trees} trees x {N_LEAVES} leaves, {N_FEATURES} features, single-threaded\n")
    print(
        "| engine | batch rows/s (wall) | speed-up (wall) | batch rows/s (CPU) | speed-up (CPU) "
        "| single-row median µs | p99 µs | speed-up (median) | max abs diff vs LightGBM |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.engine} | {r.rows_per_s:,.0f} | {ours.rows_per_s / r.rows_per_s:.2f}x "
            f"| {r.cpu_rows_per_s:,.0f} | {ours.cpu_rows_per_s / r.cpu_rows_per_s:.2f}x "
            f"| {r.single_median_us:.2f} | {r.single_p99_us:.2f} "
            f"| {r.single_median_us / ours.single_median_us:.2f}x | {r.max_abs_diff:.1e} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    tag = "quick" if args.quick else "full"
    print(
        f"machine: {_core.describe_cpu()}, nproc {os.cpu_count()}, radarcore "
        f"{radarcore.__version__}, lightgbm {lgb.__version__}, xgboost {xgb.__version__}, "
        f"load average {_load()}"
    )
    print(
        "* XGBoost rows time a model trained by XGBoost with the same settings; their diff "
        "column is not comparable and shows 0."
    )
    for trees in sizes.trees:
        results = bench_model(trees, sizes, tag)
        print_table(trees, results)
    x, _ = make_data(sizes.batch_rows, np.random.default_rng(SEED + 1))
    forest = radarcore.Forest.from_lightgbm(train_models(sizes.trees[0], sizes, tag)[0])
    threads = _core.hardware_threads()
    rps, _ = time_batch(
        lambda: forest.score_many(x, n_threads=threads), sizes.batch_rows, sizes.batch_repeats
    )
    print(f"\nradarcore on {threads} threads, {sizes.trees[0]} trees: {rps:,.0f} rows/s (wall)")
    print(f"load average at the end: {_load()}")


def _load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


if __name__ == "__main__":
    main()
