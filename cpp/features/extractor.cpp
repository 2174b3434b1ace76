#include "features/extractor.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/errors.hpp"
#include "features/text.hpp"
#include "features/user_agent.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace radarcore {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kFiveYears = 1826LL * 86400;  // cap of Radar's "first seen" attributes
constexpr double kEarthRadiusKm = 6371.0088;

constexpr size_t Idx(EntityKind kind) { return static_cast<size_t>(kind); }

// Everything the column emitters read for one row.
struct RowContext {
  const PackedEvent* e;
  const EventPacker* packer;
  int64_t t;
  std::array<const Entity*, kNumEntityKinds> entities;
  std::array<bool, kNumEntityKinds> present;
  std::array<EntityCounts, kNumEntityKinds> counts;
};

// Writes values in column order (extraction) ...
// A column name in up to five literal parts, joined only when the catalogue is built.
struct Name {
  const char* parts[5] = {"", "", "", "", ""};
  Name(const char* a, const char* b = "", const char* c = "", const char* d = "",
       const char* e = "")
      : parts{a, b, c, d, e} {}
  std::string Join() const {
    std::string out;
    for (const char* part : parts) out += part;
    return out;
  }
};

struct ValueSink {
  double* out;
  size_t pos = 0;
  template <class F>
  void Col(const Name&, ColumnKind, bool, bool, const char*, F&& value) {
    out[pos++] = value();
  }
};

// ... or records the column specs (the catalogue), from the same emitter code.
struct SpecSink {
  std::vector<ColumnSpec>* specs;
  template <class F>
  void Col(const Name& name, ColumnKind kind, bool attribute, bool case_sensitive,
           const char* source, F&&) {
    specs->push_back(ColumnSpec{name.Join(), kind, attribute, case_sensitive, source});
  }
};

constexpr const char* kWindowNames[kNumWindows] = {"hourly", "daily", "weekly", "yearly",
                                                   "all_time"};
constexpr std::array<Window, 4> kW4 = {kAllTime, kWeekly, kDaily, kHourly};
constexpr std::array<Window, 2> kYearlyWeekly = {kYearly, kWeekly};
constexpr std::array<Window, 2> kDailyHourly = {kDaily, kHourly};

struct NamedCounter {
  const char* name;
  int counter;
};
constexpr std::array<NamedCounter, 4> kCounters = {
    {{"authorized", kCountAuthorized}, {"blocked", kCountBlocked}, {"declined", kCountDeclined},
     {"total", kCountTotal}}};

struct NamedEntity {
  const char* name;
  EntityKind kind;
};

double Code(int32_t code) { return code < 0 ? kNaN : static_cast<double>(code); }
double Flag(bool b) { return b ? 1.0 : 0.0; }
double Tri(int8_t v) { return v < 0 ? kNaN : static_cast<double>(v); }

double Haversine(double lat1, double lon1, double lat2, double lon2) {
  if (std::isnan(lat1) || std::isnan(lon1) || std::isnan(lat2) || std::isnan(lon2)) return kNaN;
  constexpr double kRad = 3.14159265358979323846 / 180.0;
  const double dlat = (lat2 - lat1) * kRad;
  const double dlon = (lon2 - lon1) * kRad;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlon / 2) *
                       std::sin(dlon / 2);
  return 2.0 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(a)));
}

double Match(bool has_a, bool has_b, bool equal) {
  if (!has_a || !has_b) return kNaN;
  return equal ? 1.0 : 0.0;
}

template <class Sink>
void EmitCharges(Sink& s, const RowContext* c, const NamedEntity& entity, const Window* windows,
                 size_t n_windows) {
  for (const NamedCounter& counter : kCounters) {
    for (size_t w = 0; w < n_windows; ++w) {
      const Window window = windows[w];
      s.Col(Name(counter.name, "_charges_per_", entity.name, "_", kWindowNames[window]),
            ColumnKind::kNumeric, true, false,
            "velocity", [&] {
              const size_t k = Idx(entity.kind);
              return c->present[k]
                         ? static_cast<double>(c->counts[k].charges[window][static_cast<size_t>(counter.counter)])
                         : kNaN;
            });
    }
  }
}

template <class Sink>
void EmitFamily(Sink& s, const RowContext* c, const char* prefix, const char* entity_name,
                EntityKind kind, Family family, const Window* windows, size_t n_windows,
                bool attribute, const char* source) {
  for (size_t w = 0; w < n_windows; ++w) {
    const Window window = windows[w];
    s.Col(Name(prefix, entity_name, "_", kWindowNames[window]), ColumnKind::kNumeric, attribute, false,
          source, [&] {
            const size_t k = Idx(kind);
            return c->present[k] ? static_cast<double>(c->counts[k].families[family][window]) : kNaN;
          });
  }
}

