"""The stub radarcore/_core.pyi describes the compiled module exactly (mypy's stubtest)."""

from __future__ import annotations

import subprocess
import sys


def test_core_stub_matches_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "radarcore._core", "--concise"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
