#include "common/cpu.hpp"
#include "tests/check.hpp"

int main() {
  const radarcore::CpuFeatures& first = radarcore::DetectCpu();
  const radarcore::CpuFeatures& second = radarcore::DetectCpu();
  RC_CHECK(&first == &second);
  RC_CHECK(!radarcore::DescribeCpu().empty());
#if defined(__aarch64__)
  RC_CHECK(first.neon);
#endif
  return radarcore::test::Finish("test_cpu");
}