template <class Sink>
void EmitColumns(Sink& s, const RowContext* c) {
  const PackedEvent* e = c == nullptr ? nullptr : c->e;
  auto num = ColumnKind::kNumeric;
  auto boolean = ColumnKind::kBool;
  auto cat = ColumnKind::kCategory;

  s.Col(Name("amount"), num, false, false, "event", [&] { return static_cast<double>(e->amount); });
  for (size_t k = 0; k < kAmountCurrencies.size(); ++k) {
    s.Col(Name("amount_in_", kAmountCurrencies[k]), num, true, false, "tables",
          [&] { return e->amount_usd / c->packer->amount_usd_per_unit(k); });
  }
  s.Col(Name("payment_method_type_code"), cat, false, false, "event",
        [&] { return Code(e->payment_method_type_code); });
  s.Col(Name("currency_code"), cat, false, false, "event", [&] { return Code(e->currency_code); });
  s.Col(Name("card_bin_number"), num, false, false, "event",
        [&] { return e->card_bin < 0 ? kNaN : static_cast<double>(e->card_bin); });
  s.Col(Name("card_brand_code"), cat, false, false, "event", [&] { return Code(e->card_brand_code); });
  s.Col(Name("card_funding_code"), cat, false, false, "event",
        [&] { return Code(e->card_funding_code); });
  s.Col(Name("card_country_code"), cat, false, false, "event",
        [&] { return Code(e->card_country_code); });
  s.Col(Name("ip_country_code"), cat, false, false, "event", [&] { return Code(e->ip_country_code); });
  s.Col(Name("billing_address_country_code"), cat, false, false, "event",
        [&] { return Code(e->billing_country_code); });
  s.Col(Name("shipping_address_country_code"), cat, false, false, "event",
        [&] { return Code(e->shipping_country_code); });
  s.Col(Name("digital_wallet_code"), cat, false, false, "event",
        [&] { return Code(e->digital_wallet_code); });
  s.Col(Name("card_3d_secure_result_code"), cat, false, false, "event",
        [&] { return Code(e->three_d_secure_code); });
  s.Col(Name("browser_code"), cat, false, false, "derived", [&] { return Code(e->browser_code); });
  s.Col(Name("operating_system_code"), cat, false, false, "derived", [&] { return Code(e->os_code); });

  s.Col(Name("is_checkout"), boolean, true, false, "event",
        [&] { return Flag(e->flags[kFieldIsCheckout] > 0); });
  s.Col(Name("is_off_session"), boolean, true, false, "event",
        [&] { return Flag(e->flags[kFieldIsOffSession] > 0); });
  s.Col(Name("is_recurring"), boolean, true, false, "event",
        [&] { return Flag(e->flags[kFieldIsRecurring] > 0); });
  s.Col(Name("is_setup_intent"), boolean, true, false, "event",
        [&] { return Flag(e->flags[kFieldIsSetupIntent] > 0); });
  s.Col(Name("is_3d_secure"), boolean, true, false, "event",
        [&] { return Flag(e->three_d_secure_code == 1 || e->three_d_secure_code == 2); });
  s.Col(Name("is_3d_secure_authenticated"), boolean, true, false, "event",
        [&] { return Flag(e->three_d_secure_code == 1); });
  s.Col(Name("has_liability_shift"), boolean, true, false, "event",
        [&] { return Flag(e->three_d_secure_code == 1 || e->three_d_secure_code == 2); });
  s.Col(Name("has_cryptogram"), boolean, true, false, "event", [&] {
    const int32_t w = e->digital_wallet_code;
    return Flag(w > 1 && w != 12 && w != 13);
  });
  s.Col(Name("is_disposable_email"), boolean, true, false, "tables",
        [&] { return Flag(e->is_disposable_email); });
  s.Col(Name("is_anonymous_ip"), boolean, true, false, "tables",
        [&] { return Flag(e->is_anonymous_ip); });
  s.Col(Name("is_new_card_on_customer"), boolean, true, false, "velocity", [&] {
    if (e->card == kMissingHash || e->customer == kMissingHash) return 0.0;
    return Flag(!VelocityState::HasItem(c->entities[Idx(EntityKind::kCustomer)], kFamilyCards,
                                        e->card));
  });

  s.Col(Name("distance_between_billing_and_shipping_address"), num, true, false, "derived", [&] {
    const auto& p = e->coordinates;
    return Haversine(p[kFieldBillingLatitude], p[kFieldBillingLongitude],
                     p[kFieldShippingLatitude], p[kFieldShippingLongitude]);
  });
  s.Col(Name("distance_between_ip_and_billing_address"), num, true, false, "derived", [&] {
    const auto& p = e->coordinates;
    return Haversine(p[kFieldIpLatitude], p[kFieldIpLongitude], p[kFieldBillingLatitude],
                     p[kFieldBillingLongitude]);
  });
  s.Col(Name("distance_between_ip_and_shipping_address"), num, true, false, "derived", [&] {
    const auto& p = e->coordinates;
    return Haversine(p[kFieldIpLatitude], p[kFieldIpLongitude], p[kFieldShippingLatitude],
                     p[kFieldShippingLongitude]);
  });

  s.Col(Name("local_hour"), num, false, false, "derived", [&] {
    if (!e->has_timezone) return kNaN;
    const int64_t local = e->created + int64_t{e->timezone_offset_minutes} * 60;
    return static_cast<double>(((local % 86400) + 86400) % 86400 / 3600);
  });
  s.Col(Name("email_name_similarity"), num, false, false, "derived",
        [&] { return e->email_name_similarity; });
  s.Col(Name("device_matches_payment_method_session"), boolean, false, false, "derived", [&] {
    return Match(e->device != kMissingHash, e->pm_device != kMissingHash, e->device == e->pm_device);
  });
  s.Col(Name("ip_matches_payment_method_session"), boolean, false, false, "derived",
        [&] { return Match(e->ip != kMissingHash, e->pm_ip != kMissingHash, e->ip == e->pm_ip); });
  s.Col(Name("session_automation"), boolean, false, false, "event",
        [&] { return Tri(e->flags[kFieldSessionAutomation]); });
  s.Col(Name("is_headless_browser"), boolean, false, false, "derived",
        [&] { return e->browser_code < 0 ? kNaN : Flag(e->headless_user_agent); });
  s.Col(Name("card_country_matches_ip_country"), boolean, false, false, "derived", [&] {
    return Match(e->card_country_code >= 0, e->ip_country_code >= 0,
                 e->card_country_code == e->ip_country_code);
  });
  s.Col(Name("billing_country_matches_ip_country"), boolean, false, false, "derived", [&] {
    return Match(e->billing_country_code >= 0, e->ip_country_code >= 0,
                 e->billing_country_code == e->ip_country_code);
  });

  static constexpr NamedEntity kChargeEntities[] = {
      {"billing_address", EntityKind::kBillingAddress}, {"card_number", EntityKind::kCard},
      {"customer", EntityKind::kCustomer},              {"email", EntityKind::kEmail},
      {"ip_address", EntityKind::kIp},                  {"shipping_address", EntityKind::kShippingAddress}};
  for (const NamedEntity& entity : kChargeEntities) EmitCharges(s, c, entity, kW4.data(), kW4.size());

  static constexpr NamedEntity kCardCountEntities[] = {
      {"billing_address", EntityKind::kBillingAddress}, {"customer", EntityKind::kCustomer},
      {"email", EntityKind::kEmail},                    {"ip_address", EntityKind::kIp},
      {"shipping_address", EntityKind::kShippingAddress}};
  for (const NamedEntity& entity : kCardCountEntities) {
    EmitFamily(s, c, "card_count_for_", entity.name, entity.kind, kFamilyCards, kW4.data(),
               kW4.size(), true, "velocity");
  }
  static constexpr NamedEntity kEmailCountEntities[] = {
      {"billing_address", EntityKind::kBillingAddress}, {"ip", EntityKind::kIp},
      {"shipping_address", EntityKind::kShippingAddress}, {"card", EntityKind::kCard}};
  for (const NamedEntity& entity : kEmailCountEntities) {
    EmitFamily(s, c, "email_count_for_", entity.name, entity.kind, kFamilyEmails, kW4.data(),
               kW4.size(), true, "velocity");
  }
  EmitFamily(s, c, "name_count_for_", "card", EntityKind::kCard, kFamilyNames, kW4.data(),
             kW4.size(), true, "velocity");
  for (const NamedEntity& entity : {NamedEntity{"email", EntityKind::kEmail},
                                    NamedEntity{"card", EntityKind::kCard}}) {
    EmitFamily(s, c, "total_customers_for_", entity.name, entity.kind, kFamilyCustomers,
               kYearlyWeekly.data(), kYearlyWeekly.size(), true, "velocity");
  }
  for (const NamedEntity& entity : {NamedEntity{"email", EntityKind::kEmail},
                                    NamedEntity{"card", EntityKind::kCard}}) {
    EmitFamily(s, c, "total_customers_with_prior_fraud_activity_for_", entity.name, entity.kind,
               kFamilyFraudCustomers, kYearlyWeekly.data(), kYearlyWeekly.size(), true, "labels");
  }
  EmitFamily(s, c, "dispute_count_on_", "ip", EntityKind::kIp, kFamilyDisputes, kW4.data(),
             kW4.size(), true, "labels");
  static constexpr std::array<Window, 2> kAllTimeYearly = {kAllTime, kYearly};
  EmitFamily(s, c, "dispute_count_on_", "card_number", EntityKind::kCard, kFamilyDisputes,
             kAllTimeYearly.data(), kAllTimeYearly.size(), true, "labels");
  EmitFamily(s, c, "efw_count_on_", "card", EntityKind::kCard, kFamilyEfws, kW4.data(), kW4.size(),
             true, "labels");
  EmitFamily(s, c, "efw_count_on_", "ip", EntityKind::kIp, kFamilyEfws, kW4.data(), kW4.size(),
             true, "labels");
  EmitFamily(s, c, "refund_count_on_", "card", EntityKind::kCard, kFamilyRefunds, kW4.data(),
             kW4.size(), true, "labels");

  for (const NamedEntity& entity : {NamedEntity{"customer", EntityKind::kCustomer},
                                    NamedEntity{"card", EntityKind::kCard}}) {
    const size_t k = Idx(entity.kind);
    auto entity_value = [&](auto&& f) {
      if (!c->present[k]) return kNaN;
      const Entity* ent = c->entities[k];
      return ent == nullptr ? f(Entity{}) : f(*ent);
    };
    s.Col(Name("average_usd_amount_attempted", "_on_", entity.name, "_all_time"), num, true, false, "velocity", [&] {
      return entity_value([](const Entity& x) {
        return x.all_time[kCountTotal] == 0 ? kNaN : x.usd_attempted / x.all_time[kCountTotal];
      });
    });
    s.Col(Name("average_usd_amount_successful", "_on_", entity.name, "_all_time"), num, true, false, "velocity", [&] {
      return entity_value([](const Entity& x) {
        return x.all_time[kCountAuthorized] == 0 ? kNaN
                                                 : x.usd_successful / x.all_time[kCountAuthorized];
      });
    });
    s.Col(Name("total_usd_amount_charged", "_on_", entity.name, "_all_time"), num, true, false, "velocity",
          [&] { return entity_value([](const Entity& x) { return x.usd_attempted; }); });
    s.Col(Name("total_usd_amount_failed", "_on_", entity.name, "_all_time"), num, true, false, "velocity",
          [&] { return entity_value([](const Entity& x) { return x.usd_failed; }); });
    s.Col(Name("total_usd_amount_successful", "_on_", entity.name, "_all_time"), num, true, false, "velocity",
          [&] { return entity_value([](const Entity& x) { return x.usd_successful; }); });
  }

  struct Since {
    const char* name;
    const char* source;
  };
  static constexpr Since kSince[] = {{"_since_customer_was_created", "event"},
                                     {"_since_email_first_seen", "velocity"},
                                     {"_since_card_first_seen", "velocity"},
                                     {"_since_first_successful_auth_on_card", "velocity"}};
  static constexpr std::pair<const char*, int64_t> kUnits[] = {
      {"hours", 3600}, {"minutes", 60}, {"seconds", 1}};
  for (size_t which = 0; which < 4; ++which) {
    for (const auto& unit : kUnits) {
      s.Col(Name(unit.first, kSince[which].name), num, true, false, kSince[which].source, [&] {
        int64_t seconds = 0;
        if (which == 0) {
          if (!e->has_customer_created) return kNaN;
          seconds = std::max<int64_t>(0, e->created - e->customer_created);
        } else {
          const EntityKind kind = which == 1 ? EntityKind::kEmail : EntityKind::kCard;
          const Entity* ent = c->entities[Idx(kind)];
          if (ent == nullptr) return kNaN;
          const uint32_t since = which == 3 ? ent->first_success : ent->first_seen;
          if (since == kNever) return kNaN;
          seconds = c->t - static_cast<int64_t>(since);
        }
        seconds = std::min(seconds, kFiveYears);
        return static_cast<double>(seconds / unit.second);
      });
    }
  }

  for (const NamedEntity& entity : {NamedEntity{"device", EntityKind::kDevice},
                                    NamedEntity{"merchant", EntityKind::kMerchant}}) {
    for (const NamedCounter& counter : kCounters) {
      for (Window window : kDailyHourly) {
        s.Col(Name(counter.name, "_charges_per_", entity.name, "_", kWindowNames[window]), num, false, false, "velocity",
              [&] {
                const size_t k = Idx(entity.kind);
                return c->present[k]
                           ? static_cast<double>(c->counts[k].charges[window][static_cast<size_t>(counter.counter)])
                           : kNaN;
              });
      }
    }
  }
  EmitFamily(s, c, "card_count_for_", "device", EntityKind::kDevice, kFamilyCards,
             kDailyHourly.data(), kDailyHourly.size(), false, "velocity");
  EmitFamily(s, c, "email_count_for_", "device", EntityKind::kDevice, kFamilyEmails,
             kDailyHourly.data(), kDailyHourly.size(), false, "velocity");
}

