"""The pure C++ core builds alone with CMake, warnings as errors, and its ctest suite passes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_cpp_core_builds_clean_and_ctest_passes(tmp_path: Path) -> None:
    cmake = shutil.which("cmake")
    assert cmake is not None, "cmake is a test requirement (pip install '.[test]')"
    build = tmp_path / "build"
    configure = [
        cmake,
        "-S",
        str(ROOT),
        "-B",
        str(build),
        "-G",
        "Ninja",
        "-DCMAKE_BUILD_TYPE=Release",
        "-DRADARCORE_BUILD_PYTHON=OFF",
        "-DRADARCORE_BUILD_TESTS=ON",
        "-DRADARCORE_WERROR=ON",
    ]
    subprocess.run(configure, check=True, capture_output=True, text=True)
    built = subprocess.run(
        [cmake, "--build", str(build), "-j", "2"], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    tested = subprocess.run(
        ["ctest", "--test-dir", str(build), "--output-on-failure"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout[-4000:] + tested.stderr[-4000:]
    assert "tests passed" in tested.stdout
