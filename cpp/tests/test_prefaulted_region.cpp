// PrefaultedRegion: zero-filled writable regions, the next one of a size prepared in the
// background (so a caller taking them well apart gets prefaulted ones), and a forked child
// that takes regions without deadlocking on the parent's thread.
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <thread>

#include "common/prefaulted_region.hpp"
#include "tests/check.hpp"

#if __has_include(<sys/wait.h>) && __has_include(<unistd.h>) && \
    !defined(RADARCORE_TESTS_UNDER_EMULATOR)
#include <sys/wait.h>
#include <unistd.h>
#define RADARCORE_TEST_FORK 1
#endif

namespace {

using radarcore::PrefaultedRegion;

constexpr size_t kBytes = size_t{1} << 20;

bool AllZero(const PrefaultedRegion& region) {
  for (size_t i = 0; i < region.size(); ++i) {
    if (region.data()[i] != 0) return false;
  }
  return true;
}

// Takes regions of kBytes until one was prefaulted (the first is usually not), writing them.
bool SomeRegionIsPrefaulted() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    PrefaultedRegion region(kBytes);
    RC_CHECK(region.size() == kBytes);
    RC_CHECK(AllZero(region));
    region.data()[kBytes - 1] = 7;
    if (region.prefaulted()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

void RegionsOfOneSizeArePrefaulted() { RC_CHECK(SomeRegionIsPrefaulted()); }

void AOneOffSizeIsNotPrepared() {
  const PrefaultedRegion first(12345, /*prepare_next=*/false);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const PrefaultedRegion second(12345, /*prepare_next=*/false);
  RC_CHECK(!first.prefaulted() && !second.prefaulted());
  RC_CHECK(AllZero(second));
}

void AZeroSizeIsRejected() {
  bool rejected = false;
  try {
    PrefaultedRegion region(0);
  } catch (const std::invalid_argument&) {
    rejected = true;
  }
  RC_CHECK(rejected);
}

void AForkedChildTakesRegions() {
#ifdef RADARCORE_TEST_FORK
  const PrefaultedRegion before(kBytes);  // the parent's thread is running
  // ... and, once it has prepared the next region, waits on its condition variable: the state
  // the child inherits (signalling the inherited condition variable would never return).
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const pid_t child = fork();
  if (child == 0) {
    alarm(20);  // a deadlocked child is killed, and fails the check below
    _exit(SomeRegionIsPrefaulted() ? 0 : 1);
  }
  int status = 0;
  RC_CHECK(waitpid(child, &status, 0) == child);
  RC_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  RC_CHECK(SomeRegionIsPrefaulted());
#endif
}

}  // namespace

int main() {
  RegionsOfOneSizeArePrefaulted();
  AOneOffSizeIsNotPrepared();
  AZeroSizeIsRejected();
  AForkedChildTakesRegions();
  return radarcore::test::Finish("test_prefaulted_region");
}
