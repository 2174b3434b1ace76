#include "features/packer.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/errors.hpp"
#include "features/text.hpp"
#include "features/user_agent.hpp"

namespace radarcore {

const std::array<const char*, kNumStringFields> kStringFieldNames = {
    "id",
    "currency",
    "payment_method_type",
    "card_fingerprint",
    "card_bin",
    "card_brand",
    "card_funding",
    "card_country",
    "cvc_check",
    "address_zip_check",
    "address_line1_check",
    "digital_wallet",
    "three_d_secure_result",
    "customer",
    "email",
    "name",
    "phone",
    "billing_line1",
    "billing_line2",
    "billing_city",
    "billing_state",
    "billing_postal_code",
    "billing_country",
    "shipping_line1",
    "shipping_line2",
    "shipping_city",
    "shipping_state",
    "shipping_postal_code",
    "shipping_country",
    "ip_address",
    "ip_country",
    "user_agent",
    "device_id",
    "pm_device_id",
    "pm_ip_address",
    "merchant",
    "description",
    "outcome",
};
const std::array<const char*, kNumIntFields> kIntFieldNames = {
    "created", "amount", "customer_created", "session_timezone_offset"};
const std::array<const char*, kNumFloatFields> kFloatFieldNames = {
    "billing_latitude",  "billing_longitude", "shipping_latitude",
    "shipping_longitude", "ip_latitude",      "ip_longitude"};
const std::array<const char*, kNumBoolFields> kBoolFieldNames = {
    "session_automation", "is_off_session", "is_recurring", "is_checkout", "is_setup_intent"};

void EventColumns::ReadRow(size_t i, RawEvent* raw) const {
  for (size_t f = 0; f < kNumStringFields; ++f) {
    const StringColumn& c = strings[f];
    if (c.offsets == nullptr) continue;
    const bool valid = c.valid == nullptr || c.valid[i] != 0;
    raw->has_string[f] = valid;
    raw->strings[f] = valid ? std::string_view(c.data + c.offsets[i],
                                               static_cast<size_t>(c.offsets[i + 1] - c.offsets[i]))
                            : std::string_view{};
  }
  for (size_t f = 0; f < kNumIntFields; ++f) {
    if (ints[f] == nullptr) continue;
    const bool valid = ints_valid[f] == nullptr || ints_valid[f][i] != 0;
    raw->has_int[f] = valid;
    raw->ints[f] = valid ? ints[f][i] : 0;
  }
  for (size_t f = 0; f < kNumFloatFields; ++f) {
    if (floats[f] != nullptr) raw->floats[f] = floats[f][i];
  }
  for (size_t f = 0; f < kNumBoolFields; ++f) {
    if (bools[f] != nullptr) raw->bools[f] = bools[f][i];
  }
}

namespace {

constexpr int64_t kMaxCreated = 4294967295LL;  // the state stores times as uint32 seconds

bool EqualsLower(std::string_view value, std::string_view lower) {
  if (value.size() != lower.size()) return false;
  for (size_t i = 0; i < value.size(); ++i) {
    if (ToLower(value[i]) != lower[i]) return false;
  }
  return true;
}

// `value` is already trimmed; vocabulary entries are lower case.
template <size_t N>
int32_t VocabularyCode(std::string_view value, const std::array<std::string_view, N>& vocabulary) {
  for (size_t k = 0; k < N; ++k) {
    if (EqualsLower(value, vocabulary[k])) return static_cast<int32_t>(k + 1);
  }
  return 0;
}

constexpr std::array<std::string_view, 20> kPaymentMethodTypes = {
    "card",     "sepa_debit",     "us_bank_account", "acss_debit",      "bacs_debit",
    "au_becs_debit", "link",      "paypal",          "klarna",          "affirm",
    "afterpay_clearpay", "ideal", "bancontact",      "sofort",          "giropay",
    "eps",      "p24",            "alipay",          "wechat_pay",      "cashapp"};
constexpr std::array<std::string_view, 13> kCardBrands = {
    "amex", "visa", "mc", "dscvr", "diners", "interac", "jcb", "cup", "unknown",
    "mastercard", "discover", "unionpay", "american_express"};
constexpr std::array<int32_t, 13> kCardBrandCanonical = {1, 2, 3, 4, 5, 6, 7, 8, 9, 3, 4, 8, 1};
constexpr std::array<std::string_view, 4> kCardFundings = {"credit", "debit", "prepaid", "unknown"};
constexpr std::array<std::string_view, 13> kDigitalWallets = {
    "android_pay", "amex_express_checkout", "apple_pay", "masterpass", "network_token",
    "samsung_pay", "visa_checkout", "meta_pay", "amazon_pay", "revolut_pay", "demo_pay",
    "unknown", "none"};
constexpr std::array<std::string_view, 7> kThreeDSecureResults = {
    "authenticated", "attempt_acknowledged", "exempted", "failed", "not_supported",
    "processing_error", "rejected"};

// Letters base 26, 1-based; 0 for anything that is not `n` ASCII letters.
int32_t LetterCode(std::string_view s, size_t n) {
  s = Trim(s);
  if (s.size() != n) return 0;
  int32_t code = 0;
  for (char c : s) {
    const char u = ToUpper(c);
    if (u < 'A' || u > 'Z') return 0;
    code = code * 26 + (u - 'A');
  }
  return code + 1;
}

std::string_view Present(const RawEvent& raw, StringField f) {
  return raw.Has(f) ? Trim(raw.Str(f)) : std::string_view{};
}

[[noreturn]] void Fail(StringField f, const std::string& message) {
  throw SchemaError(std::string(kStringFieldNames[f]) + ": " + message);
}

void CheckCoordinate(double value, FloatField f, double bound) {
  if (std::isnan(value)) return;
  if (!(std::fabs(value) <= bound)) {
    throw SchemaError(std::string(kFloatFieldNames[f]) + ": must be between " +
                      std::to_string(static_cast<int>(-bound)) + " and " +
                      std::to_string(static_cast<int>(bound)) + ", got " + std::to_string(value));
  }
}

bool ParseEmail(std::string_view email, TextBuffer* normalised) {
  NormaliseInto(email, normalised);
  const std::string_view text = normalised->view();
  const size_t at = text.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == text.size()) return false;
  return text.find(' ') == std::string_view::npos;
}

// Appends `separator` then `part` (trimmed) with inner whitespace collapsed, when `part` is not
// empty; returns whether it wrote anything.
bool AppendPart(TextBuffer* out, std::string_view part, std::string_view separator, bool lower) {
  if (part.empty()) return false;
  out->Append(separator);
  AppendNormalised(out, part, lower);
  return true;
}

// "line1 line2 city, state postal_code country" with missing parts left out; empty when every
// part is missing.
void BuildAddress(const RawEvent& raw, bool shipping, bool lower, TextBuffer* out) {
  const int base = shipping ? kFieldShippingLine1 : kFieldBillingLine1;
  auto part = [&](int offset) { return Present(raw, static_cast<StringField>(base + offset)); };
  out->clear();
  for (int k = 0; k < 3; ++k) AppendPart(out, part(k), out->empty() ? "" : " ", lower);
  const bool has_street = !out->empty();
  bool has_region = false;
  for (int k = 3; k < 6; ++k) {
    const std::string_view separator = has_region ? " " : (has_street ? ", " : "");
    has_region |= AppendPart(out, part(k), separator, lower);
  }
}

// A cache index for a string: its length and its first, middle and last words (all of it when
// shorter than a word). Not a stable hash; callers compare the whole text on a hit.
uint64_t QuickHash(std::string_view s) {
  const size_t n = s.size();
  if (n < 8) return HashBytes(s);
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const uint64_t h = Mix64(LoadLe64(p) ^ (static_cast<uint64_t>(n) * 0x9e3779b97f4a7c15ULL));
  return Mix64(h ^ LoadLe64(p + (n - 8) / 2) ^ Mix64(LoadLe64(p + n - 8)));
}

uint64_t HashIp(const IpBytes& ip) {
  return HashBytes(std::string_view(reinterpret_cast<const char*>(ip.data()), ip.size()));
}

}  // namespace

