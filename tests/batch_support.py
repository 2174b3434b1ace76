"""Shared inputs of the batch tests: a small synthetic history and models trained on it, and
the online one-by-one path that batch scoring must reproduce."""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from radarcore import FeatureExtractor, Forest, RuleSet, synth
from radarcore.batch import long_window_columns
from radarcore.models import RiskModel
from radarcore.models.calibration import RiskCalibration

ROOT = Path(__file__).resolve().parent.parent
HANDBOOK = next(
    (
        base / "shared" / "data" / "fraud-detection-handbook" / "transactions.parquet"
        for base in (ROOT.parent, ROOT.parent.parent)
        if (base / "shared" / "data" / "fraud-detection-handbook").is_dir()
    ),
    ROOT.parent / "shared" / "data" / "fraud-detection-handbook" / "transactions.parquet",
)

RULES = """\
Block if :total_charges_per_card_number_hourly: > 1
Block if :card_country: != :ip_country: and :amount_in_usd: > 100
Review if :total_charges_per_card_number_all_time: >= 1 and :risk_score: > 20
Review if :email_count_for_ip_daily: >= 1
Allow if :risk_level: = 'normal' and :amount_in_usd: < 10
"""
SHORT_RULES = """\
Block if :total_charges_per_card_number_hourly: > 1
Review if :total_charges_per_card_number_weekly: >= 3
Review if :email_count_for_ip_daily: >= 2 and :risk_level: != 'normal'
"""


@functools.cache
def history() -> pa.Table:
    return synth.generate(2_500, seed=11, days=20).payments


def _train(features: np.ndarray, label: np.ndarray, names: list[str]) -> RiskModel:
    import lightgbm as lgb

    params = {"objective": "binary", "num_leaves": 15, "min_data_in_leaf": 5, "verbose": -1}
    booster = lgb.train(params, lgb.Dataset(features, label, feature_name=names), 15)
    forest = Forest.from_lightgbm(booster)
    calibration = RiskCalibration.fit(forest.score_many(features, raw=True), label)
    return RiskModel(forest, calibration, FeatureExtractor().schema.names)


@functools.cache
def model() -> RiskModel:
    """A LightGBM model on every feature (all_time counters and first-seen times included)."""
    features = FeatureExtractor().extract_many(history())
    label = history().column("is_fraud").to_numpy()
    return _train(features, label, list(FeatureExtractor().schema.names))


@functools.cache
def short_model() -> RiskModel:
    """A model that reads no window longer than weekly: Dask scores it with a bounded warm-up."""
    schema = FeatureExtractor().schema.names
    keep = [i for i, n in enumerate(schema) if n not in long_window_columns()]
    features = FeatureExtractor().extract_many(history())[:, keep]
    label = history().column("is_fraud").to_numpy()
    return _train(features, label, [schema[i] for i in keep])


def rules(text: str = RULES) -> RuleSet:
    return RuleSet.default(RuleSet.parse(text).rules)


def online(payments: pa.Table, risk_model: RiskModel, rule_set: RuleSet) -> dict[str, list[Any]]:
    """Assess payments one at a time, in time order, as a gateway would; columns in input order."""
    extractor = FeatureExtractor()
    rows = payments.to_pylist()
    order = sorted(range(len(rows)), key=lambda i: rows[i]["created"])
    result: dict[str, list[Any]] = {
        k: [None] * len(rows) for k in ("score", "level", "action", "rule")
    }
    for i in order:
        event = {k: v for k, v in rows[i].items() if not (isinstance(v, float) and math.isnan(v))}
        row = extractor.extract_one(event)
        score = int(risk_model.risk_scores(row[None, :])[0])
        level = str(risk_model.risk_levels([score])[0])
        attributes: dict[str, object] = dict(extractor.attributes_one(event))
        attributes["risk_score"] = float(score)
        attributes["risk_level"] = level
        decision = rule_set.evaluate_one(attributes)
        extractor.update(event, event.get("outcome"))
        result["score"][i] = score
        result["level"][i] = level
        result["action"][i] = decision.action
        result["rule"][i] = decision.rule.id if decision.rule is not None else None
    return result
