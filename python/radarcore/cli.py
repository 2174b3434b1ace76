"""The ``radarcore`` command line: one subcommand per function, registered in ``COMMANDS``.

Each subcommand is a pair: ``add_<name>(parser)`` declares its arguments and ``run_<name>(args)``
does the work and returns the exit status. Adding a command means writing that pair and
listing it in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["COMMANDS", "build_parser", "main"]


def _date(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid date {text!r}: expected ISO 8601 such as 2025-01-01 or 2025-01-01T00:00:00Z"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def add_synth(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--payments", type=_positive, required=True, help="number of payments")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="directory for the two Parquet files"
    )
    parser.add_argument(
        "--days", type=_positive, default=None, help="days covered (default: scales with N)"
    )
    parser.add_argument(
        "--start", type=_date, default=None, help="first day, ISO 8601 (default 2025-01-01 UTC)"
    )
    parser.add_argument(
        "--fraud-rate", type=float, default=0.005, help="share of fraudulent payments"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def run_synth(args: argparse.Namespace) -> int:
    from radarcore import synth

    began = time.perf_counter()
    history = synth.generate(
        args.payments,
        seed=args.seed,
        start=args.start or synth.DEFAULT_START,
        days=args.days,
        fraud_rate=args.fraud_rate,
        progress=not args.quiet,
    )
    payments, labels = synth.write(history, args.output)
    if not args.quiet:
        fraud = history.payments.column("is_fraud").to_numpy(zero_copy_only=False).sum()
        print(
            f"wrote {history.payments.num_rows} payments ({fraud} fraudulent) to {payments} and "
            f"{history.labels.num_rows} labels to {labels} in {time.perf_counter() - began:.1f}s"
        )
    return 0


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of days {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 days, got {value}")
    return value


def _read_history(payments: Path, labels: Path) -> tuple[Any, Any]:
    import pyarrow.parquet as pq

    return pq.read_table(payments), pq.read_table(labels)


def add_train(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("history (Parquet files, or an engine's database)")
    source.add_argument("--payments", type=Path, default=None, help="payments Parquet file")
    source.add_argument("--labels", type=Path, default=None, help="labels Parquet file")
    source.add_argument(
        "--from-database",
        metavar="URL",
        default=None,
        help="train on the payments and labels a Radar engine stored (sqlite:///..., "
        "postgresql://...)",
    )
    parser.add_argument(
        "--cutoff",
        type=_date,
        default=None,
        help="training cut-off, ISO 8601: later payments and later labels are not used "
        "(required with Parquet files; default with --from-database: the newest log entry)",
    )
    parser.add_argument(
        "--gap", type=_days, default=2.0, help="days between training and validation (default 2)"
    )
    parser.add_argument(
        "--validation", type=_days, default=7.0, help="days of validation window (default 7)"
    )
    parser.add_argument(
        "--maturity",
        type=_days,
        default=7.0,
        help="days before the cut-off left out so labels can arrive (default 7)",
    )
    parser.add_argument(
        "--static-only", action="store_true", help="train without velocity or label features"
    )
    parser.add_argument(
        "--trees", type=_positive, default=None, help="most trees (default: the training default)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--register",
        choices=("inactive", "shadow"),
        default=None,
        help="with --from-database, also store the model in that database as a version "
        "(inactive, or in shadow beside the live model)",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="model file to write")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or summary")


def _training_history(args: argparse.Namespace) -> tuple[Any, Any, int]:
    """``(payments, labels, cutoff)`` from the Parquet files or the engine's database."""
    if args.from_database is not None:
        if args.payments is not None or args.labels is not None:
            raise ValueError("use either --from-database or --payments/--labels")
        from radarcore.models.training import history_from_events
        from radarcore.store import open_store

        store = open_store(args.from_database)
        try:
            payments, labels = history_from_events(store.events())
        finally:
            store.close()
        newest = max(
            int(payments.column("created").to_numpy().max()),
            int(labels.column("known_at").to_numpy().max()) if labels.num_rows else 0,
        )
        cutoff = newest if args.cutoff is None else int(args.cutoff.timestamp())
        return payments, labels, cutoff
    if args.payments is None or args.labels is None or args.cutoff is None:
        raise ValueError("give --payments, --labels and --cutoff, or --from-database")
    if args.register is not None:
        raise ValueError("--register needs --from-database")
    payments, labels = _read_history(args.payments, args.labels)
    return payments, labels, int(args.cutoff.timestamp())