void HashSet64::Insert(uint64_t hash) {
  if (Contains(hash)) return;
  if ((size_ + 1) * 2 > slots_.size()) {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(std::max<size_t>(16, old.size() * 2), 0);
    size_ = 0;
    for (uint64_t h : old) {
      if (h != 0) Insert(h);
    }
  }
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = hash;
  ++size_;
}

double EmailNameSimilarity(std::string_view email, std::string_view name) {
  const size_t at = email.rfind('@');
  if (at == std::string_view::npos) return std::nan("");
  // Letters only, lower case; local parts and names longer than the buffers are cut.
  char local_buffer[128];
  size_t local_size = 0;
  for (char c : email.substr(0, at)) {
    const char l = ToLower(c);
    if (l >= 'a' && l <= 'z' && local_size < sizeof local_buffer) local_buffer[local_size++] = l;
  }
  const std::string_view local(local_buffer, local_size);
  int words = 0;
  int found = 0;
  char word_buffer[64];
  size_t word_size = 0;
  auto finish_word = [&]() {
    if (word_size >= 2) {
      ++words;
      if (local.find(std::string_view(word_buffer, word_size)) != std::string_view::npos) ++found;
    }
    word_size = 0;
  };
  for (char c : name) {
    const char l = ToLower(c);
    if (l >= 'a' && l <= 'z') {
      if (word_size < sizeof word_buffer) word_buffer[word_size++] = l;
    } else {
      finish_word();
    }
  }
  finish_word();
  if (words == 0) return std::nan("");
  return static_cast<double>(found) / static_cast<double>(words);
}

