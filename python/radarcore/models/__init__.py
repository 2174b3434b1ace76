"""Model import (LightGBM, XGBoost), the plain-data ensemble spec the compiled core takes, and
the deployable :class:`RiskModel` (forest + calibration + feature schema)."""

from __future__ import annotations

from radarcore.models._spec import SpecBuilder, TreeSpec
from radarcore.models.bundle import RiskModel, default_model
from radarcore.models.calibration import RiskCalibration
from radarcore.models.lightgbm import spec_from_lightgbm
from radarcore.models.xgboost import spec_from_xgboost

__all__ = [
    "RiskCalibration",
    "RiskModel",
    "SpecBuilder",
    "TreeSpec",
    "default_model",
    "spec_from_lightgbm",
    "spec_from_xgboost",
]
