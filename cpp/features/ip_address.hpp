// IPv4/IPv6 parsing into one 16-byte form (IPv4 as ::ffff:a.b.c.d, so both spellings of an IPv4
// address are one entity) and a set of addresses and CIDR networks for is_anonymous_ip.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace radarcore {

using IpBytes = std::array<uint8_t, 16>;

// Parses a dotted-quad IPv4 or an RFC 4291 IPv6 text (with "::" and an optional IPv4 tail).
// Returns false on anything else; *is_v4 tells which form was read.
bool ParseIp(std::string_view text, IpBytes* out, bool* is_v4);

// Addresses and networks ("203.0.113.7", "198.51.100.0/24", "2001:db8::/32"); thread-safe to read.
class IpSet {
 public:
  // Throws SchemaError naming the entry when it is not an address or a network.
  void Add(std::string_view entry);
  bool Contains(const IpBytes& ip) const;

 private:
  std::unordered_set<uint64_t> keys_;  // hash of (prefix length, masked address)
  std::vector<int> prefixes_;          // distinct prefix lengths present, in bits of the 16 bytes
};

}  // namespace radarcore