EventPacker::EventPacker(const PackerTables& tables)
    : currencies_(tables.currencies), currency_by_code_(26 * 26 * 26 + 1, -1) {
  for (size_t i = 0; i < currencies_.size(); ++i) {
    CurrencyRate& rate = currencies_[i];
    TextBuffer normalised;
    NormaliseInto(rate.code, &normalised);
    const std::string code(normalised.view());
    if (LetterCode(code, 3) == 0) {
      throw SchemaError("currency table: '" + rate.code + "' is not a 3-letter code");
    }
    if (!(rate.usd_per_unit > 0.0) || !std::isfinite(rate.usd_per_unit)) {
      throw SchemaError("currency table: rate of '" + code + "' must be a positive number");
    }
    if (rate.exponent < 0 || rate.exponent > 4) {
      throw SchemaError("currency table: exponent of '" + code + "' must be between 0 and 4");
    }
    rate.code = code;
    currency_by_code_[static_cast<size_t>(LetterCode(code, 3))] = static_cast<int32_t>(i);
  }
  for (size_t k = 0; k < kAmountCurrencies.size(); ++k) {
    const int32_t index = CurrencyIndex(kAmountCurrencies[k]);
    if (index < 0) {
      throw SchemaError(std::string("currency table: missing '") + kAmountCurrencies[k] +
                        "', needed by amount_in_" + kAmountCurrencies[k]);
    }
    amount_usd_per_unit_[k] = currencies_[static_cast<size_t>(index)].usd_per_unit;
  }
  TextBuffer buffer;
  for (const std::string& domain : tables.disposable_domains) {
    NormaliseInto(domain, &buffer);
    if (!buffer.empty()) disposable_.Insert(HashBytes(buffer.view()));
  }
  for (const std::string& entry : tables.anonymous_ips) anonymous_ips_.Add(entry);
}

int32_t EventPacker::CurrencyIndex(std::string_view code) const {
  const int32_t letters = LetterCode(code, 3);
  return letters == 0 ? -1 : currency_by_code_[static_cast<size_t>(letters)];
}

std::optional<std::string> EventPacker::NormalisedEmail(const RawEvent& raw) {
  const std::string_view email = Present(raw, kFieldEmail);
  if (email.empty()) return std::nullopt;
  TextBuffer out;
  if (!ParseEmail(email, &out)) return std::nullopt;
  return std::string(out.view());
}

std::optional<std::string> EventPacker::EmailDomain(const RawEvent& raw) {
  std::optional<std::string> email = NormalisedEmail(raw);
  if (!email) return std::nullopt;
  return email->substr(email->rfind('@') + 1);
}

std::optional<std::string> EventPacker::Address(const RawEvent& raw, bool shipping) {
  TextBuffer out;
  BuildAddress(raw, shipping, false, &out);
  if (out.empty()) return std::nullopt;
  return std::string(out.view());
}

bool EventPacker::IsCard(const RawEvent& raw) {
  const std::string_view pmt = Present(raw, kFieldPaymentMethodType);
  return pmt.empty() || VocabularyCode(pmt, kPaymentMethodTypes) == 1;
}

