// Run-time CPU feature detection, so one portable binary can pick faster kernels where the CPU
// has them (the default build never assumes more than baseline x86-64 or ARMv8).
#pragma once

#include <string>

namespace radarcore {

struct CpuFeatures {
  bool avx2 = false;     // x86-64: AVX2 and FMA
  bool avx512f = false;  // x86-64: AVX-512 Foundation
  bool neon = false;     // ARM64: Advanced SIMD (always present on ARMv8-A)
};

// Detected once, then cached; safe to call from any thread.
const CpuFeatures& DetectCpu();

// A short description such as "x86_64 avx2" for benchmark reports.
std::string DescribeCpu();

}  // namespace radarcore