// Copies a finished row into the output matrix, with non-temporal stores where the CPU has
// them: the matrix is far larger than the caches and is not read again here, so fetching its
// lines before writing them (what plain stores do) would only take memory bandwidth and evict
// the velocity state. The caller issues the fence (FinishStreaming) once the matrix is done.
void StreamRow(const double* row, double* out, size_t width) {
#if defined(__SSE2__)
  if ((reinterpret_cast<uintptr_t>(out) & 15) == 0) {
    size_t i = 0;
    // Eight stores per turn: the loop's own bookkeeping was more than half its instructions.
    for (; i + 16 <= width; i += 16) {
      for (size_t k = 0; k < 16; k += 2) _mm_stream_pd(out + i + k, _mm_loadu_pd(row + i + k));
    }
    for (; i + 2 <= width; i += 2) _mm_stream_pd(out + i, _mm_loadu_pd(row + i));
    if (i < width) out[i] = row[i];
    return;
  }
#endif
  std::memcpy(out, row, width * sizeof(double));
}

void FinishStreaming() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

std::vector<ColumnSpec> BuildColumns() {
  std::vector<ColumnSpec> specs;
  SpecSink sink{&specs};
  EmitColumns(sink, nullptr);
  return specs;
}

// String attributes: where each comes from.
enum class StringSource : uint8_t { kField, kEmail, kEmailDomain, kBrowser, kOs, kBilling, kShipping,
                                    kTransactionType, kPaymentMethodType };
