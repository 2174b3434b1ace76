"""Each benchmark runs once in --quick mode (tiny sizes, timings not checked) so it cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
