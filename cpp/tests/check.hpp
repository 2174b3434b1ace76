// A minimal assertion helper for the C++ unit tests: no framework, so the core's tests build
// anywhere the core builds (including cross-compiled under qemu).
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace radarcore::test {

inline int& Failures() {
  static int failures = 0;
  return failures;
}

inline void Check(bool ok, const char* expr, const char* file, int line) {
  if (!ok) {
    std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
    ++Failures();
  }
}

inline int Finish(const char* name) {
  if (Failures() != 0) {
    std::fprintf(stderr, "%s: %d check(s) failed\n", name, Failures());
    return EXIT_FAILURE;
  }
  std::printf("%s: all checks passed\n", name);
  return EXIT_SUCCESS;
}

}  // namespace radarcore::test

#define RC_CHECK(expr) ::radarcore::test::Check(static_cast<bool>(expr), #expr, __FILE__, __LINE__)
#define RC_CHECK_NEAR(a, b, tol) \
  ::radarcore::test::Check(std::fabs(static_cast<double>(a) - static_cast<double>(b)) <= (tol), \
                           #a " ~= " #b, __FILE__, __LINE__)