struct StringAttributeSpec {
  const char* name;
  StringSource source;
  StringField field;
  bool case_sensitive;
  bool card_only;
};
constexpr StringAttributeSpec kStringSpecs[] = {
    {"email", StringSource::kEmail, kFieldEmail, false, false},
    {"email_domain", StringSource::kEmailDomain, kFieldEmail, false, false},
    {"customer", StringSource::kField, kFieldCustomer, true, false},
    {"card_fingerprint", StringSource::kField, kFieldCardFingerprint, true, true},
    {"card_bin", StringSource::kField, kFieldCardBin, false, true},
    {"card_brand", StringSource::kField, kFieldCardBrand, false, true},
    {"card_country", StringSource::kField, kFieldCardCountry, false, true},
    {"card_funding", StringSource::kField, kFieldCardFunding, false, true},
    {"card_3d_secure_result", StringSource::kField, kFieldThreeDSecureResult, false, true},
    {"cardholder_name", StringSource::kField, kFieldName, false, true},
    {"digital_wallet", StringSource::kField, kFieldDigitalWallet, false, true},
    {"address_line1_check", StringSource::kField, kFieldAddressLine1Check, true, true},
    {"address_zip_check", StringSource::kField, kFieldAddressZipCheck, true, true},
    {"cvc_check", StringSource::kField, kFieldCvcCheck, true, true},
    {"currency", StringSource::kField, kFieldCurrency, false, false},
    {"payment_method_type", StringSource::kPaymentMethodType, kFieldPaymentMethodType, false, false},
    {"charge_description", StringSource::kField, kFieldDescription, false, false},
    {"ip_address", StringSource::kField, kFieldIpAddress, false, false},
    {"ip_country", StringSource::kField, kFieldIpCountry, false, false},
    {"user_agent", StringSource::kField, kFieldUserAgent, false, false},
    {"browser", StringSource::kBrowser, kFieldUserAgent, false, false},
    {"operating_system", StringSource::kOs, kFieldUserAgent, false, false},
    {"billing_address", StringSource::kBilling, kFieldBillingLine1, false, false},
    {"billing_address_line1", StringSource::kField, kFieldBillingLine1, false, false},
    {"billing_address_line2", StringSource::kField, kFieldBillingLine2, false, false},
    {"billing_address_city", StringSource::kField, kFieldBillingCity, false, false},
    {"billing_address_state", StringSource::kField, kFieldBillingState, false, false},
    {"billing_address_postal_code", StringSource::kField, kFieldBillingPostalCode, false, false},
    {"billing_address_country", StringSource::kField, kFieldBillingCountry, false, false},
    {"shipping_address", StringSource::kShipping, kFieldShippingLine1, false, false},
    {"shipping_address_line1", StringSource::kField, kFieldShippingLine1, false, false},
    {"shipping_address_line2", StringSource::kField, kFieldShippingLine2, false, false},
    {"shipping_address_city", StringSource::kField, kFieldShippingCity, false, false},
    {"shipping_address_state", StringSource::kField, kFieldShippingState, false, false},
    {"shipping_address_postal_code", StringSource::kField, kFieldShippingPostalCode, false, false},
    {"shipping_address_country", StringSource::kField, kFieldShippingCountry, false, false},
    {"transaction_type", StringSource::kTransactionType, kFieldId, false, false},
};

