"""Evaluation metrics against scikit-learn, and calibration's documented meaning."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from radarcore.models.calibration import RiskCalibration
from radarcore.models.metrics import (
    average_precision,
    card_precision_top_k,
    metrics_at_block_rate,
    metrics_at_threshold,
    roc_auc,
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 20), st.booleans()), min_size=2, max_size=200).filter(
        lambda rows: 0 < sum(lbl for _, lbl in rows) < len(rows)
    )
)
def test_auc_and_ap_equal_sklearn_with_ties(rows: list[tuple[int, bool]]) -> None:
    scores = np.array([s for s, _ in rows], dtype=float)
    labels = np.array([lbl for _, lbl in rows], dtype=int)
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert average_precision(scores, labels) == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12
    )


def test_threshold_and_block_rate_metrics() -> None:
    scores = np.array([90, 80, 70, 60, 50, 40, 30, 20, 10, 0], dtype=float)
    labels = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    amounts = np.array([100, 5, 50, 1, 1, 1, 1, 1, 1, 10], dtype=float)
    m = metrics_at_threshold(scores, labels, 70, amounts)
    assert (m.flagged, m.recall, m.precision) == (3, 2 / 3, 2 / 3)
    assert m.false_positive_rate == 1 / 7
    assert m.fraud_amount_caught == 150
    assert m.fraud_amount_recall == 150 / 160
    top20 = metrics_at_block_rate(scores, labels, 0.2, amounts)
    assert top20.threshold == 80
    assert top20.flagged == 2


def test_card_precision_top_k_by_day() -> None:
    scores = [0.9, 0.8, 0.1, 0.7, 0.2, 0.95]
    labels = [1, 0, 0, 0, 1, 0]
    cards = ["a", "b", "c", "a", "b", "c"]
    days = [0, 0, 0, 1, 1, 1]
    # Day 0: top-2 cards a (fraud), b -> 0.5. Day 1: top-2 c, a -> 0.0.
    assert card_precision_top_k(scores, labels, cards, days, k=2) == 0.25


def test_metrics_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="both fraudulent and legitimate"):
        roc_auc([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="differ in length"):
        average_precision([0.1, 0.2], [1])
    with pytest.raises(ValueError, match="block_rate"):
        metrics_at_block_rate([0.1], [1], 0.0)


def test_risk_score_thresholds_have_fixed_meaning() -> None:
    cal = RiskCalibration(slope=2.0, intercept=-1.0)
    margin_at_half = 0.5  # 2 * 0.5 - 1 = 0 -> p = 0.5
    margin_at_tenth = (-math.log(9.0) + 1.0) / 2.0
    assert cal.probability([margin_at_half])[0] == pytest.approx(0.5)
    assert cal.probability([margin_at_tenth])[0] == pytest.approx(0.1)
    assert cal.risk_score([margin_at_half, margin_at_tenth]).tolist() == [75, 65]


def test_one_margin_scores_exactly_like_the_batch() -> None:
    cal = RiskCalibration(slope=1.7, intercept=-2.3)
    rng = np.random.default_rng(3)
    halves = (np.arange(-30, 131) + 0.5 - 75.0) / (10.0 / math.log(9.0))  # ties at .5 points
    margins = np.r_[rng.normal(0.0, 4.0, 20_000), (halves + 2.3) / 1.7, -1e9, 1e9]
    assert [cal.risk_score_one(m) for m in margins] == cal.risk_score(margins).tolist()
    with pytest.raises(ValueError, match="margin is NaN"):
        cal.risk_score_one(float("nan"))


def test_calibration_fit_is_monotone_and_recovers_platt_parameters() -> None:
    rng = np.random.default_rng(7)
    margins = rng.normal(size=200_000) * 2.0
    labels = rng.random(margins.size) < 1.0 / (1.0 + np.exp(-(1.5 * margins - 3.0)))
    cal = RiskCalibration.fit(margins, labels)
    assert cal.slope == pytest.approx(1.5, rel=0.05)
    assert cal.intercept == pytest.approx(-3.0, rel=0.05)
    grid = np.linspace(-10, 10, 1001)
    assert np.all(np.diff(cal.risk_score(grid)) >= 0)


def test_calibration_rejects_one_class_and_inverted_models() -> None:
    with pytest.raises(ValueError, match="needs both classes"):
        RiskCalibration.fit([0.1, 0.2], [0, 0])
    with pytest.raises(ValueError, match="not positively related"):
        RiskCalibration.fit(
            np.r_[np.zeros(50) + 2.0, np.zeros(50) - 2.0], np.r_[[0] * 50, [1] * 50]
        )
    with pytest.raises(ValueError, match="slope"):
        RiskCalibration(slope=0.0, intercept=0.0)
