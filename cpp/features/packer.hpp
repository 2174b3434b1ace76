// Raw event -> PackedEvent: validation with errors that name the field, normalisation (email,
// IP, addresses, currency), hashing, vocabulary codes and the static lookups (currency rates,
// disposable email domains, anonymous IPs, user agent).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "features/event.hpp"
#include "features/ip_address.hpp"
#include "features/text.hpp"

namespace radarcore {

// The 34 currencies of Radar's amount_in_xyz attributes, in attribute order.
inline constexpr std::array<const char*, 34> kAmountCurrencies = {
    "aed", "ars", "aud", "brl", "cad", "chf", "clp", "cop", "czk", "dkk", "eur",
    "gbp", "hkd", "huf", "idr", "ils", "inr", "jpy", "khr", "krw", "mxn", "myr",
    "nok", "nzd", "php", "pln", "ron", "rub", "sek", "sgd", "thb", "try", "twd", "usd"};

struct CurrencyRate {
  std::string code;       // ISO 4217, lower case
  int exponent = 2;       // digits of the minor unit (jpy 0, usd 2, kwd 3)
  double usd_per_unit = 1.0;  // value of one major unit in USD
};

struct PackerTables {
  std::vector<CurrencyRate> currencies;        // must include every kAmountCurrencies entry
  std::vector<std::string> disposable_domains;  // lower-case domains; subdomains match too
  std::vector<std::string> anonymous_ips;       // addresses and CIDR networks
};

// Per-thread scratch space reused across Pack calls (buffers and a user-agent cache).
struct PackScratch {
  TextBuffer buffer;
  TextBuffer buffer2;
  // User agents parsed so far, direct-mapped by a cheap hash (the length and three words of the
  // text) and checked against the whole text, so an agent seen before costs one compare instead
  // of a hash of its ~120 bytes, a map lookup and, before that, a parse. A colliding agent
  // replaces the one before. Sized on the first agent.
  struct UaEntry {
    std::string text;
    bool used = false;
    bool automated = false;
    int32_t browser = 0;
    int32_t os = 0;
  };
  static constexpr size_t kUaEntries = 4096;
  std::vector<UaEntry> user_agents;
};

// A set of string hashes (HashBytes: never 0, which marks an empty slot; well mixed) by open addressing in a power-of-two
// table at most half full: a lookup is a mask and a probe or two, where std::unordered_set
// takes the key modulo a prime (a 64-bit division).
class HashSet64 {
 public:
  void Insert(uint64_t hash);
  bool Contains(uint64_t hash) const {
    if (slots_.empty()) return false;
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      if (slots_[i] == hash) return true;
      if (slots_[i] == 0) return false;
    }
  }

 private:
  std::vector<uint64_t> slots_;
  size_t size_ = 0;
};

// Immutable after construction; Pack is safe to call from several threads with their own
// scratch.
class EventPacker {
 public:
  // Throws SchemaError when a table entry is malformed or an amount currency is missing.
  explicit EventPacker(const PackerTables& tables);

  // Throws SchemaError whose message starts with the field name when the event is invalid.
  void Pack(const RawEvent& raw, PackedEvent* out, PackScratch* scratch) const;

  // Stripe-named string attributes computed from the raw event ("email" normalised,
  // "email_domain", "billing_address", "browser", ...). nullopt when missing.
  static std::optional<std::string> NormalisedEmail(const RawEvent& raw);
  static std::optional<std::string> EmailDomain(const RawEvent& raw);
  static std::optional<std::string> Address(const RawEvent& raw, bool shipping);
  // Whether the payment method is a card (payment_method_type missing or "card").
  static bool IsCard(const RawEvent& raw);

  const std::vector<CurrencyRate>& currencies() const { return currencies_; }
  // The rate (usd_per_unit) of kAmountCurrencies[k].
  double amount_usd_per_unit(size_t k) const { return amount_usd_per_unit_[k]; }

 private:
  int32_t CurrencyIndex(std::string_view code) const;

  std::vector<CurrencyRate> currencies_;
  std::vector<int32_t> currency_by_code_;  // by 3-letter code (see LetterCode); -1 unknown
  std::array<double, kAmountCurrencies.size()> amount_usd_per_unit_{};
  HashSet64 disposable_;
  IpSet anonymous_ips_;
};

// Fraction of the cardholder name's words (letters only, two or more) found in the email's
// local part; NaN when either is missing or the name has no such word.
double EmailNameSimilarity(std::string_view email, std::string_view name);

}  // namespace radarcore
