// radarcore's own model file format: a versioned, checksummed binary encoding of a ForestSpec.
//
// Layout (all integers little-endian):
//   magic     8 bytes  "RCFOREST"
//   version   u32      kModelFormatVersion
//   length    u64      bytes of the body that follows
//   body      sections, each: tag u32, length u64, bytes
//   checksum  u32      CRC-32 (IEEE) of every byte before it
// Sections: 1 header (scalars), 2 feature names, 3 trees, 4 nodes, 5 categories. Each array inside
// a section is a u64 element count followed by the elements. Readers check every length against
// the bytes present and throw ModelError on anything inconsistent; the decoded spec is then
// validated again by Forest's constructor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "forest/forest.hpp"

namespace radarcore {

inline constexpr std::uint32_t kModelFormatVersion = 1;

// CRC-32 (IEEE 802.3 polynomial, reflected), as zlib computes it.
std::uint32_t Crc32(const std::uint8_t* data, std::size_t size);

std::string SerializeForest(const ForestSpec& spec);

// Throws ModelError for wrong magic, unsupported version, bad checksum, truncation or a
// malformed section.
ForestSpec DeserializeForest(const std::uint8_t* data, std::size_t size);

}  // namespace radarcore
