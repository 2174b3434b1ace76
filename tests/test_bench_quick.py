"""Every benchmark runs once in --quick mode so it cannot rot (timings are never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_forest_quick() -> None:
    result = subprocess.run(
        [sys.executable, "bench/bench_forest.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| radarcore |" in result.stdout
    for peer in (
        "LightGBM predict",
        "XGBoost inplace_predict",
        "tl2cgen compiled",
        "lleaves",
        "ONNX Runtime",
    ):
        assert f"| {peer}" in result.stdout, peer


def test_bench_rules_quick() -> None:
    result = subprocess.run(
        [sys.executable, "bench/bench_rules.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "radarcore kernel, decisions" in result.stdout
    assert "single payment, 50 rules" in result.stdout


def test_bench_synth_quick() -> None:
    done = subprocess.run(
        [sys.executable, "bench/bench_synth.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "fraud-handbook simulator" in done.stdout
    assert "radarcore" in done.stdout


def test_bench_features_quick() -> None:
    result = subprocess.run(
        [sys.executable, "bench/bench_features.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "payments/s" in result.stdout
    assert "bytes" in result.stdout


def test_bench_batch_quick() -> None:
    result = subprocess.run(
        [sys.executable, "bench/bench_batch.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| pandas rolling + LightGBM predict |" in result.stdout
    assert "| radarcore, 1 core |" in result.stdout
