"""Regenerate the bundled default model, python/radarcore/data/default_model.rcm.

Seeded end to end: the synthetic history (``radarcore.synth.generate``), the point-in-time
replay and LightGBM (deterministic mode, fixed threads) give the same trees on every run on the
same platform. Usage: ``python scripts/train_default_model.py [--payments N] [--seed S]``.

The history is 1.5 million payments (75 days at the synthetic stream's default fraud rate, so
the calibration holds for that rate): about 59 days train, with some 2,000 fraudulent payments
labelled by the cut-off; training keeps the prefix of at most 200 trees (31 leaves) with the
lowest validation log loss (see ``radarcore.models.training``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from radarcore import synth
from radarcore.models.training import DAY, train

OUTPUT = (
    Path(__file__).resolve().parent.parent / "python" / "radarcore" / "data" / "default_model.rcm"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=1_500_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    began = time.perf_counter()
    history = synth.generate(args.payments, seed=args.seed, progress=True)
    generated = time.perf_counter()
    created = history.payments.column("created").to_numpy()
    cutoff = int(created.max()) + 1
    model = train(
        history.payments,
        history.labels,
        cutoff=cutoff,
        gap=2 * DAY,
        validation=7 * DAY,
        maturity=7 * DAY,
        seed=args.seed,
        progress=True,
    )
    model.metadata["source"] = f"radarcore.synth.generate({args.payments}, seed={args.seed})"
    model.save(args.output)
    done = time.perf_counter()
    print(
        f"wrote {args.output} ({args.output.stat().st_size:,} bytes, {model.forest.n_trees} "
        f"trees of at most {model.metadata['params']['num_leaves']} leaves): generated in "
        f"{generated - began:.0f}s, trained in {done - generated:.0f}s; "
        f"fraudulent {model.metadata['fraudulent']}, "
        f"validation {model.metadata['validation_metrics']}"
    )


if __name__ == "__main__":
    main()
