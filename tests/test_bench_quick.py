"""Every benchmark runs once in --quick mode so it cannot rot (timings are never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_quick(script: str) -> str:
    """Runs ``bench/<script> --quick`` and returns its output; a failing run fails the test."""
    result = subprocess.run(
        [sys.executable, f"bench/{script}", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_bench_forest_quick() -> None:
    out = run_quick("bench_forest.py")
    assert "| radarcore |" in out
    for peer in (
        "LightGBM predict",
        "XGBoost inplace_predict",
        "tl2cgen compiled",
        "lleaves",
        "ONNX Runtime",
    ):
        assert f"| {peer}" in out, peer


def test_bench_rules_quick() -> None:
    out = run_quick("bench_rules.py")
    assert "radarcore kernel, decisions" in out
    assert "single payment, 50 rules" in out


def test_bench_synth_quick() -> None:
    out = run_quick("bench_synth.py")
    assert "fraud-handbook simulator" in out
    assert "radarcore" in out


def test_bench_features_quick() -> None:
    out = run_quick("bench_features.py")
    assert "payments/s" in out
    assert "bytes" in out


def test_bench_engine_quick() -> None:
    out = run_quick("bench_engine.py")
    for row in ("memory store |", "sqlite store |", "(baseline) |"):
        assert row in out, row


def test_bench_batch_quick() -> None:
    out = run_quick("bench_batch.py")
    assert "| pandas rolling + LightGBM predict (20 trees) |" in out
    assert "| radarcore, 1 core, bundled default model |" in out
    assert "threads in process, 20 trees |" in out
    assert "| radarcore, Dask " in out


def test_bench_server_quick() -> None:
    out = run_quick("bench_server.py")
    for row in (
        "(baseline) |",
        "`radarcore serve --workers 1` |",
        "`radarcore serve --workers 2` |",
    ):
        assert row in out, row
    assert "missing from the database 0" in out
