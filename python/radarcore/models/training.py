"""Training a :class:`~radarcore.models.RiskModel` from a payment history and its fraud labels.

Everything is point in time, as the live engine would have seen it:

* Features come from replaying the whole stream, sorted by ``created``, through the batch
  extractor (:func:`replay`): each row's velocity counters count only earlier payments, and
  the extractor records each payment with its ``outcome`` after extracting it.
* Labels (early fraud warnings, disputes, refunds) are fed into the label counters at their
  ``known_at`` time. The batch path cannot interleave them row by row, so the stream is replayed
  in slices of ``label_interval`` seconds and each label is recorded before the first slice that
  starts after it became known: a label reaches the counters at most ``label_interval`` late,
  never early.
* Only labels known at the training ``cutoff`` are used, as features and as targets. A payment
  is a positive when a fraud label (``dispute``, ``early_fraud_warning``,
  ``fraudulent_refund``) about it is known at the cut-off.

Time is split into a training window, a gap (so the two windows share no burst of fraud and
the validation margins are honest), and a validation window that ends ``maturity`` seconds
before the cut-off (so its payments had time to collect labels). LightGBM grows
``num_boost_round`` trees and keeps the prefix with the lowest log loss on the validation window
(at least ``min_boost_round`` trees), and :class:`~radarcore.models.RiskCalibration` is fitted
on that window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from radarcore.features import FeatureExtractor, FeatureSchema
from radarcore.models.bundle import RiskModel
from radarcore.models.calibration import RiskCalibration
from radarcore.models.metrics import average_precision, roc_auc

if TYPE_CHECKING:
    from radarcore.store import Event

__all__ = [
    "DEFAULT_PARAMS",
    "FRAUD_LABELS",
    "MIN_BOOST_ROUND",
    "NEGATIVE_SAMPLE",
    "NUM_BOOST_ROUND",
    "Replay",
    "TimeSplit",
    "fraud_targets",
    "history_from_events",
    "replay",
    "static_feature_names",
    "time_split",
    "train",
]

DAY = 86_400

FRAUD_LABELS = ("dispute", "early_fraud_warning", "fraudulent_refund")
"""Labels that make a payment a positive."""

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 50,
    "lambda_l2": 1.0,
    "feature_fraction": 0.5,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "max_bin": 63,
    "deterministic": True,
    "force_row_wise": True,
    "verbosity": -1,
}
"""LightGBM parameters :func:`train` starts from (``params`` overrides them)."""

NEGATIVE_SAMPLE = 0.2
"""Share of the legitimate payments of the training window :func:`train` learns from (all the
fraudulent ones are kept): five times less memory and work, for the same ranking; the
calibration, fitted afterwards on the whole validation window, undoes the shift in the margins."""

NUM_BOOST_ROUND = 200
"""Trees :func:`train` grows; it keeps the prefix with the lowest validation log loss."""

MIN_BOOST_ROUND = 50
"""Fewest trees :func:`train` keeps (validation log loss over a few hundred fraudulent
payments is noisy in the first rounds; an early minimum there is chance, not a better model)."""


@dataclass(frozen=True)
class Replay:
    """Point-in-time feature rows of a payment table: ``payments`` sorted by ``created`` and
    ``features`` (rows of ``schema``) in that order."""

    payments: pa.Table
    features: npt.NDArray[np.float64]
    schema: FeatureSchema

    @property
    def created(self) -> npt.NDArray[np.int64]:
        return _int_column(self.payments, "created")


def replay(
    payments: pa.Table,
    labels: pa.Table | None = None,
    *,
    label_cutoff: int | None = None,
    label_interval: int = 3600,
    extractor: FeatureExtractor | None = None,
    progress: bool = False,
) -> Replay:
    """Replay ``payments`` in time order through the extractor, feeding ``labels`` known at
    ``label_cutoff`` (all of them when ``None``) at their ``known_at`` time.

    Returns the payments sorted by ``created`` and their feature rows.
    """
    if label_interval < 1:
        raise ValueError(
            f"label_interval must be a positive number of seconds, got {label_interval}"
        )
    extractor = FeatureExtractor() if extractor is None else extractor
    _require(payments, ("id", "created"), "payments")
    ordered = payments.take(pc.sort_indices(payments, [("created", "ascending")]))
    created = _int_column(ordered, "created")
    feed_rows, feed_labels, feed_at = _label_feed(ordered, labels, label_cutoff)
    features = np.empty((ordered.num_rows, len(extractor.schema)), dtype=np.float64)
    if ordered.num_rows == 0:
        return Replay(ordered, features, extractor.schema)
    first = int(created[0]) // label_interval
    last = int(created[-1]) // label_interval
    slice_starts = np.searchsorted(
        created, np.arange(first, last + 2, dtype=np.int64) * label_interval, side="left"
    )
    label_events = ordered.take(pa.array(feed_rows)).to_pylist() if feed_rows.size else []
    fed = 0
    bar = _progress(ordered.num_rows, "features", progress)
    for i in range(len(slice_starts) - 1):
        begin, end = int(slice_starts[i]), int(slice_starts[i + 1])
        if begin == end:
            continue
        starts_at = int(created[begin])
        while fed < len(feed_at) and feed_at[fed] <= starts_at:
            extractor.record_label(label_events[fed], feed_labels[fed], at=int(feed_at[fed]))
            fed += 1
        features[begin:end] = extractor.extract_many(ordered.slice(begin, end - begin), sort=False)
        bar.update(end - begin)
    bar.close()
    return Replay(ordered, features, extractor.schema)


def history_from_events(events: Iterable[Event]) -> tuple[pa.Table, pa.Table]:
    """The payments and labels an engine stored (its event log,
    :meth:`radarcore.store.Store.events`) as the ``payments`` and ``labels`` tables
    :func:`train` takes, so a model retrains on the feedback the engine received.

    ``payments`` has the event fields of every assessed payment and its ``outcome`` (what the
    velocity state recorded: ``authorized``, ``declined``, ``blocked`` or ``pending``).
    ``labels`` has one row per label: ``fraudulent_refund``, ``refund``, ``early_fraud_warning``
    and ``dispute`` entries with ``known_at`` = the time the engine logged them, and the labels
    an assessment gave its own payment (a ``high_risk_block``) known when it was made.
    """
    from radarcore.events import to_arrow

    rows: list[Mapping[str, Any]] = []
    outcomes: list[str] = []
    label_rows: dict[str, list[Any]] = {"payment_id": [], "label": [], "known_at": []}
    for entry in events:
        if entry.kind == "payment":
            rows.append(entry.payload["event"])
            outcomes.append(str(entry.payload["result"]))
            given = entry.payload.get("labels", ())
        else:
            given = (entry.payload["label"],)
        for label in given:
            label_rows["payment_id"].append(entry.payment)
            label_rows["label"].append(str(label))
            label_rows["known_at"].append(int(entry.created))
    if not rows:
        raise ValueError("the store holds no assessed payments to train on")
    payments = to_arrow(rows).append_column("outcome", pa.array(outcomes, pa.string()))
    labels = pa.table(
        {
            "payment_id": pa.array(label_rows["payment_id"], pa.string()),
            "label": pa.array(label_rows["label"], pa.string()),
            "known_at": pa.array(label_rows["known_at"], pa.int64()),
        }
    )
    return payments, labels


def fraud_targets(
    payment_ids: pa.Array | pa.ChunkedArray | Sequence[str],
    labels: pa.Table,
    *,
    cutoff: int | None = None,
) -> npt.NDArray[np.bool_]:
    """For each payment id, whether a fraud label about it is known at ``cutoff`` (any time
    when ``None``)."""
    _require(labels, ("payment_id", "label", "known_at"), "labels")
    mask = pc.is_in(labels.column("label"), value_set=pa.array(FRAUD_LABELS))
    if cutoff is not None:
        mask = pc.and_(mask, pc.less_equal(labels.column("known_at"), cutoff))
    fraud_ids = pc.filter(labels.column("payment_id"), mask)
    ids = (
        payment_ids
        if isinstance(payment_ids, pa.Array | pa.ChunkedArray)
        else pa.array(list(payment_ids), pa.string())
    )
    return np.asarray(pc.is_in(ids, value_set=fraud_ids.combine_chunks()), dtype=bool)


def static_feature_names(schema: FeatureSchema) -> list[str]:
    """Columns that read only the payment itself and fixed tables: no velocity, no labels."""
    return [c.name for c in schema.columns if c.source in ("event", "tables", "derived")]


@dataclass(frozen=True)
class TimeSplit:
    """Boolean row masks of the training and validation windows, and the window bounds
    (Unix seconds, half-open)."""

    train: npt.NDArray[np.bool_]
    validation: npt.NDArray[np.bool_]
    train_window: tuple[int, int]
    validation_window: tuple[int, int]


def time_split(
    created: npt.NDArray[np.int64],
    *,
    cutoff: int,
    gap: int,
    validation: int,
    maturity: int,
) -> TimeSplit:
    """Windows ending at the cut-off: ``[start, v0 - gap)`` trains, ``[v0, v1)`` validates,
    with ``v1 = cutoff - maturity`` and ``v0 = v1 - validation``."""
    for name, value in (("gap", gap), ("validation", validation), ("maturity", maturity)):
        if value < 0:
            raise ValueError(f"{name} must be a non-negative number of seconds, got {value}")
    if validation == 0:
        raise ValueError("the validation window must be longer than zero seconds")
    v1 = cutoff - maturity
    v0 = v1 - validation
    t1 = v0 - gap
    start = int(created.min()) if created.size else t1
    if t1 <= start:
        raise ValueError(
            f"no training window left: the history starts at {start} but training must end at "
            f"{t1} (cutoff {cutoff} - maturity {maturity} - validation {validation} - gap {gap})"
        )
    return TimeSplit(
        train=(created >= start) & (created < t1),
        validation=(created >= v0) & (created < v1),
        train_window=(start, t1),
        validation_window=(v0, v1),
    )


def train(
    payments: pa.Table,
    labels: pa.Table,
    *,
    cutoff: int,
    gap: int = 2 * DAY,
    validation: int = 7 * DAY,
    maturity: int = 7 * DAY,
    features: Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
    num_boost_round: int = NUM_BOOST_ROUND,
    min_boost_round: int = MIN_BOOST_ROUND,
    negative_sample: float = NEGATIVE_SAMPLE,
    seed: int = 0,
    num_threads: int = 2,
    prepared: Replay | None = None,
    progress: bool = False,
) -> RiskModel:
    """Train and calibrate a LightGBM model on the history known at ``cutoff`` (Unix seconds).

    Payments created after the cut-off are ignored, and so are labels known after it.
    ``features`` restricts the model to some schema columns (default: all of them).
    ``negative_sample`` is the share of legitimate training payments used (seeded by ``seed``).
    ``prepared`` reuses a :func:`replay` made with ``label_cutoff=cutoff`` (the replay of the
    payments up to the cut-off is by far the longest step).
    """
    import lightgbm as lgb

    if not 0.0 < negative_sample <= 1.0:
        raise ValueError(f"negative_sample must be in (0, 1], got {negative_sample}")
    if num_boost_round < 1:
        raise ValueError(f"num_boost_round must be at least 1, got {num_boost_round}")
    created_all = _int_column(payments, "created")
    history = payments.filter(pa.array(created_all <= cutoff))
    if prepared is None:
        prepared = replay(history, labels, label_cutoff=cutoff, progress=progress)
    elif prepared.payments.num_rows and int(prepared.created.max()) > cutoff:
        raise ValueError("the prepared replay has payments created after the cut-off")
    schema_names = list(prepared.schema.names)
    names = schema_names if features is None else list(features)
    unknown = [n for n in names if n not in set(schema_names)]
    if unknown:
        raise ValueError(f"unknown feature columns: {unknown}")
    created = prepared.created
    split = time_split(created, cutoff=cutoff, gap=gap, validation=validation, maturity=maturity)
    y = fraud_targets(prepared.payments.column("id"), labels, cutoff=cutoff)
    for window, mask in (("training", split.train), ("validation", split.validation)):
        positives = int(y[mask].sum())
        if positives == 0 or positives == int(mask.sum()):
            raise ValueError(
                f"the {window} window has {positives} fraudulent payments out of "
                f"{int(mask.sum())}: it needs both classes"
            )
    columns = np.array([schema_names.index(n) for n in names], dtype=np.intp)
    train_rows = np.flatnonzero(split.train)
    sampled = np.random.default_rng(seed).random(train_rows.size) < negative_sample
    train_rows = train_rows[y[train_rows] | sampled]
    valid_rows = np.flatnonzero(split.validation)
    config = {
        **DEFAULT_PARAMS,
        **(params or {}),
        "metric": "binary_logloss",
        "seed": seed,
        "num_threads": num_threads,
    }
    train_set = lgb.Dataset(
        prepared.features[np.ix_(train_rows, columns)],
        label=y[train_rows],
        feature_name=names,
        free_raw_data=True,
    )
    valid_set = lgb.Dataset(
        prepared.features[np.ix_(valid_rows, columns)], label=y[valid_rows], reference=train_set
    )
    evaluations: dict[str, Any] = {}
    callbacks: list[Any] = [lgb.record_evaluation(evaluations)]
    if progress:
        callbacks.append(_lightgbm_progress(num_boost_round))
    booster = lgb.train(
        config,
        train_set,
        num_boost_round=num_boost_round,
        valid_sets=[valid_set],
        valid_names=["validation"],
        callbacks=callbacks,
    )
    booster.free_dataset()
    best = _best_iteration(evaluations["validation"]["binary_logloss"], min_boost_round)
    from radarcore.forest import Forest

    forest = Forest.from_lightgbm(booster.model_to_string(num_iteration=best))
    probe = RiskModel(forest, RiskCalibration(1.0, 0.0), schema_names)
    valid_margins = probe.margins(prepared.features[split.validation])
    calibration = RiskCalibration.fit(valid_margins, y[split.validation])
    valid_y = y[split.validation]
    valid_scores = calibration.risk_score(valid_margins)
    metadata = {
        "cutoff": int(cutoff),
        "label_cutoff": int(cutoff),
        "train_window": list(split.train_window),
        "validation_window": list(split.validation_window),
        "gap": int(gap),
        "maturity": int(maturity),
        "payments": {"train": int(split.train.sum()), "validation": int(split.validation.sum())},
        "negative_sample": negative_sample,
        "trained_on": int(train_rows.size),
        "fraudulent": {
            "train": int(y[split.train].sum()),
            "validation": int(valid_y.sum()),
        },
        "params": {k: v for k, v in config.items() if k != "num_threads"},
        "num_boost_round": num_boost_round,
        "min_boost_round": min_boost_round,
        "best_iteration": int(best),
        "validation_metrics": {
            "roc_auc": roc_auc(valid_margins, valid_y),
            "average_precision": average_precision(valid_margins, valid_y),
            "share_elevated": float(np.mean(valid_scores >= 65)),
            "share_highest": float(np.mean(valid_scores >= 75)),
        },
        "feature_set": "all" if features is None else "custom",
    }
    return RiskModel(forest, calibration, schema_names, metadata)


def _best_iteration(losses: Sequence[float], min_boost_round: int) -> int:
    """The number of trees (1-based) with the lowest validation loss, at least
    ``min_boost_round`` (or all of them when fewer were grown); the first of equal minima."""
    floor = min(max(1, min_boost_round), len(losses))
    return floor + int(np.argmin(np.asarray(losses[floor - 1 :], dtype=np.float64)))


def _label_feed(
    ordered: pa.Table, labels: pa.Table | None, cutoff: int | None
) -> tuple[npt.NDArray[np.int64], list[str], npt.NDArray[np.int64]]:
    if labels is None or labels.num_rows == 0:
        return np.empty(0, np.int64), [], np.empty(0, np.int64)
    _require(labels, ("payment_id", "label", "known_at"), "labels")
    known_at = _int_column(labels, "known_at")
    keep = np.ones(labels.num_rows, dtype=bool) if cutoff is None else known_at <= cutoff
    rows = np.asarray(
        pc.index_in(labels.column("payment_id"), value_set=ordered.column("id").combine_chunks())
        .fill_null(-1)
        .to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )
    keep &= rows >= 0
    order = np.flatnonzero(keep)[np.argsort(known_at[keep], kind="stable")]
    names = labels.column("label").to_pylist()
    return rows[order], [str(names[i]) for i in order], known_at[order]


def _int_column(table: pa.Table, name: str) -> npt.NDArray[np.int64]:
    return np.asarray(table.column(name).to_numpy(), dtype=np.int64)


def _require(table: pa.Table, names: Sequence[str], what: str) -> None:
    if not isinstance(table, pa.Table):
        raise TypeError(f"{what} must be a pyarrow Table, got {type(table).__name__}")
    missing = [n for n in names if n not in table.column_names]
    if missing:
        raise ValueError(f"{what} lack the columns {missing}")


class _NoProgress:
    def update(self, n: int) -> None:
        del n

    def close(self) -> None:
        pass


def _progress(total: int, unit: str, enabled: bool) -> Any:
    if not enabled:
        return _NoProgress()
    from tqdm import tqdm

    return tqdm(total=total, unit=" " + unit, unit_scale=True, desc=unit)


def _lightgbm_progress(total: int) -> Any:
    bar = _progress(total, "trees", True)

    def callback(env: Any) -> None:
        bar.update(1)
        if env.iteration + 1 >= env.end_iteration:
            bar.close()

    callback.order = 30  # type: ignore[attr-defined]
    return callback
