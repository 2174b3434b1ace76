"""Shared fixtures: small LightGBM and XGBoost models trained once per test session."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# The oracle and strategies live next to the tests and are imported by module name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

N_FEATURES = 8
CATEGORICAL = 3


@dataclass
class Data:
    train: np.ndarray
    label: np.ndarray
    test: np.ndarray
    classes: np.ndarray


@pytest.fixture(scope="session")
def data() -> Data:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(1600, N_FEATURES))
    x[rng.random(x.shape) < 0.08] = np.nan
    x[:, CATEGORICAL] = rng.integers(0, 30, size=len(x))
    x[rng.random(len(x)) < 0.05, CATEGORICAL] = np.nan
    x[rng.random(len(x)) < 0.2, 5] = 0.0
    z = np.nan_to_num(x)
    signal = z[:, 0] - z[:, 1] * z[:, 2] + (z[:, CATEGORICAL] % 4 == 1) + 0.3 * z[:, 5]
    label = (signal + rng.normal(size=len(x)) > 0.4).astype(np.int32)
    classes = np.digitize(signal + rng.normal(size=len(x)), [-0.5, 0.8])
    test = x[1200:].copy()
    # Categories never seen in training, negative, huge and fractional values.
    test[:6, CATEGORICAL] = [45.0, -1.0, 1e10, 2.7, -0.5, 31.0]
    test[6:9, 5] = [1e-36, -0.0, 1e-34]
    return Data(x[:1200], label[:1200], test, classes[:1200])


@pytest.fixture(scope="session")
def lgb_binary(data: Data) -> Any:
    import lightgbm as lgb

    params = {
        "objective": "binary",
        "num_leaves": 15,
        "verbose": -1,
        "num_threads": 1,
        "min_data_per_group": 5,
        "cat_smooth": 1.0,
        "seed": 1,
    }
    dataset = lgb.Dataset(data.train, data.label, categorical_feature=[CATEGORICAL])
    return lgb.train(params, dataset, 40)