std::vector<ColumnSpec> BuildStringAttributes() {
  std::vector<ColumnSpec> specs;
  for (const StringAttributeSpec& spec : kStringSpecs) {
    const bool plain = spec.source == StringSource::kField;
    specs.push_back(ColumnSpec{spec.name, ColumnKind::kString, true, spec.case_sensitive,
                               plain ? "event" : "derived"});
  }
  return specs;
}

}  // namespace

FeatureExtractor::FeatureExtractor(const PackerTables& tables, VelocityConfig config)
    : packer_(tables), state_(config) {}

const std::vector<ColumnSpec>& FeatureExtractor::Columns() {
  static const std::vector<ColumnSpec> columns = BuildColumns();
  return columns;
}

const std::vector<ColumnSpec>& FeatureExtractor::StringAttributes() {
  static const std::vector<ColumnSpec> specs = BuildStringAttributes();
  return specs;
}

FeatureExtractor::Keys FeatureExtractor::EntityKeys(const PackedEvent& e) {
  std::array<uint64_t, kNumEntityKinds> v{};
  v[Idx(EntityKind::kCard)] = e.is_card ? e.card : kMissingHash;
  v[Idx(EntityKind::kCustomer)] = e.customer;
  v[Idx(EntityKind::kEmail)] = e.email;
  v[Idx(EntityKind::kIp)] = e.ip;
  v[Idx(EntityKind::kBillingAddress)] = e.billing_address;
  v[Idx(EntityKind::kShippingAddress)] = e.shipping_address;
  v[Idx(EntityKind::kDevice)] = e.device;
  v[Idx(EntityKind::kMerchant)] = e.merchant;
  Keys keys;
  for (size_t k = 0; k < kNumEntityKinds; ++k) {
    keys[k] = VelocityState::KeyOf(static_cast<EntityKind>(k), v[k]);
  }
  return keys;
}

const Entity* FeatureExtractor::Lookup(uint64_t key, int64_t t) const {
  const Entity* entity = state_.FindKey(key);
  // Idle past the time-to-live: forgotten, even before the daily sweep removes it.
  if (entity != nullptr && t - static_cast<int64_t>(entity->last_seen) > state_.config().ttl_seconds) {
    return nullptr;
  }
  return entity;
}

