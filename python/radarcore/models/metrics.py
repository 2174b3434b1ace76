"""Fraud-detection metrics for model and rule evaluation reports.

Every function takes plain arrays (one entry per payment) and returns plain numbers, so reports
can be written as JSON. Scores are "higher is riskier"; labels are 0/1 (1 = fraudulent).

>>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
0.75
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "ThresholdMetrics",
    "average_precision",
    "card_precision_top_k",
    "metrics_at_block_rate",
    "metrics_at_threshold",
    "roc_auc",
]


@dataclass(frozen=True)
class ThresholdMetrics:
    """What acting on every payment at or above ``threshold`` would have done."""

    threshold: float
    flagged: int
    flagged_rate: float
    recall: float
    precision: float
    false_positive_rate: float
    fraud_amount_caught: float
    fraud_amount_recall: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _prepare(
    scores: npt.ArrayLike, labels: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel().astype(bool)
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in length: {s.size} vs {y.size}")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    return s, y


def roc_auc(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Area under the ROC curve (ties count one half), by the rank-sum formula."""
    s, y = _prepare(scores, labels)
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC AUC needs both fraudulent and legitimate payments")
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    ranks = np.empty(s.size, dtype=np.float64)
    # Average ranks over runs of equal scores.
    boundaries = np.flatnonzero(np.diff(sorted_s)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [s.size]))
    run_rank = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(run_rank, ends - starts)
    rank_sum = float(ranks[y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def average_precision(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Average precision: the step-wise area under precision-recall, thresholds at each score."""
    s, y = _prepare(scores, labels)
    n_pos = int(y.sum())
    if n_pos == 0:
        raise ValueError("average precision needs at least one fraudulent payment")
    order = np.argsort(-s, kind="mergesort")
    sorted_s = s[order]
    tp = np.cumsum(y[order])
    last_of_run = np.r_[np.flatnonzero(np.diff(sorted_s)), s.size - 1]
    tp_at = tp[last_of_run].astype(np.float64)
    precision = tp_at / (last_of_run + 1)
    recall_gain = np.diff(np.r_[0.0, tp_at]) / n_pos
    return float(np.sum(precision * recall_gain))


def metrics_at_threshold(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    threshold: float,
    amounts: npt.ArrayLike | None = None,
) -> ThresholdMetrics:
    """Recall, precision, false-positive rate and fraud amount caught at ``score >= threshold``."""
    s, y = _prepare(scores, labels)
    amount = np.ones(s.size) if amounts is None else np.asarray(amounts, dtype=np.float64)
    flagged = s >= threshold
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    tp = int((flagged & y).sum())
    fp = int((flagged & ~y).sum())
    fraud_amount = float(amount[y].sum())
    caught = float(amount[flagged & y].sum())
    n_flagged = int(flagged.sum())
    return ThresholdMetrics(
        threshold=float(threshold),
        flagged=n_flagged,
        flagged_rate=n_flagged / s.size if s.size else 0.0,
        recall=tp / n_pos if n_pos else 0.0,
        precision=tp / n_flagged if n_flagged else 0.0,
        false_positive_rate=fp / n_neg if n_neg else 0.0,
        fraud_amount_caught=caught,
        fraud_amount_recall=caught / fraud_amount if fraud_amount else 0.0,
    )


def metrics_at_block_rate(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    block_rate: float,
    amounts: npt.ArrayLike | None = None,
) -> ThresholdMetrics:
    """Metrics when the riskiest ``block_rate`` fraction of payments is blocked.

    The threshold is the score of the k-th riskiest payment, k = ceil(block_rate * n); ties at
    that score are all flagged, as a threshold rule would.
    """
    if not 0.0 < block_rate <= 1.0:
        raise ValueError(f"block_rate must be in (0, 1], got {block_rate}")
    s, _ = _prepare(scores, labels)
    if s.size == 0:
        raise ValueError("no payments to rank")
    k = max(1, int(np.ceil(block_rate * s.size)))
    threshold = float(np.partition(s, s.size - k)[s.size - k])
    return metrics_at_threshold(s, labels, threshold, amounts)


def card_precision_top_k(
    scores: npt.ArrayLike,
    labels: npt.ArrayLike,
    cards: npt.ArrayLike,
    days: npt.ArrayLike,
    k: int = 100,
) -> float:
    """Mean over days of the share of fraudulent cards among the day's k riskiest cards.

    A card's daily score is its highest payment score that day and it counts as fraudulent when
    any of its payments that day is (the "card precision top-k" of the Fraud Detection Handbook:
    an analyst team can check k cards a day).
    """
    s, y = _prepare(scores, labels)
    card = np.asarray(cards).ravel()
    day = np.asarray(days).ravel()
    if card.size != s.size or day.size != s.size:
        raise ValueError("scores, labels, cards and days must have the same length")
    if k <= 0:
        raise ValueError(f"k must be positive, got {k}")
    _, card_code = np.unique(card, return_inverse=True)
    _, day_code = np.unique(day, return_inverse=True)
    key = day_code.astype(np.int64) * (int(card_code.max()) + 1) + card_code
    uniq, inverse = np.unique(key, return_inverse=True)
    card_score = np.full(uniq.size, -np.inf)
    np.maximum.at(card_score, inverse, s)
    card_fraud = np.zeros(uniq.size, dtype=bool)
    np.logical_or.at(card_fraud, inverse, y)
    card_day = uniq // (int(card_code.max()) + 1)
    precisions = []
    for d in np.unique(card_day):
        members = np.flatnonzero(card_day == d)
        top = members[np.argsort(-card_score[members], kind="mergesort")[:k]]
        precisions.append(card_fraud[top].mean())
    return float(np.mean(precisions))
