#include "common/cpu.hpp"

namespace radarcore {

namespace {

CpuFeatures Probe() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
#elif defined(__aarch64__)
  f.neon = true;
#endif
  return f;
}

}  // namespace

const CpuFeatures& DetectCpu() {
  static const CpuFeatures features = Probe();
  return features;
}

std::string DescribeCpu() {
  const CpuFeatures& f = DetectCpu();
#if defined(__x86_64__) || defined(_M_X64)
  std::string s = "x86_64";
#elif defined(__aarch64__)
  std::string s = "aarch64";
#else
  std::string s = "generic";
#endif
  if (f.avx2) s += " avx2";
  if (f.avx512f) s += " avx512f";
  if (f.neon) s += " neon";
  return s;
}

}  // namespace radarcore