def run_train(args: argparse.Namespace) -> int:
    from radarcore.features import FeatureExtractor
    from radarcore.models.training import DAY, NUM_BOOST_ROUND, static_feature_names, train

    began = time.perf_counter()
    payments, labels, cutoff = _training_history(args)
    features = static_feature_names(FeatureExtractor().schema) if args.static_only else None
    model = train(
        payments,
        labels,
        cutoff=cutoff,
        gap=int(args.gap * DAY),
        validation=int(args.validation * DAY),
        maturity=int(args.maturity * DAY),
        features=features,
        num_boost_round=NUM_BOOST_ROUND if args.trees is None else args.trees,
        seed=args.seed,
        progress=not args.quiet,
    )
    if args.from_database is not None:
        source = "radarcore train --from-database"
        model = dataclasses.replace(model, metadata={**model.metadata, "source": source})
    model.save(args.output)
    if args.register is not None:
        _register(args.from_database, model, shadow=args.register == "shadow")
    if not args.quiet:
        metrics = model.metadata["validation_metrics"]
        print(
            f"wrote {model.version} ({model.forest.n_trees} trees) to {args.output} in "
            f"{time.perf_counter() - began:.1f}s; validation ROC AUC {metrics['roc_auc']:.4f}, "
            f"average precision {metrics['average_precision']:.4f}"
            + ("" if args.register is None else f"; stored as a version ({args.register})")
        )
    return 0


def _register(url: str, model: Any, *, shadow: bool) -> None:
    from radarcore.models.registry import add_version
    from radarcore.store import open_store

    store = open_store(url)
    try:
        add_version(store, model, shadow=shadow)
    finally:
        store.close()


