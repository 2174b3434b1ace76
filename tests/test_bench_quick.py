"""Every benchmark runs in --quick mode so it cannot rot (timings are printed, never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
