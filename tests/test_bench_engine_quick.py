"""The engine benchmark runs in --quick mode so it cannot rot (timings are never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_engine_quick() -> None:
    result = subprocess.run(
        [sys.executable, "bench/bench_engine.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for row in ("memory store |", "sqlite store |", "(baseline) |"):
        assert row in result.stdout, row
