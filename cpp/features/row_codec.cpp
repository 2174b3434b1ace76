#include "features/row_codec.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace radarcore {
namespace {

// +0.0 only: -0.0 is kept as a value, so the row comes back bit for bit.
bool IsPositiveZero(double v) {
  std::uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits == 0;
}

}  // namespace

std::string PackRow(const double* values, std::size_t n) {
  const std::size_t bitmap = (n + 7) / 8;
  std::string out(2 * bitmap, '\0');
  std::size_t rest = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = values[i];
    const auto bit = static_cast<char>(0x80u >> (i % 8));
    if (std::isnan(v)) {
      out[i / 8] = static_cast<char>(out[i / 8] | bit);
    } else if (IsPositiveZero(v)) {
      out[bitmap + i / 8] = static_cast<char>(out[bitmap + i / 8] | bit);
    } else {
      ++rest;
    }
  }
  out.resize(2 * bitmap + rest * sizeof(double));
  char* next = out.data() + 2 * bitmap;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = values[i];
    if (!std::isnan(v) && !IsPositiveZero(v)) {
      std::memcpy(next, &v, sizeof(double));
      next += sizeof(double);
    }
  }
  return out;
}

void UnpackRow(std::string_view packed, double* out, std::size_t n) {
  const std::size_t bitmap = (n + 7) / 8;
  if (packed.size() < 2 * bitmap) {
    throw std::invalid_argument("a packed feature row of " + std::to_string(n) +
                                " features is at least " + std::to_string(2 * bitmap) +
                                " bytes, got " + std::to_string(packed.size()));
  }
  const char* rest = packed.data() + 2 * bitmap;
  const char* end = packed.data() + packed.size();
  for (std::size_t i = 0; i < n; ++i) {
    const auto bit = static_cast<unsigned char>(0x80u >> (i % 8));
    const bool missing = (static_cast<unsigned char>(packed[i / 8]) & bit) != 0;
    const bool zero = (static_cast<unsigned char>(packed[bitmap + i / 8]) & bit) != 0;
    if (missing) {
      out[i] = std::numeric_limits<double>::quiet_NaN();
    } else if (zero) {
      out[i] = 0.0;
    } else {
      if (end - rest < static_cast<std::ptrdiff_t>(sizeof(double))) {
        throw std::invalid_argument("a packed feature row ends before its values");
      }
      std::memcpy(&out[i], rest, sizeof(double));
      rest += sizeof(double);
    }
  }
  if (rest != end) {
    throw std::invalid_argument("a packed feature row has " + std::to_string(end - rest) +
                                " bytes after its values");
  }
}

}  // namespace radarcore
