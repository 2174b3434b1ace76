#!/usr/bin/env bash
# Builds the pure C++ core and its unit tests for ARM64 with Debian's cross compiler and runs them
# under qemu-aarch64 (user-mode emulation). Installs the two Debian packages it needs when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends g++-aarch64-linux-gnu qemu-user >/dev/null
fi
build=${1:-build/arm64}
cmake -S . -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=Release -DRADARCORE_BUILD_PYTHON=OFF -DRADARCORE_BUILD_TESTS=ON \
  -DRADARCORE_WERROR=ON >/dev/null
cmake --build "$build" -j 2
for t in "$build"/test_*; do aarch64-linux-gnu-readelf -h "$t" | grep -q AArch64; done
ctest --test-dir "$build" --output-on-failure
