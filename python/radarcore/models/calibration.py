"""Calibration: raw model margins to calibrated fraud probabilities and Radar's ``risk_score``.

The risk score has a fixed meaning, whatever model produced it: it is a linear function of the
calibrated log-odds of fraud,

    risk_score = 75 + (10 / ln 9) * logit(p)        (clipped to 0..100, rounded)

so that the default thresholds mean the same thing for every model:

* ``risk_score >= 75`` (``highest``): at least as likely fraudulent as not (p >= 0.5);
* ``risk_score >= 65`` (``elevated``): at least a 1-in-10 chance of fraud (p >= 0.1).

Calibration is Platt scaling, ``p = sigmoid(a * margin + b)``, fitted on held-out payments; with
``a > 0`` the whole map from margin to score is monotone and is a single affine function followed by
a clip, cheap enough to run inside the core for every payment.

>>> cal = RiskCalibration(slope=1.0, intercept=0.0)
>>> cal.risk_score([0.0, -2.1972245773362196, 10.0]).tolist()
[75, 65, 100]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ELEVATED_PROBABILITY", "HIGHEST_PROBABILITY", "RiskCalibration"]

#: Calibrated fraud probability at the default ``highest`` threshold (risk_score 75).
HIGHEST_PROBABILITY = 0.5
#: Calibrated fraud probability at the default ``elevated`` threshold (risk_score 65).
ELEVATED_PROBABILITY = 0.1

_SCORE_AT_EVEN_ODDS = 75.0
_POINTS_PER_LOGIT = 10.0 / math.log(9.0)


@dataclass(frozen=True)
class RiskCalibration:
    """Platt scaling from margin to probability, and the fixed probability-to-score scale."""

    slope: float
    intercept: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.slope) and self.slope > 0.0):
            raise ValueError(
                f"calibration slope must be a positive finite number, got {self.slope}"
            )
        if not math.isfinite(self.intercept):
            raise ValueError(f"calibration intercept must be finite, got {self.intercept}")

    @classmethod
    def fit(
        cls, margins: npt.ArrayLike, labels: npt.ArrayLike, *, max_iter: int = 100
    ) -> RiskCalibration:
        """Fit Platt scaling by Newton's method on held-out ``margins`` and 0/1 ``labels``.

        Targets use Platt's prior correction ((n+ + 1) / (n+ + 2), 1 / (n- + 2)) so a handful of
        positives cannot push the fit to infinity.
        """
        x = np.asarray(margins, dtype=np.float64).ravel()
        y = np.asarray(labels).ravel()
        if x.shape != y.shape:
            raise ValueError(f"margins and labels differ in length: {x.size} vs {y.size}")
        if x.size == 0:
            raise ValueError("cannot calibrate on zero payments")
        if not np.all(np.isfinite(x)):
            raise ValueError("margins must be finite")
        positive = y.astype(bool)
        n_pos = int(positive.sum())
        n_neg = int(x.size - n_pos)
        if n_pos == 0 or n_neg == 0:
            raise ValueError(
                f"calibration needs both classes, got {n_pos} fraudulent and {n_neg} legitimate"
            )
        target = np.where(positive, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
        a, b = 1.0, math.log((n_pos + 1.0) / (n_neg + 1.0))
        for _ in range(max_iter):
            p = _sigmoid(a * x + b)
            w = np.maximum(p * (1.0 - p), 1e-12)
            residual = p - target
            grad = np.array([np.dot(residual, x), residual.sum()])
            hess = np.array([[np.dot(w * x, x), np.dot(w, x)], [np.dot(w, x), w.sum()]])
            hess += np.eye(2) * 1e-9
            step = np.linalg.solve(hess, grad)
            # Plain Newton can overshoot from a far start (margins already on the logit scale
            # with a strong prior offset); halve the step until the log loss does not rise.
            loss = _log_loss(a * x + b, target)
            while _log_loss((a - step[0]) * x + (b - step[1]), target) > loss and (
                float(np.abs(step).max()) > 1e-12
            ):
                step = step / 2.0
            a, b = a - float(step[0]), b - float(step[1])
            if float(np.abs(step).max()) < 1e-10:
                break
        if a <= 0.0:
            raise ValueError(
                "the model's margins are not positively related to fraud on this data "
                f"(fitted slope {a:.4g}); calibration would invert the score"
            )
        return cls(slope=a, intercept=b)

    def probability(self, margins: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Calibrated fraud probability for each margin."""
        return _sigmoid(self.slope * np.asarray(margins, dtype=np.float64) + self.intercept)

    def risk_score(self, margins: npt.ArrayLike) -> npt.NDArray[np.int32]:
        """Integer ``risk_score`` 0..100 for each margin (see the module docstring)."""
        logit = self.slope * np.asarray(margins, dtype=np.float64) + self.intercept
        score = np.clip(np.rint(_SCORE_AT_EVEN_ODDS + _POINTS_PER_LOGIT * logit), 0.0, 100.0)
        return score.astype(np.int32)

    def risk_score_one(self, margin: float) -> int:
        """:meth:`risk_score` of one margin, without numpy (the same float operations, so
        the same integer)."""
        logit = self.slope * float(margin) + self.intercept
        score = _SCORE_AT_EVEN_ODDS + _POINTS_PER_LOGIT * logit
        if math.isnan(score):
            raise ValueError("the model's margin is NaN: no risk score")
        return int(min(100.0, max(0.0, round(score))))

    @property
    def points_per_margin(self) -> float:
        """How many risk-score points one unit of margin is worth (before rounding and
        clipping): what a margin contribution such as a TreeSHAP value means in points."""
        return _POINTS_PER_LOGIT * self.slope

    def to_dict(self) -> dict[str, Any]:
        return {"slope": self.slope, "intercept": self.intercept}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RiskCalibration:
        return cls(slope=float(data["slope"]), intercept=float(data["intercept"]))


def _log_loss(z: npt.NDArray[np.float64], target: npt.NDArray[np.float64]) -> float:
    return float(np.sum(np.logaddexp(0.0, z) - target * z))


def _sigmoid(z: npt.NDArray[np.float64] | float) -> npt.NDArray[np.float64]:
    z = np.asarray(z, dtype=np.float64)
    out: npt.NDArray[np.float64] = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out