def add_evaluate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--payments", type=Path, required=True, help="payments Parquet file")
    parser.add_argument("--labels", type=Path, required=True, help="labels Parquet file")
    parser.add_argument(
        "--model",
        type=Path,
        action="append",
        default=None,
        help="model file to evaluate (repeatable; default: the bundled model)",
    )
    parser.add_argument("--start", type=_date, required=True, help="test window start, ISO 8601")
    parser.add_argument("--end", type=_date, default=None, help="test window end (default: all)")
    parser.add_argument(
        "--no-static-baseline",
        action="store_true",
        help="skip retraining the first model without velocity features for comparison",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the report as JSON here")
    parser.add_argument("--html", type=Path, default=None, help="write the HTML report here")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or table")


def run_evaluate(args: argparse.Namespace) -> int:
    import json

    from radarcore.features import FeatureExtractor
    from radarcore.models import RiskModel, default_model
    from radarcore.models.evaluation import evaluate, summary_table, write_html
    from radarcore.models.training import (
        MIN_BOOST_ROUND,
        NEGATIVE_SAMPLE,
        static_feature_names,
        train,
    )

    schema = FeatureExtractor().schema
    models: dict[str, RiskModel] = {}
    for path in args.model or []:
        models[path.stem] = RiskModel.load(path, schema=schema)
    if not models:
        models["default"] = default_model()
    payments, labels = _read_history(args.payments, args.labels)
    if not args.no_static_baseline:
        first = next(iter(models.values()))
        meta = first.metadata
        models["no velocity"] = train(
            payments,
            labels,
            cutoff=int(meta["cutoff"]),
            gap=int(meta["gap"]),
            validation=int(meta["validation_window"][1] - meta["validation_window"][0]),
            maturity=int(meta["maturity"]),
            features=static_feature_names(schema),
            params={k: v for k, v in meta["params"].items() if k != "seed"},
            num_boost_round=int(meta["num_boost_round"]),
            min_boost_round=int(meta.get("min_boost_round", MIN_BOOST_ROUND)),
            negative_sample=float(meta.get("negative_sample", NEGATIVE_SAMPLE)),
            seed=int(meta["params"].get("seed", 0)),
            progress=not args.quiet,
        )
    result = evaluate(
        payments,
        labels,
        models,
        start=int(args.start.timestamp()),
        end=None if args.end is None else int(args.end.timestamp()),
        progress=not args.quiet,
    )
    if args.json is not None:
        args.json.write_text(json.dumps(result.report, indent=2), encoding="utf-8")
    if args.html is not None:
        write_html(result, str(args.html))
    if not args.quiet:
        print(summary_table(result.report))
    return 0


def add_score(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs", nargs="+", type=Path, help="Parquet/CSV/Arrow IPC files or directories of them"
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="Parquet file to write")
    parser.add_argument(
        "--model", type=Path, default=None, help="risk model file (default: the bundled model)"
    )
    parser.add_argument(
        "--rules",
        type=Path,
        default=None,
        help="rule file, one rule per line, run before Radar's default rules",
    )
    parser.add_argument(
        "--mapping",
        default=None,
        help="column mapping: a .toml/.json file or a bundled name (fraud_detection_handbook)",
    )
    parser.add_argument(
        "--map", action="append", default=[], metavar="FIELD=COLUMN", help="map one event field"
    )
    parser.add_argument(
        "--const", action="append", default=[], metavar="FIELD=VALUE", help="a constant field"
    )
    parser.add_argument(
        "--contributions", type=int, default=0, help="top contributing features to write"
    )
    parser.add_argument(
        "--dask",
        default=None,
        metavar="local|ADDRESS",
        help="score on Dask: a LocalCluster on all cores, or a scheduler (tcp://host:8786)",
    )
    parser.add_argument(
        "--threads",
        type=_positive,
        default=None,
        help="threads scoring in this process without --dask (default: one per core)",
    )
    parser.add_argument("--partitions", type=_positive, default=None, help="Dask partitions")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")


def run_score(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from radarcore.batch import score_files
    from radarcore.mapping import ColumnMapping
    from radarcore.models.bundle import RiskModel, default_model
    from radarcore.rules import RuleSet

    began = time.perf_counter()
    model = default_model() if args.model is None else RiskModel.load(args.model)
    custom = () if args.rules is None else RuleSet.parse(args.rules.read_text("utf-8")).rules
    rules = RuleSet.default(custom)
    base = None
    if args.mapping is not None:
        path = Path(args.mapping)
        base = ColumnMapping.load(path) if path.suffix else ColumnMapping.bundled(args.mapping)
    mapping = ColumnMapping.from_options(args.map, args.const, base)
    with ExitStack() as stack:
        client = None
        if args.dask is not None:
            import importlib

            distributed: Any = importlib.import_module("dask.distributed")
            if args.dask == "local":
                cluster = stack.enter_context(
                    distributed.LocalCluster(processes=True, dashboard_address=":0")
                )
                client = stack.enter_context(distributed.Client(cluster))
            else:
                client = stack.enter_context(distributed.Client(args.dask))
        rows = score_files(
            args.inputs,
            args.output,
            model=model,
            rules=rules,
            mapping=mapping,
            contributions=args.contributions,
            progress=not args.quiet,
            threads=args.threads,
            client=client,
            partitions=args.partitions,
        )
    if not args.quiet:
        elapsed = time.perf_counter() - began
        print(f"scored {rows} payments into {args.output} in {elapsed:.1f}s")
    return 0


def add_serve(parser: argparse.ArgumentParser) -> None:
    env = "(also RADARCORE_{})"
    parser.add_argument(
        "--host", default=None, help=f"address to bind (127.0.0.1) {env.format('HOST')}"
    )
    parser.add_argument("--port", type=int, default=None, help=f"port (8000) {env.format('PORT')}")
    parser.add_argument(
        "--database-url",
        default=None,
        help=f"sqlite:///radarcore.db (default) or postgresql://... {env.format('DATABASE_URL')}",
    )
    parser.add_argument(
        "--model", default=None, help=f"a model file (.rcm or .rcf) {env.format('MODEL')}"
    )
    parser.add_argument(
        "--rules", default=None, help=f"a file of custom rules, one per line {env.format('RULES')}"
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help=f"worker processes (1) {env.format('WORKERS')}",
    )
    parser.add_argument(
        "--cors-origins",
        default=None,
        help="comma-separated origins whose pages may create Radar Sessions with radar.js "
        f"(https://shop.example, or *) {env.format('CORS_ORIGINS')}",
    )
    parser.add_argument(
        "--trusted-proxies",
        default=None,
        help="comma-separated proxy addresses or networks whose X-Forwarded-For is believed "
        f"{env.format('TRUSTED_PROXIES')}",
    )


def run_serve(args: argparse.Namespace) -> int:
    try:
        from radarcore.server.app import serve
        from radarcore.server.config import ServerConfig, split_items
    except ImportError as error:
        print(
            f"radarcore serve: error: {error}; install the server: pip install 'radarcore[server]'",
            file=sys.stderr,
        )
        return 2

    config = ServerConfig.from_env(
        host=args.host,
        port=args.port,
        database_url=args.database_url,
        model=args.model,
        rules=args.rules,
        workers=args.workers,
        cors_origins=None if args.cors_origins is None else split_items(args.cors_origins),
        trusted_proxies=None if args.trusted_proxies is None else split_items(args.trusted_proxies),
    )
    serve(config)
    return 0


COMMANDS: dict[
    str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]
] = {
    "synth": (
        "write a synthetic payment stream with labelled fraud (payments.parquet, labels.parquet)",
        add_synth,
        run_synth,
    ),
    "train": (
        "train and calibrate a risk model on a payment history and the labels known at a cut-off",
        add_train,
        run_train,
    ),
    "evaluate": (
        "compare risk models with rules-only and no-velocity baselines on a later time window",
        add_evaluate,
        run_evaluate,
    ),
    "score": (
        "score historical payments (Parquet, CSV, Arrow IPC) into a Parquet file",
        add_score,
        run_score,
    ),
    "serve": (
        "serve Stripe's API (payments, Radar, webhooks) over HTTP, with metrics and health",
        add_serve,
        run_serve,
    ),
}
"""name -> (help, add arguments, run)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="radarcore", description="An open fraud-scoring engine that behaves like Stripe Radar."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (summary, add, run) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        add(sub)
        sub.set_defaults(run=run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``radarcore`` console script; returns the exit status."""
    from radarcore.errors import RadarError

    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except (RadarError, ValueError, TypeError, OSError) as error:
        print(f"radarcore {args.command}: error: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