Entity* FeatureExtractor::Acquire(EntityKind kind, uint64_t key, int64_t t) {
  bool inserted = false;
  Entity* entity = state_.FindOrInsertKey(kind, key, &inserted);
  if (entity != nullptr && !inserted &&
      t - static_cast<int64_t>(entity->last_seen) > state_.config().ttl_seconds) {
    state_.Reset(entity);
  }
  return entity;
}

void FeatureExtractor::Fill(const PackedEvent& event, int64_t t, const Keys& keys,
                            const std::array<const Entity*, kNumEntityKinds>& entities,
                            double* row) const {
  RowContext context;
  context.e = &event;
  context.packer = &packer_;
  context.t = t;
  context.entities = entities;
  for (size_t k = 0; k < kNumEntityKinds; ++k) {
    context.present[k] = keys[k] != 0;
    VelocityState::Count(entities[k], t, &context.counts[k]);
  }
  ValueSink sink{row};
  EmitColumns(sink, &context);
}

void FeatureExtractor::ExtractOne(const PackedEvent& event, double* row) const {
  const int64_t t = std::max(event.created, state_.clock());
  const Keys keys = EntityKeys(event);
  // Three rounds of lookups so the cache misses of the eight entities overlap.
  for (uint64_t key : keys) state_.PrefetchSlot(key);
  for (uint64_t key : keys) state_.PrefetchEntity(key);
  std::array<const Entity*, kNumEntityKinds> entities{};
  for (size_t k = 0; k < kNumEntityKinds; ++k) {
    entities[k] = Lookup(keys[k], t);
    VelocityState::PrefetchArrays(entities[k]);
  }
  Fill(event, t, keys, entities, row);
}

void FeatureExtractor::Apply(const PackedEvent& e, Outcome outcome, int64_t t,
                             const Entities& entities) {
  for (Entity* entity : entities.at) {
    if (entity != nullptr) VelocityState::Seen(entity, t);
  }
  const bool setup_intent = e.flags[kFieldIsSetupIntent] > 0;
  if (!setup_intent) {
    int counter = -1;
    if (outcome == Outcome::kAuthorized) counter = kCountAuthorized;
    if (outcome == Outcome::kDeclined) counter = kCountDeclined;
    if (outcome == Outcome::kBlocked) counter = kCountBlocked;
    for (Entity* entity : entities.at) {
      if (entity != nullptr) state_.AddCharge(entity, t, counter, true);
    }
    for (EntityKind kind : {EntityKind::kCustomer, EntityKind::kCard}) {
      Entity* entity = entities.at[Idx(kind)];
      if (entity == nullptr) continue;
      entity->usd_attempted += e.amount_usd;
      if (outcome == Outcome::kAuthorized) entity->usd_successful += e.amount_usd;
      if (outcome == Outcome::kDeclined || outcome == Outcome::kBlocked) {
        entity->usd_failed += e.amount_usd;
      }
    }
    Entity* card = entities.at[Idx(EntityKind::kCard)];
    if (card != nullptr && outcome == Outcome::kAuthorized && card->first_success == kNever) {
      card->first_success = static_cast<uint32_t>(t);
    }
  }
  auto touch = [&](EntityKind kind, Family family, uint64_t value) {
    Entity* entity = entities.at[Idx(kind)];
    if (entity != nullptr && value != kMissingHash) state_.TouchItem(entity, family, value, t);
  };
  const uint64_t card = e.is_card ? e.card : kMissingHash;
  for (EntityKind kind : {EntityKind::kCustomer, EntityKind::kEmail, EntityKind::kIp,
                          EntityKind::kBillingAddress, EntityKind::kShippingAddress,
                          EntityKind::kDevice}) {
    touch(kind, kFamilyCards, card);
  }
  for (EntityKind kind : {EntityKind::kIp, EntityKind::kBillingAddress,
                          EntityKind::kShippingAddress, EntityKind::kCard, EntityKind::kDevice}) {
    touch(kind, kFamilyEmails, e.email);
  }
  touch(EntityKind::kCard, kFamilyNames, e.name);
  touch(EntityKind::kEmail, kFamilyCustomers, e.customer);
  touch(EntityKind::kCard, kFamilyCustomers, e.customer);
}

void FeatureExtractor::Update(const PackedEvent& event, Outcome outcome) {
  const int64_t t = state_.Advance(event.created);
  const Keys keys = EntityKeys(event);
  Entities entities;
  for (size_t k = 0; k < kNumEntityKinds; ++k) {
    entities.at[k] = Acquire(static_cast<EntityKind>(k), keys[k], t);
  }
  Apply(event, outcome, t, entities);
}

