"""Training: point-in-time features, labels known at the cut-off only, calibration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from conftest import TRAIN_ARGS, SmallHistory
from radarcore import FeatureExtractor
from radarcore.models import RiskCalibration, RiskModel
from radarcore.models.training import (
    FRAUD_LABELS,
    fraud_targets,
    replay,
    static_feature_names,
    time_split,
    train,
)

DAY = 86_400


def _legit_training_payments(history: SmallHistory, n: int) -> list[str]:
    created = history.payments.column("created").to_numpy()
    fraud = history.payments.column("is_fraud").to_numpy(zero_copy_only=False)
    ids = history.payments.column("id").to_pylist()
    labelled = set(history.labels.column("payment_id").to_pylist())
    early = np.flatnonzero((created < history.cutoff - 15 * DAY) & ~fraud)
    return [ids[i] for i in early if ids[i] not in labelled][:n]


def _plant(history: SmallHistory, ids: list[str], known_at: int) -> pa.Table:
    planted = pa.table(
        {
            "payment_id": pa.array(ids, pa.string()),
            "label": pa.array(["dispute"] * len(ids), pa.string()),
            "known_at": pa.array([known_at] * len(ids), pa.int64()),
        }
    )
    return pa.concat_tables([history.labels, planted.cast(history.labels.schema)])


def test_targets_use_only_fraud_labels_known_at_the_cutoff(small_history: SmallHistory) -> None:
    labels = small_history.labels
    ids = labels.column("payment_id")
    kinds = labels.column("label").to_pylist()
    known = labels.column("known_at").to_numpy()
    cutoff = small_history.cutoff
    y = fraud_targets(ids, labels, cutoff=cutoff)
    expected = {
        p
        for p, k, t in zip(ids.to_pylist(), kinds, known, strict=True)
        if k in FRAUD_LABELS and t <= cutoff
    }
    assert y.tolist() == [p in expected for p in ids.to_pylist()]
    assert fraud_targets(ids, labels).sum() > y.sum()


def test_a_leaking_label_after_the_cutoff_is_not_used(
    small_history: SmallHistory, small_model: RiskModel
) -> None:
    planted_ids = _legit_training_payments(small_history, 300)
    leaking = _plant(small_history, planted_ids, small_history.cutoff + 1)
    assert not fraud_targets(planted_ids, leaking, cutoff=small_history.cutoff).any()
    assert fraud_targets(planted_ids, leaking).all()
    model = train(small_history.payments, leaking, cutoff=small_history.cutoff, **TRAIN_ARGS)
    assert model.forest.to_bytes() == small_model.forest.to_bytes()
    assert model.calibration == small_model.calibration


def test_the_same_label_known_before_the_cutoff_changes_the_model(
    small_history: SmallHistory, small_model: RiskModel
) -> None:
    planted_ids = _legit_training_payments(small_history, 300)
    known = _plant(small_history, planted_ids, small_history.cutoff - 1)
    model = train(small_history.payments, known, cutoff=small_history.cutoff, **TRAIN_ARGS)
    assert model.forest.to_bytes() != small_model.forest.to_bytes()


def test_replay_without_labels_equals_one_batch_extraction(small_history: SmallHistory) -> None:
    payments = small_history.payments.slice(0, 5_000)
    result = replay(payments, label_interval=600)
    whole = FeatureExtractor().extract_many(payments)
    np.testing.assert_array_equal(result.features, whole)


def test_replay_feeds_labels_no_earlier_than_they_are_known(small_history: SmallHistory) -> None:
    payments, labels = small_history.payments, small_history.labels
    cutoff = small_history.cutoff
    fed = replay(payments, labels, label_cutoff=cutoff)
    filtered = labels.filter(pa.array(labels.column("known_at").to_numpy() <= cutoff))
    np.testing.assert_array_equal(fed.features, replay(payments, filtered).features)
    none = replay(payments)
    schema = fed.schema
    label_columns = [i for i, c in enumerate(schema.columns) if c.source == "labels"]
    first_known = int(labels.column("known_at").to_numpy().min())
    before = fed.created < first_known
    np.testing.assert_array_equal(
        fed.features[before][:, label_columns], none.features[before][:, label_columns]
    )
    assert not np.array_equal(fed.features[:, label_columns], none.features[:, label_columns])


def test_time_split_windows_do_not_overlap() -> None:
    created = np.arange(0, 40 * DAY, 3600, dtype=np.int64)
    split = time_split(created, cutoff=40 * DAY, gap=DAY, validation=5 * DAY, maturity=3 * DAY)
    assert split.validation_window == (32 * DAY, 37 * DAY)
    assert split.train_window == (0, 31 * DAY)
    assert not (split.train & split.validation).any()
    assert created[split.train].max() < 31 * DAY
    assert created[split.validation].min() >= 32 * DAY


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gap": -1}, "gap must be a non-negative number of seconds, got -1"),
        ({"validation": 0}, "validation window must be longer than zero"),
        ({"maturity": 39 * DAY}, "no training window left"),
    ],
)
def test_bad_splits_are_rejected(kwargs: dict[str, int], message: str) -> None:
    created = np.arange(0, 40 * DAY, 3600, dtype=np.int64)
    args: dict[str, Any] = {"gap": DAY, "validation": 5 * DAY, "maturity": 3 * DAY, **kwargs}
    with pytest.raises(ValueError, match=message):
        time_split(created, cutoff=40 * DAY, **args)


def test_bad_training_inputs_are_rejected(small_history: SmallHistory) -> None:
    payments, labels, cutoff = small_history.payments, small_history.labels, small_history.cutoff
    with pytest.raises(ValueError, match=r"unknown feature columns: \['nope'\]"):
        train(payments, labels, cutoff=cutoff, features=["nope"], **TRAIN_ARGS)
    with pytest.raises(ValueError, match=r"labels lack the columns \['known_at'\]"):
        train(payments, labels.drop(["known_at"]), cutoff=cutoff, **TRAIN_ARGS)
    with pytest.raises(TypeError, match="payments must be a pyarrow Table, got dict"):
        replay({"id": []})  # type: ignore[arg-type]
    no_fraud = labels.filter(pa.array([False] * labels.num_rows))
    with pytest.raises(ValueError, match="training window has 0 fraudulent payments"):
        train(payments, no_fraud, cutoff=cutoff, **TRAIN_ARGS)


def test_model_records_its_training_window_and_metrics(
    small_history: SmallHistory, small_model: RiskModel
) -> None:
    meta = small_model.metadata
    assert meta["label_cutoff"] == small_history.cutoff
    assert meta["validation_window"] == [
        small_history.cutoff - 8 * DAY,
        small_history.cutoff - 3 * DAY,
    ]
    assert meta["train_window"][1] == small_history.cutoff - 9 * DAY
    assert 0 < meta["best_iteration"] <= 30
    assert meta["validation_metrics"]["roc_auc"] > 0.8
    assert small_model.schema == FeatureExtractor().schema.names


def test_static_model_reads_no_velocity_feature(small_history: SmallHistory) -> None:
    schema = FeatureExtractor().schema
    names = static_feature_names(schema)
    sources = {c.name: c.source for c in schema.columns}
    assert names
    assert all(sources[n] in ("event", "tables", "derived") for n in names)
    model = train(
        small_history.payments,
        small_history.labels,
        cutoff=small_history.cutoff,
        features=names,
        **TRAIN_ARGS,
    )
    assert set(model.feature_names) <= set(names)


def test_calibration_is_monotone_and_stable_across_seeds(small_history: SmallHistory) -> None:
    data = replay(small_history.payments, small_history.labels)
    window = data.created >= small_history.cutoff
    y = fraud_targets(data.payments.column("id"), small_history.labels)[window]
    shares, rates = [], []
    for seed in (1, 2):
        model = train(
            small_history.payments,
            small_history.labels,
            cutoff=small_history.cutoff,
            seed=seed,
            **TRAIN_ARGS,
        )
        margins = model.margins(data.features[window])
        order = np.argsort(margins)
        assert np.all(np.diff(model.calibration.risk_score(margins[order])) >= 0)
        assert np.all(np.diff(model.calibration.probability(margins[order])) >= 0)
        scores = model.calibration.risk_score(margins)
        shares.append(float(np.mean(scores >= 65)))
        rates.append(float(y[scores >= 75].mean()))
    assert abs(shares[0] - shares[1]) < 0.01
    assert all(rate >= 0.5 for rate in rates)


def test_calibration_recovers_margins_already_on_the_logit_scale() -> None:
    rng = np.random.default_rng(5)
    margins = rng.normal(-6.0, 2.0, 200_000)
    y = rng.random(margins.size) < 1.0 / (1.0 + np.exp(-margins))
    calibration = RiskCalibration.fit(margins, y)
    assert abs(calibration.slope - 1.0) < 0.1
    assert abs(calibration.intercept) < 0.5


def _luhn(prefix: str) -> str:
    digits = [int(d) for d in prefix]
    total = sum(
        d if i % 2 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(reversed(digits))
    )
    return prefix + str((10 - total % 10) % 10)


def _engine_history(url: str) -> tuple[Any, list[str]]:
    """Twelve days of payments through an engine: regular customers on their own cards, and
    fraud (new cards, new emails, high amounts) reported two days later by early fraud
    warnings and disputes. Returns the engine and its fraudulent charge ids."""
    from conftest import Clock
    from radarcore.radar import Radar

    clock = Clock()
    radar = Radar(url, model=None, clock=clock)
    rng = np.random.default_rng(5)
    regulars = [
        radar.payment_methods.create(
            type="card",
            card={"number": _luhn(f"424242{i:09d}"), "exp_month": 12, "exp_year": 2030},
            billing_details={"email": f"regular{i}@example.com"},
        ).id
        for i in range(40)
    ]
    fraud: list[tuple[int, str]] = []
    for step in range(12 * 24):
        for _ in range(4):
            if rng.random() < 0.1:
                pm = radar.payment_methods.create(
                    type="card",
                    card={
                        "number": _luhn(f"400000{int(rng.integers(10**9)):09d}"),
                        "exp_month": 1,
                        "exp_year": 2031,
                    },
                    billing_details={"email": f"new{int(rng.integers(10**9))}@mailinator.com"},
                ).id
                amount = int(rng.integers(40_000, 90_000))
            else:
                pm, amount = (
                    regulars[int(rng.integers(len(regulars)))],
                    int(rng.integers(500, 9_000)),
                )
            pi = radar.payment_intents.create(
                amount=amount, currency="usd", payment_method=pm, confirm=True
            )
            if pm not in regulars:
                fraud.append((clock.now, str(pi.latest_charge)))
        clock.advance(3_600)
        while fraud and fraud[0][0] <= clock.now - 2 * DAY:
            _, charge = fraud.pop(0)
            if step % 2:
                radar.early_fraud_warnings.create(charge=charge, fraud_type="made_with_stolen_card")
            else:
                radar.disputes.create(charge=charge, reason="fraudulent")
    return radar, [charge for _, charge in fraud]


def test_train_from_database_learns_from_the_engine_feedback(tmp_path: Any) -> None:
    from radarcore.cli import main
    from radarcore.models.training import history_from_events
    from radarcore.store import open_store

    url = f"sqlite:///{tmp_path / 'radar.db'}"
    radar, unreported = _engine_history(url)
    payments, labels = history_from_events(radar.store.events())
    logged = [e for e in radar.store.events() if e.kind == "payment"]
    assert payments.column("id").to_pylist() == [e.payment for e in logged]
    assert payments.column("outcome").to_pylist() == [e.payload["result"] for e in logged]
    reported = {e.payment: e.created for e in radar.store.events() if e.kind == "label"}
    assert (
        dict(
            zip(
                labels.column("payment_id").to_pylist(),
                labels.column("known_at").to_pylist(),
                strict=True,
            )
        )
        == reported
    )
    assert set(labels.column("label").to_pylist()) == {"early_fraud_warning", "dispute"}
    cutoff = max(max(reported.values()), max(payments.column("created").to_pylist()))
    args = ["train", "--from-database", url, "--gap", "1", "--validation", "3"]
    args += ["--maturity", "2", "--trees", "20", "--quiet"]
    assert main([*args, "-o", str(tmp_path / "a.rcm")]) == 0
    model = RiskModel.load(tmp_path / "a.rcm", schema=FeatureExtractor().schema)
    assert model.metadata["cutoff"] == cutoff
    assert model.metadata["source"] == "radarcore train --from-database"
    assert model.metadata["fraudulent"]["train"] > 20
    assert model.metadata["validation_metrics"]["roc_auc"] > 0.9
    # A label reported after the cut-off is not used: the same trees and calibration.
    radar.clock.advance(DAY)  # type: ignore[attr-defined]
    radar.disputes.create(charge=unreported[0], reason="fraudulent")
    cut = ["--cutoff", datetime.fromtimestamp(cutoff, UTC).isoformat()]
    assert main([*args, *cut, "-o", str(tmp_path / "b.rcm"), "--register", "shadow"]) == 0
    again = RiskModel.load(tmp_path / "b.rcm")
    assert again.forest.to_bytes() == model.forest.to_bytes()
    assert again.calibration == model.calibration
    # --register stored it as a version in shadow: the engine scores it beside no live model.
    store = open_store(url)
    assert [m.version for m in store.models()] == [again.version]
    store.close()
    assert radar.refresh_model() is False  # this engine runs without a model (model=None)
    radar.store.close()


def test_train_from_database_needs_one_source(tmp_path: Any, capsys: Any) -> None:
    from radarcore.cli import main

    out = str(tmp_path / "m.rcm")
    assert main(["train", "--from-database", "memory://", "--payments", "p", "-o", out]) == 2
    assert "use either --from-database or --payments/--labels" in capsys.readouterr().err
    assert main(["train", "--payments", "p.parquet", "-o", out]) == 2
    assert "give --payments, --labels and --cutoff, or --from-database" in capsys.readouterr().err
    assert main(["train", "--from-database", "memory://", "-o", out]) == 2
    assert "the store holds no assessed payments to train on" in capsys.readouterr().err
