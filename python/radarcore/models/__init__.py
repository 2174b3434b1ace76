"""Model import (LightGBM, XGBoost) and the plain-data ensemble spec the compiled core takes."""

from __future__ import annotations

from radarcore.models._spec import SpecBuilder, TreeSpec
from radarcore.models.lightgbm import spec_from_lightgbm
from radarcore.models.xgboost import spec_from_xgboost

__all__ = ["SpecBuilder", "TreeSpec", "spec_from_lightgbm", "spec_from_xgboost"]