void FeatureExtractor::RecordLabel(const PackedEvent& e, Label label, int64_t at) {
  const int64_t t = state_.Advance(std::max(at, e.created));
  const Keys keys = EntityKeys(e);
  auto get = [&](EntityKind kind) {
    Entity* entity = Acquire(kind, keys[Idx(kind)], t);
    if (entity != nullptr) entity->last_seen = std::max(entity->last_seen, static_cast<uint32_t>(t));
    return entity;
  };
  auto touch = [&](EntityKind kind, Family family, uint64_t value) {
    if (value == kMissingHash) return;
    if (Entity* entity = get(kind)) state_.TouchItem(entity, family, value, t);
  };
  const bool setup_intent = e.flags[kFieldIsSetupIntent] > 0;
  if (label == Label::kAuthorized || label == Label::kDeclined) {
    if (setup_intent) return;
    const int counter = label == Label::kAuthorized ? kCountAuthorized : kCountDeclined;
    for (size_t k = 0; k < kNumEntityKinds; ++k) {
      if (keys[k] == 0) continue;
      Entity* entity = get(static_cast<EntityKind>(k));
      state_.AddCharge(entity, t, counter, false);
      const bool money = k == Idx(EntityKind::kCustomer) || k == Idx(EntityKind::kCard);
      if (money && label == Label::kAuthorized) entity->usd_successful += e.amount_usd;
      if (money && label == Label::kDeclined) entity->usd_failed += e.amount_usd;
      if (k == Idx(EntityKind::kCard) && label == Label::kAuthorized &&
          entity->first_success == kNever) {
        entity->first_success = static_cast<uint32_t>(t);
      }
    }
    return;
  }
  bool fraud = false;
  switch (label) {
    case Label::kRefund:
      touch(EntityKind::kCard, kFamilyRefunds, e.id);
      break;
    case Label::kFraudulentRefund:
      touch(EntityKind::kCard, kFamilyRefunds, e.id);
      fraud = true;
      break;
    case Label::kEarlyFraudWarning:
      touch(EntityKind::kCard, kFamilyEfws, e.id);
      touch(EntityKind::kIp, kFamilyEfws, e.id);
      fraud = true;
      break;
    case Label::kDispute:
      touch(EntityKind::kCard, kFamilyDisputes, e.id);
      touch(EntityKind::kIp, kFamilyDisputes, e.id);
      fraud = true;
      break;
    case Label::kHighRiskBlock:
      fraud = true;
      break;
    case Label::kAuthorized:
    case Label::kDeclined:
      break;
  }
  if (fraud) {
    touch(EntityKind::kEmail, kFamilyFraudCustomers, e.customer);
    touch(EntityKind::kCard, kFamilyFraudCustomers, e.customer);
  }
}

void FeatureExtractor::ExtractMany(const EventColumns& columns, const int64_t* order, bool update,
                                   double* out) {
  // The packed rows and keys of a batch live in buffers kept across calls (up to a chunk's
  // worth), so a chunked replay does not map, fault in and zero ~30 MB of fresh pages per call.
  std::vector<PackedEvent>& packed = packed_;
  std::vector<Keys>& keys = keys_;
  packed.resize(columns.rows);
  keys.resize(columns.rows);
  struct Trim {
    FeatureExtractor* self;
    ~Trim() {
      if (self->packed_.size() > kKeptBatchRows) {
        self->packed_ = {};
        self->keys_ = {};
      }
    }
  } trim{this};
  PackScratch& scratch = batch_scratch_;
  RawEvent raw;
  auto row_at = [&](size_t k) { return order == nullptr ? k : static_cast<size_t>(order[k]); };
  for (size_t k = 0; k < columns.rows; ++k) {
    const size_t i = row_at(k);
    try {
      columns.ReadRow(i, &raw);
      packer_.Pack(raw, &packed[k], &scratch);
    } catch (const SchemaError& error) {
      throw SchemaError(std::string(error.what()) + " (row " + std::to_string(i) + ")");
    }
    keys[k] = EntityKeys(packed[k]);
  }
  const size_t width = Columns().size();
  std::vector<double> staging(width);  // the row being filled, in L1 until it is streamed out
  // Rows ahead are prefetched in stages (slots, then records, then arrays) so memory latency
  // overlaps the work on the current row; the keys are computed once per row, above.
  constexpr size_t kSlotDistance = 16;
  constexpr size_t kEntityDistance = 10;
  constexpr size_t kArrayDistance = 4;
  for (size_t k = 0; k < columns.rows; ++k) {
    if (k + kSlotDistance < columns.rows) {
      for (uint64_t key : keys[k + kSlotDistance]) state_.PrefetchSlot(key);
    }
    if (k + kEntityDistance < columns.rows) {
      for (uint64_t key : keys[k + kEntityDistance]) state_.PrefetchEntity(key);
    }
    if (k + kArrayDistance < columns.rows) {
      for (uint64_t key : keys[k + kArrayDistance]) state_.PrefetchArrays(key);
    }
    const PackedEvent& e = packed[k];
    double* row = out + row_at(k) * width;
    if (!update) {
      ExtractOne(e, staging.data());
      StreamRow(staging.data(), row, width);
      continue;
    }
    const int64_t t = state_.Advance(e.created);
    Entities entities;
    std::array<const Entity*, kNumEntityKinds> readable{};
    for (size_t kind = 0; kind < kNumEntityKinds; ++kind) {
      entities.at[kind] = Acquire(static_cast<EntityKind>(kind), keys[k][kind], t);
      readable[kind] = entities.at[kind];
    }
    Fill(e, t, keys[k], readable, staging.data());
    StreamRow(staging.data(), row, width);
    Apply(e, e.has_outcome ? e.outcome : Outcome::kPending, t, entities);
  }
  FinishStreaming();
}

