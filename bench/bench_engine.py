"""Benchmark: one payment end to end through the in-process API, as a gateway calls it.

``radar.payment_intents.create(..., confirm=True, radar_options={"session": ...})``: parameter
checks, objects, features and velocity, a 200-tree forest, the default rules and lists, the
Charge/PaymentIntent/event-log writes in one transaction, the velocity update. Measured with the
in-memory store and with SQLite (WAL, a file in a temp dir), and split into time in the core
(the assessor's calls: features, forests, rules; and the velocity update), in the store, and in
the Python around them; the assessment alone (``Radar.assess``, from the event to the decision)
is timed per payment too. The latencies come from payments run with nothing instrumented; the
split from the same payments made again, with the timers on.

Baseline: the same decision made by calling the building blocks' public per-payment methods
directly (``FeatureExtractor.attributes_one`` + ``extract_one``, ``Forest.score_one``,
``RuleSet.evaluate_one``, ``FeatureExtractor.update``), with no objects, no persistence and no
checks: what a user assembling radarcore by hand would start from.

Timing on a shared machine: each payment is timed on the wall clock and in thread CPU time,
and the thread's involuntary context switches are counted around it (``getrusage``), so the
table shows how many payments the scheduler preempted and the wall p99 of those it did not.
The load average is printed before and after each run.

Seeded. ``python bench/bench_engine.py`` (``--quick`` for a smoke run with tiny sizes).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from radarcore import FeatureExtractor, Forest, RuleSet, _core
from radarcore.models._spec import SpecBuilder, TreeSpec
from radarcore.radar import Radar, RadarSettings

START = 1_700_000_000
TARGETS = {"memory": 150.0, "sqlite": 1000.0}


def random_forest(names: list[str], trees: int, depth: int, seed: int) -> Forest:
    """A seeded forest of full trees over the feature schema (the size of a real model)."""
    rng = np.random.default_rng(seed)
    specs = []
    for _ in range(trees):
        tree = TreeSpec()

        def grow(level: int, tree: TreeSpec = tree) -> int:
            if level == depth:
                return tree.add_leaf(float(rng.normal(0.0, 0.1)))
            node = tree.add_split(int(rng.integers(len(names))), float(rng.normal(0.0, 50.0)))
            left = grow(level + 1)
            right = grow(level + 1)
            tree.set_children(node, left, right)
            return node

        grow(0)
        specs.append(tree)
    return Forest.from_spec(SpecBuilder(feature_names=names, trees=specs, base_score=[-4.0]))


def luhn(prefix: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(prefix + "0")):
        d = int(ch)
        total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 else d
    return prefix + str((10 - total % 10) % 10)


class Timer:
    """Accumulates the time spent in wrapped callables (a wrapped call made inside another is
    counted once, in the outer one)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._depth = 0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._depth -= 1
                if not self._depth:
                    self.seconds += time.perf_counter() - start

        return timed


class CoreProxy:
    """The compiled extractor with its calls timed."""

    def __init__(self, core: Any, timer: Timer) -> None:
        self._core = core
        self._timer = timer

    def __getattr__(self, name: str) -> Any:
        return self._timer.wrap(getattr(self._core, name))


def instrument(radar: Radar) -> tuple[Timer, Timer]:
    """Timers of the core (the assessor's calls and the velocity update) and of the store."""
    core, store = Timer(), Timer()
    radar._core_features = CoreProxy(radar._core_features, core)  # type: ignore[assignment]
    assessor = radar._assessor
    assert assessor is not None, "instrument after the warm-up payments"
    assessor.core = CoreProxy(assessor.core, core)  # type: ignore[assignment]
    for name in (
        "put",
        "get",
        "document",
        "list",
        "append_event",
        "save_snapshot",
        "idempotent_response",
        "save_idempotent_response",
    ):
        setattr(radar.store, name, store.wrap(getattr(radar.store, name)))
    transaction = radar.store.transaction

    class TimedTransaction:
        def __enter__(self) -> None:
            self._cm = transaction()
            start = time.perf_counter()
            self._cm.__enter__()
            store.seconds += time.perf_counter() - start

        def __exit__(self, *exc: Any) -> None:
            start = time.perf_counter()
            self._cm.__exit__(*exc)
            store.seconds += time.perf_counter() - start

    radar.store.transaction = TimedTransaction  # type: ignore[method-assign,assignment]
    return core, store


