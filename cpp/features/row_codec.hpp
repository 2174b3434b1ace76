// A feature row kept compactly and exactly: most features of one payment are missing or zero.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace radarcore {

// The row as bytes: a bitmap of its NaNs, a bitmap of its +0.0s (each ceil(n / 8) bytes, the
// first feature in the high bit of the first byte), then every other value as a float64 in the
// machine's byte order (little-endian on x86-64 and ARM64), in feature order.
std::string PackRow(const double* values, std::size_t n);

// The row PackRow packed into `out` (n features). Throws std::invalid_argument when the bytes
// are not the packing of an n-feature row.
void UnpackRow(std::string_view packed, double* out, std::size_t n);

}  // namespace radarcore