std::optional<std::string> FeatureExtractor::StringAttribute(size_t index, const RawEvent& raw) {
  const StringAttributeSpec& spec = kStringSpecs[index];
  if (spec.card_only && !EventPacker::IsCard(raw)) return std::nullopt;
  switch (spec.source) {
    case StringSource::kEmail:
      return EventPacker::NormalisedEmail(raw);
    case StringSource::kEmailDomain:
      return EventPacker::EmailDomain(raw);
    case StringSource::kBilling:
      return EventPacker::Address(raw, false);
    case StringSource::kShipping:
      return EventPacker::Address(raw, true);
    case StringSource::kBrowser:
    case StringSource::kOs: {
      if (!raw.Has(kFieldUserAgent) || Trim(raw.Str(kFieldUserAgent)).empty()) return std::nullopt;
      const UserAgentInfo info = ParseUserAgent(Trim(raw.Str(kFieldUserAgent)));
      return spec.source == StringSource::kBrowser ? FormatBrowser(info)
                                                   : FormatOperatingSystem(info);
    }
    case StringSource::kTransactionType: {
      if (raw.bools[kFieldIsSetupIntent] > 0) return std::string("setup_intent");
      const std::string_view id = Trim(raw.Str(kFieldId));
      return std::string(id.substr(0, 3) == "pi_" ? "payment_intent" : "charge");
    }
    case StringSource::kPaymentMethodType: {
      const std::string_view v = raw.Has(spec.field) ? Trim(raw.Str(spec.field)) : std::string_view{};
      return std::string(v.empty() ? std::string_view("card") : v);
    }
    case StringSource::kField: {
      if (!raw.Has(spec.field)) return std::nullopt;
      const std::string_view v = Trim(raw.Str(spec.field));
      if (v.empty()) return std::nullopt;
      return std::string(v);
    }
  }
  return std::nullopt;
}

namespace {

// One requested string attribute while a batch is encoded: its distinct values in first-seen
// order and, for attributes that read a single field, the code already given to each distinct
// field value, so normalising and user-agent parsing run once per distinct value.
struct AttributeEncoder {
  size_t index = 0;
  const StringAttributeSpec* spec = nullptr;
  bool single_field = false;
  std::unordered_map<std::string_view, int32_t> by_field;  // views into the batch's buffers
  int32_t field_absent_code = 0;
  bool field_absent_seen = false;
  std::deque<std::string> values;  // a deque, so the views in by_value stay valid
  std::unordered_map<std::string_view, int32_t> by_value;

  int32_t Intern(std::optional<std::string> value) {
    if (!value) return -1;
    const auto found = by_value.find(*value);
    if (found != by_value.end()) return found->second;
    const auto code = static_cast<int32_t>(values.size());
    values.push_back(std::move(*value));
    by_value.emplace(values.back(), code);
    return code;
  }

  int32_t Code(const RawEvent& raw, bool is_card) {
    if (spec->card_only && !is_card) return -1;
    if (!single_field) return Intern(FeatureExtractor::StringAttribute(index, raw));
    if (!raw.Has(spec->field)) {
      if (!field_absent_seen) {
        field_absent_code = Intern(FeatureExtractor::StringAttribute(index, raw));
        field_absent_seen = true;
      }
      return field_absent_code;
    }
    const std::string_view field = raw.Str(spec->field);
    const auto found = by_field.find(field);
    if (found != by_field.end()) return found->second;
    const int32_t code = Intern(FeatureExtractor::StringAttribute(index, raw));
    by_field.emplace(field, code);
    return code;
  }
};

}  // namespace

std::vector<StringAttributeColumn> FeatureExtractor::StringAttributesMany(
    const EventColumns& columns, const std::vector<size_t>& indices) {
  std::vector<AttributeEncoder> encoders(indices.size());
  bool any_card_only = false;
  for (size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] >= std::size(kStringSpecs)) {
      throw std::out_of_range("string attribute index " + std::to_string(indices[k]) +
                              " is out of range");
    }
    AttributeEncoder& encoder = encoders[k];
    encoder.index = indices[k];
    encoder.spec = &kStringSpecs[indices[k]];
    const StringSource source = encoder.spec->source;
    encoder.single_field = source != StringSource::kBilling && source != StringSource::kShipping &&
                           source != StringSource::kTransactionType;
    any_card_only |= encoder.spec->card_only;
  }
  std::vector<StringAttributeColumn> out(indices.size());
  for (StringAttributeColumn& column : out) column.codes.resize(columns.rows);
  RawEvent raw;
  for (size_t r = 0; r < columns.rows; ++r) {
    columns.ReadRow(r, &raw);
    const bool is_card = any_card_only && EventPacker::IsCard(raw);
    for (size_t k = 0; k < encoders.size(); ++k) out[k].codes[r] = encoders[k].Code(raw, is_card);
  }
  for (size_t k = 0; k < encoders.size(); ++k) {
    StringAttributeColumn& column = out[k];
    column.offsets.reserve(encoders[k].values.size() + 1);
    for (const std::string& value : encoders[k].values) {
      column.data += value;
      column.offsets.push_back(static_cast<int64_t>(column.data.size()));
    }
  }
  return out;
}

}  // namespace radarcore