def workload(radar: Radar, n: int, seed: int) -> list[dict[str, Any]]:
    """Seeded payments over pools of cards, customers and sessions, created up front."""
    rng = random.Random(seed)
    cards = [
        radar.payment_methods.create(
            type="card",
            card={
                "number": luhn(f"4{rng.randrange(10**13, 10**14)}"),
                "exp_month": 5,
                "exp_year": 2031,
            },
            billing_details={
                "email": f"user{i}@example.com",
                "name": f"User {i}",
                "address": {"country": rng.choice(["US", "GB", "FR"])},
            },
        ).id
        for i in range(max(4, n // 20))
    ]
    sessions = [
        radar.radar_sessions.create(
            ip_address=f"198.51.{rng.randrange(256)}.{rng.randrange(256)}",
            user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            device_id=f"dev{i}",
        ).id
        for i in range(max(4, n // 10))
    ]
    return [
        {
            "amount": rng.randrange(500, 50_000),
            "currency": "usd",
            "payment_method": rng.choice(cards),
            "confirm": True,
            "radar_options": {"session": rng.choice(sessions)},
            "description": "order",
        }
        for _ in range(n)
    ]


def run_engine(
    store: str, forest: Forest, n: int, warmup: int, seed: int, directory: str
) -> dict[str, float]:
    url = "memory://" if store == "memory" else f"sqlite:///{directory}/{store}.db"
    clock = iter(range(START, START + 100 * (n + warmup + 10_000)))
    radar = Radar(
        url,
        model=forest,
        settings=RadarSettings(fingerprint_key=b"b" * 32),
        clock=lambda: next(clock),
    )
    requests = workload(radar, n + warmup, seed)
    for request in requests[:warmup]:
        radar.payment_intents.create(request)
    # The latencies, from payments nothing else measures.
    samples = Samples()
    for request in requests[warmup:]:
        with samples:
            radar.payment_intents.create(request)
    # The split, from the same payments made again with the core's and the store's calls timed
    # (the timers cost a few µs a payment, so they stay out of the latencies above).
    core, store_time = instrument(radar)
    assessments: list[float] = []
    radar.assessment_observer = lambda _, seconds: assessments.append(seconds)
    start = time.perf_counter()
    for request in requests[warmup:]:
        radar.payment_intents.create(request)
    total = time.perf_counter() - start
    radar.close()
    return samples.summary() | {
        "core": core.seconds / total,
        "store": store_time.seconds / total,
        "assess_median": statistics.median(assessments) * 1e6,
        "assess_p99": quantile(assessments, 0.99) * 1e6,
    }


def run_baseline(forest: Forest, n: int, warmup: int, seed: int) -> dict[str, float]:
    features = FeatureExtractor()
    rules = RuleSet.default()
    rng = random.Random(seed)
    columns = [features.schema.index(name) for name in forest.feature_names]
    events = [
        {
            "id": f"ch_{i}",
            "created": START + 100 * i,
            "amount": rng.randrange(500, 50_000),
            "currency": "usd",
            "card_fingerprint": f"fp{rng.randrange(max(4, n // 20))}",
            "card_bin": "424242",
            "email": f"user{rng.randrange(max(4, n // 20))}@example.com",
            "ip_address": f"198.51.{rng.randrange(256)}.{rng.randrange(256)}",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            "device_id": f"dev{rng.randrange(max(4, n // 10))}",
            "description": "order",
        }
        for i in range(n + warmup)
    ]
    samples = Samples()
    for i, event in enumerate(events):
        samples.__enter__()
        attributes = features.attributes_one(event)
        row = features.extract_one(event)
        margin = float(forest.score_one(row[columns], raw=True))
        score = max(0, min(100, round(75 + 4.5512 * margin)))
        attributes["risk_score"] = float(score)
        attributes["risk_level"] = (
            "highest" if score >= 75 else "elevated" if score >= 65 else "normal"
        )
        decision = rules.evaluate_one(attributes, at=event["created"])
        features.update(event, "blocked" if decision.action == "block" else "authorized")
        samples.__exit__(keep=i >= warmup)
    return samples.summary()


class Samples:
    """Per-payment wall time, thread CPU time and context switches (the switch counts are read
    outside the timed span, so reading them costs the payment nothing): an involuntary one
    means the scheduler preempted the payment, a voluntary one that the payment waited (for
    the disk, or for a lock another thread held, such as SQLite's checkpointer)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.preempted: list[bool] = []
        self.waited: list[bool] = []

    def __enter__(self) -> None:
        usage = resource.getrusage(resource.RUSAGE_THREAD)
        self._switches = usage.ru_nivcsw, usage.ru_nvcsw
        self._cpu = time.thread_time()
        self._wall = time.perf_counter()

    def __exit__(self, *exc: object, keep: bool = True) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        usage = resource.getrusage(resource.RUSAGE_THREAD)
        if keep:
            self.wall.append(wall - self._wall)
            self.cpu.append(cpu - self._cpu)
            self.preempted.append(usage.ru_nivcsw != self._switches[0])
            self.waited.append(usage.ru_nvcsw != self._switches[1])

    def summary(self) -> dict[str, float]:
        """Medians and tails in µs; ``preempted`` is the share of payments the scheduler
        interrupted, ``quiet_p99`` the wall p99 of the others, ``waited`` the share of payments
        that blocked."""
        quiet = [w for w, p in zip(self.wall, self.preempted, strict=True) if not p]
        return {
            "median": statistics.median(self.wall) * 1e6,
            "p99": quantile(self.wall, 0.99) * 1e6,
            "p999": quantile(self.wall, 0.999) * 1e6,
            "cpu_median": statistics.median(self.cpu) * 1e6,
            "cpu_p99": quantile(self.cpu, 0.99) * 1e6,
            "preempted": sum(self.preempted) / len(self.preempted),
            "quiet_p99": quantile(quiet, 0.99) * 1e6 if quiet else math.nan,
            "waited": sum(self.waited) / len(self.waited),
            "n": float(len(self.wall)),
        }


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    parser.add_argument("--payments", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    n, warmup, trees = (60, 10, 20) if args.quick else (args.payments, 500, 200)

    names = list(FeatureExtractor().schema.names)
    forest = random_forest(names, trees, 6, args.seed)
    runs: dict[str, Callable[[str], dict[str, float]]] = {
        "hand-assembled building blocks (baseline)": lambda _: run_baseline(
            forest, n, warmup, args.seed
        ),
        "memory": lambda directory: run_engine("memory", forest, n, warmup, args.seed, directory),
        "sqlite": lambda directory: run_engine("sqlite", forest, n, warmup, args.seed, directory),
    }
    results, loads = {}, {}
    with tempfile.TemporaryDirectory() as directory:
        for name, run in runs.items():
            before = os.getloadavg()[0]
            results[name] = run(directory)
            loads[name] = f"{before:.1f} → {os.getloadavg()[0]:.1f}"
    baseline = results["hand-assembled building blocks (baseline)"]["median"]
    print(f"machine: {_core.describe_cpu()}; nproc {os.cpu_count()}")
    print(
        f"payments timed per row: {int(results['memory']['n'])}, forest {trees} trees of "
        "depth 6, default rules and lists\n"
    )
    print(
        "| path | median µs | p99 µs | p99.9 µs | CPU median µs | CPU p99 µs | preempted | "
        "unpreempted p99 µs | waited | median / baseline | core | store | Python | "
        "assessment median µs | assessment p99 µs | load average | p99 target µs |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        if "core" in r:
            split = (
                f"{r['core']:.0%} | {r['store']:.0%} | {max(0.0, 1 - r['core'] - r['store']):.0%}"
                f" | {r['assess_median']:.0f} | {r['assess_p99']:.0f}"
            )
            label = f"radar.payment_intents.create(confirm=True), {name} store"
            target = f"{TARGETS[name]:.0f}"
        else:
            split, label, target = "- | - | - | - | -", name, "-"
        print(
            f"| {label} | {r['median']:.0f} | {r['p99']:.0f} | {r['p999']:.0f} | "
            f"{r['cpu_median']:.0f} | {r['cpu_p99']:.0f} | {r['preempted']:.1%} | "
            f"{r['quiet_p99']:.0f} | {r['waited']:.1%} | {r['median'] / baseline:.2f} | {split} | "
            f"{loads[name]} | "
            f"{target} |"
        )


if __name__ == "__main__":
    main()