void EventPacker::Pack(const RawEvent& raw, PackedEvent* out, PackScratch* scratch) const {
  PackedEvent e;
  TextBuffer& buffer = scratch->buffer;

  const std::string_view id = Present(raw, kFieldId);
  if (id.empty()) Fail(kFieldId, "required field is missing");
  e.id = HashBytes(id);

  if (!raw.has_int[kFieldCreated]) {
    throw SchemaError("created: required field is missing");
  }
  e.created = raw.ints[kFieldCreated];
  if (e.created < 0 || e.created > kMaxCreated) {
    throw SchemaError("created: must be Unix seconds between 0 and 4294967295, got " +
                      std::to_string(e.created));
  }
  if (!raw.has_int[kFieldAmount]) throw SchemaError("amount: required field is missing");
  e.amount = raw.ints[kFieldAmount];
  if (e.amount < 0) {
    throw SchemaError("amount: must be >= 0 (minor units), got " + std::to_string(e.amount));
  }
  const std::string_view currency = Present(raw, kFieldCurrency);
  if (currency.empty()) Fail(kFieldCurrency, "required field is missing");
  e.currency_index = CurrencyIndex(currency);
  if (e.currency_index < 0) {
    Fail(kFieldCurrency, "unknown currency '" + std::string(currency) + "' (not in the rate table)");
  }
  const CurrencyRate& rate = currencies_[static_cast<size_t>(e.currency_index)];
  static constexpr double kMinorUnits[] = {1.0, 10.0, 100.0, 1000.0, 10000.0};
  e.amount_usd = static_cast<double>(e.amount) / kMinorUnits[rate.exponent] * rate.usd_per_unit;
  e.currency_code = LetterCode(rate.code, 3);

  const std::string_view pmt = Present(raw, kFieldPaymentMethodType);
  if (!pmt.empty()) {
    e.payment_method_type_code = VocabularyCode(pmt, kPaymentMethodTypes);
    e.is_card = e.payment_method_type_code == 1;
  } else {
    e.payment_method_type_code = 1;
  }

  if (e.is_card) {
    const std::string_view fingerprint = Present(raw, kFieldCardFingerprint);
    if (!fingerprint.empty()) e.card = HashBytes(fingerprint);
    const std::string_view bin = Present(raw, kFieldCardBin);
    if (!bin.empty()) {
      if (bin.size() > 12) Fail(kFieldCardBin, "must be at most 12 digits, got '" + std::string(bin) + "'");
      int64_t value = 0;
      for (char c : bin) {
        if (c < '0' || c > '9') Fail(kFieldCardBin, "must be digits, got '" + std::string(bin) + "'");
        value = value * 10 + (c - '0');
      }
      e.card_bin = value;
    }
    const std::string_view brand = Present(raw, kFieldCardBrand);
    if (!brand.empty()) {
      const int32_t code = VocabularyCode(brand, kCardBrands);
      e.card_brand_code = code == 0 ? 0 : kCardBrandCanonical[static_cast<size_t>(code - 1)];
    }
    const std::string_view funding = Present(raw, kFieldCardFunding);
    if (!funding.empty()) e.card_funding_code = VocabularyCode(funding, kCardFundings);
    const std::string_view card_country = Present(raw, kFieldCardCountry);
    if (!card_country.empty()) e.card_country_code = LetterCode(card_country, 2);
    const std::string_view wallet = Present(raw, kFieldDigitalWallet);
    if (!wallet.empty()) e.digital_wallet_code = VocabularyCode(wallet, kDigitalWallets);
    const std::string_view tds = Present(raw, kFieldThreeDSecureResult);
    if (!tds.empty()) e.three_d_secure_code = VocabularyCode(tds, kThreeDSecureResults);
  }

  const std::string_view customer = Present(raw, kFieldCustomer);
  if (!customer.empty()) e.customer = HashBytes(customer);

  const std::string_view email = Present(raw, kFieldEmail);
  if (!email.empty()) {
    if (!ParseEmail(email, &buffer)) {
      Fail(kFieldEmail, "malformed email address '" + std::string(email) + "'");
    }
    e.email = HashBytes(buffer.view());
    std::string_view domain = buffer.view();
    domain.remove_prefix(domain.rfind('@') + 1);
    while (!domain.empty()) {
      if (disposable_.Contains(HashBytes(domain))) {
        e.is_disposable_email = true;
        break;
      }
      const size_t dot = domain.find('.');
      if (dot == std::string_view::npos) break;
      domain.remove_prefix(dot + 1);
    }
  }

  const std::string_view name = Present(raw, kFieldName);
  if (!name.empty()) {
    NormaliseInto(name, &scratch->buffer2);
    e.name = HashBytes(scratch->buffer2.view());
    if (!email.empty()) e.email_name_similarity = EmailNameSimilarity(buffer.view(), name);
  }

  const std::string_view ip = Present(raw, kFieldIpAddress);
  if (!ip.empty()) {
    IpBytes bytes{};
    bool is_v4 = false;
    if (!ParseIp(ip, &bytes, &is_v4)) Fail(kFieldIpAddress, "malformed IP address '" + std::string(ip) + "'");
    e.ip = HashIp(bytes);
    e.is_anonymous_ip = anonymous_ips_.Contains(bytes);
  }
  const std::string_view pm_ip = Present(raw, kFieldPmIpAddress);
  if (!pm_ip.empty()) {
    IpBytes bytes{};
    bool is_v4 = false;
    if (!ParseIp(pm_ip, &bytes, &is_v4)) {
      Fail(kFieldPmIpAddress, "malformed IP address '" + std::string(pm_ip) + "'");
    }
    e.pm_ip = HashIp(bytes);
  }

  for (const bool shipping : {false, true}) {
    BuildAddress(raw, shipping, true, &scratch->buffer2);
    if (scratch->buffer2.empty()) continue;
    (shipping ? e.shipping_address : e.billing_address) = HashBytes(scratch->buffer2.view());
  }
  const std::string_view billing_country = Present(raw, kFieldBillingCountry);
  if (!billing_country.empty()) e.billing_country_code = LetterCode(billing_country, 2);
  const std::string_view shipping_country = Present(raw, kFieldShippingCountry);
  if (!shipping_country.empty()) e.shipping_country_code = LetterCode(shipping_country, 2);
  const std::string_view ip_country = Present(raw, kFieldIpCountry);
  if (!ip_country.empty()) e.ip_country_code = LetterCode(ip_country, 2);

  const std::string_view device = Present(raw, kFieldDeviceId);
  if (!device.empty()) e.device = HashBytes(device);
  const std::string_view pm_device = Present(raw, kFieldPmDeviceId);
  if (!pm_device.empty()) e.pm_device = HashBytes(pm_device);
  const std::string_view merchant = Present(raw, kFieldMerchant);
  if (!merchant.empty()) e.merchant = HashBytes(merchant);

  const std::string_view user_agent = Present(raw, kFieldUserAgent);
  if (!user_agent.empty()) {
    std::vector<PackScratch::UaEntry>& cache = scratch->user_agents;
    if (cache.empty()) cache.resize(PackScratch::kUaEntries);
    PackScratch::UaEntry& entry = cache[QuickHash(user_agent) & (PackScratch::kUaEntries - 1)];
    if (!entry.used || entry.text != user_agent) {
      const UserAgentInfo info = ParseUserAgent(user_agent);
      entry.text.assign(user_agent);
      entry.used = true;
      entry.automated = info.automated;
      entry.browser = info.browser_code;
      entry.os = info.os_code;
    }
    e.browser_code = entry.browser;
    e.os_code = entry.os;
    e.headless_user_agent = entry.automated;
  }

  if (raw.has_int[kFieldCustomerCreated]) {
    e.has_customer_created = true;
    e.customer_created = raw.ints[kFieldCustomerCreated];
  }
  if (raw.has_int[kFieldSessionTimezoneOffset]) {
    const int64_t offset = raw.ints[kFieldSessionTimezoneOffset];
    if (offset < -1440 || offset > 1440) {
      throw SchemaError("session_timezone_offset: must be between -1440 and 1440 minutes, got " +
                        std::to_string(offset));
    }
    e.has_timezone = true;
    e.timezone_offset_minutes = static_cast<int32_t>(offset);
  }
  for (size_t f = 0; f < kNumFloatFields; ++f) {
    const double bound = (f % 2 == 0) ? 90.0 : 180.0;
    CheckCoordinate(raw.floats[f], static_cast<FloatField>(f), bound);
    e.coordinates[f] = raw.floats[f];
  }
  e.flags = raw.bools;

  const std::string_view outcome = Present(raw, kFieldOutcome);
  if (!outcome.empty()) {
    e.has_outcome = true;
    if (outcome == "authorized") {
      e.outcome = Outcome::kAuthorized;
    } else if (outcome == "declined") {
      e.outcome = Outcome::kDeclined;
    } else if (outcome == "blocked") {
      e.outcome = Outcome::kBlocked;
    } else if (outcome == "pending") {
      e.outcome = Outcome::kPending;
    } else {
      Fail(kFieldOutcome, "must be one of 'authorized', 'declined', 'blocked', 'pending', got '" +
                              std::string(outcome) + "'");
    }
  }
  *out = e;
}

}  // namespace radarcore
