#include "features/ip_address.hpp"

#include <algorithm>
#include <string>

#include "common/errors.hpp"
#include "features/text.hpp"

namespace radarcore {
namespace {

bool ParseV4(std::string_view s, uint8_t* out) {
  int part = 0;
  size_t i = 0;
  while (part < 4) {
    size_t digits = 0;
    int value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 3) {
      value = value * 10 + (s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || value > 255) return false;
    out[part++] = static_cast<uint8_t>(value);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseV6(std::string_view s, IpBytes* out) {
  std::array<uint16_t, 8> head{};
  std::array<uint16_t, 8> tail{};
  int n_head = 0;
  int n_tail = 0;
  bool compressed = false;
  size_t i = 0;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    compressed = true;
    i = 2;
  } else if (!s.empty() && s[0] == ':') {
    return false;
  }
  while (i < s.size()) {
    const size_t dot = s.find('.', i);
    const size_t colon = s.find(':', i);
    if (dot != std::string_view::npos && (colon == std::string_view::npos || dot < colon)) {
      uint8_t v4[4];
      if (!ParseV4(s.substr(i), v4)) return false;
      auto& groups = compressed ? tail : head;
      int& n = compressed ? n_tail : n_head;
      if (n + 2 > 8) return false;
      groups[static_cast<size_t>(n++)] = static_cast<uint16_t>((v4[0] << 8) | v4[1]);
      groups[static_cast<size_t>(n++)] = static_cast<uint16_t>((v4[2] << 8) | v4[3]);
      i = s.size();
      break;
    }
    int value = 0;
    size_t digits = 0;
    while (i < s.size() && HexValue(s[i]) >= 0 && digits < 4) {
      value = value * 16 + HexValue(s[i]);
      ++i;
      ++digits;
    }
    if (digits == 0) return false;
    auto& groups = compressed ? tail : head;
    int& n = compressed ? n_tail : n_head;
    if (n >= 8) return false;
    groups[static_cast<size_t>(n++)] = static_cast<uint16_t>(value);
    if (i == s.size()) break;
    if (s[i] != ':') return false;
    ++i;
    if (i < s.size() && s[i] == ':') {
      if (compressed) return false;
      compressed = true;
      ++i;
    } else if (i == s.size()) {
      return false;
    }
  }
  const int total = n_head + n_tail;
  if (compressed ? total > 7 : total != 8) return false;
  std::array<uint16_t, 8> groups{};
  for (int k = 0; k < n_head; ++k) groups[static_cast<size_t>(k)] = head[static_cast<size_t>(k)];
  for (int k = 0; k < n_tail; ++k) {
    groups[static_cast<size_t>(8 - n_tail + k)] = tail[static_cast<size_t>(k)];
  }
  for (size_t k = 0; k < 8; ++k) {
    (*out)[2 * k] = static_cast<uint8_t>(groups[k] >> 8);
    (*out)[2 * k + 1] = static_cast<uint8_t>(groups[k] & 0xff);
  }
  return true;
}

uint64_t NetworkKey(const IpBytes& ip, int prefix_bits) {
  IpBytes masked{};
  for (int bit = 0; bit < prefix_bits; bit += 8) {
    const auto byte = static_cast<size_t>(bit / 8);
    const int keep = std::min(8, prefix_bits - bit);
    masked[byte] = static_cast<uint8_t>(ip[byte] & (0xff << (8 - keep)));
  }
  const std::string_view bytes(reinterpret_cast<const char*>(masked.data()), masked.size());
  return HashBytes(bytes, static_cast<uint64_t>(prefix_bits));
}

}  // namespace

bool ParseIp(std::string_view text, IpBytes* out, bool* is_v4) {
  const std::string_view s = Trim(text);
  if (s.find(':') == std::string_view::npos) {
    uint8_t v4[4];
    if (!ParseV4(s, v4)) return false;
    out->fill(0);
    (*out)[10] = 0xff;
    (*out)[11] = 0xff;
    std::copy(v4, v4 + 4, out->begin() + 12);
    *is_v4 = true;
    return true;
  }
  if (!ParseV6(s, out)) return false;
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  *is_v4 = std::equal(kMappedPrefix, kMappedPrefix + 12, out->begin());
  return true;
}

void IpSet::Add(std::string_view entry) {
  const std::string_view s = Trim(entry);
  const size_t slash = s.find('/');
  IpBytes ip{};
  bool is_v4 = false;
  if (!ParseIp(s.substr(0, slash), &ip, &is_v4)) {
    throw SchemaError("anonymous IP list: malformed address '" + std::string(entry) + "'");
  }
  int prefix = 128;
  if (slash != std::string_view::npos) {
    const std::string_view bits = s.substr(slash + 1);
    int value = 0;
    if (bits.empty() || bits.size() > 3) {
      throw SchemaError("anonymous IP list: malformed network '" + std::string(entry) + "'");
    }
    for (char c : bits) {
      if (c < '0' || c > '9') {
        throw SchemaError("anonymous IP list: malformed network '" + std::string(entry) + "'");
      }
      value = value * 10 + (c - '0');
    }
    const int max_bits = is_v4 ? 32 : 128;
    if (value > max_bits) {
      throw SchemaError("anonymous IP list: prefix too long in '" + std::string(entry) + "'");
    }
    prefix = is_v4 ? 96 + value : value;
  }
  keys_.insert(NetworkKey(ip, prefix));
  if (std::find(prefixes_.begin(), prefixes_.end(), prefix) == prefixes_.end()) {
    prefixes_.push_back(prefix);
  }
}

bool IpSet::Contains(const IpBytes& ip) const {
  for (int prefix : prefixes_) {
    if (keys_.count(NetworkKey(ip, prefix)) != 0) return true;
  }
  return false;
}

}  // namespace radarcore
