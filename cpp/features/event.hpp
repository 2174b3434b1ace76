// The payment event: its fields (the schema documented in python/radarcore/events.py), a
// non-owning view of one raw event or of a batch of columns, and the packed form the extractor
// and the velocity state work on (strings reduced to 64-bit hashes and small integer codes).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

namespace radarcore {

// String fields, in the order the bindings pass them. Names in kStringFieldNames.
enum StringField : int {
  kFieldId,
  kFieldCurrency,
  kFieldPaymentMethodType,
  kFieldCardFingerprint,
  kFieldCardBin,
  kFieldCardBrand,
  kFieldCardFunding,
  kFieldCardCountry,
  kFieldCvcCheck,
  kFieldAddressZipCheck,
  kFieldAddressLine1Check,
  kFieldDigitalWallet,
  kFieldThreeDSecureResult,
  kFieldCustomer,
  kFieldEmail,
  kFieldName,
  kFieldPhone,
  kFieldBillingLine1,
  kFieldBillingLine2,
  kFieldBillingCity,
  kFieldBillingState,
  kFieldBillingPostalCode,
  kFieldBillingCountry,
  kFieldShippingLine1,
  kFieldShippingLine2,
  kFieldShippingCity,
  kFieldShippingState,
  kFieldShippingPostalCode,
  kFieldShippingCountry,
  kFieldIpAddress,
  kFieldIpCountry,
  kFieldUserAgent,
  kFieldDeviceId,
  kFieldPmDeviceId,
  kFieldPmIpAddress,
  kFieldMerchant,
  kFieldDescription,
  kFieldOutcome,
  kNumStringFields
};

enum IntField : int {
  kFieldCreated,
  kFieldAmount,
  kFieldCustomerCreated,
  kFieldSessionTimezoneOffset,
  kNumIntFields
};

enum FloatField : int {
  kFieldBillingLatitude,
  kFieldBillingLongitude,
  kFieldShippingLatitude,
  kFieldShippingLongitude,
  kFieldIpLatitude,
  kFieldIpLongitude,
  kNumFloatFields
};

enum BoolField : int {
  kFieldSessionAutomation,
  kFieldIsOffSession,
  kFieldIsRecurring,
  kFieldIsCheckout,
  kFieldIsSetupIntent,
  kNumBoolFields
};

extern const std::array<const char*, kNumStringFields> kStringFieldNames;
extern const std::array<const char*, kNumIntFields> kIntFieldNames;
extern const std::array<const char*, kNumFloatFields> kFloatFieldNames;
extern const std::array<const char*, kNumBoolFields> kBoolFieldNames;

// What was decided about a payment (Radar's block, the issuer's answer), or kPending when the
// payment was allowed and the network result is not known yet.
enum class Outcome : uint8_t { kPending, kAuthorized, kDeclined, kBlocked };

// Facts that arrive after the payment. kAuthorized/kDeclined are network results for a payment
// recorded as kPending; the others are fraud labels.
enum class Label : uint8_t {
  kAuthorized,
  kDeclined,
  kRefund,
  kFraudulentRefund,
  kEarlyFraudWarning,
  kDispute,
  kHighRiskBlock
};

// One raw event as views into caller-owned memory. A field is missing when its has_ flag is
// false (strings), its value is NaN (floats) or it is negative (bools: -1 missing, 0, 1).
struct RawEvent {
  std::array<std::string_view, kNumStringFields> strings{};
  std::array<bool, kNumStringFields> has_string{};
  std::array<int64_t, kNumIntFields> ints{};
  std::array<bool, kNumIntFields> has_int{};
  std::array<double, kNumFloatFields> floats{};
  std::array<int8_t, kNumBoolFields> bools{};

  RawEvent() {
    floats.fill(std::numeric_limits<double>::quiet_NaN());
    bools.fill(-1);
  }
  std::string_view Str(StringField f) const { return strings[f]; }
  bool Has(StringField f) const { return has_string[f]; }
};

// One string column in Arrow's large_string layout: offsets[rows + 1] into data; valid[i] == 0
// marks a null. offsets == nullptr means the column is absent (every row missing).
struct StringColumn {
  const int64_t* offsets = nullptr;
  const char* data = nullptr;
  const uint8_t* valid = nullptr;
};

// A batch of events as columns (views; the caller owns the memory). Absent columns have null
// pointers. ints_valid/valid arrays hold 0 for null; bools hold -1 for null.
struct EventColumns {
  size_t rows = 0;
  std::array<StringColumn, kNumStringFields> strings{};
  std::array<const int64_t*, kNumIntFields> ints{};
  std::array<const uint8_t*, kNumIntFields> ints_valid{};
  std::array<const double*, kNumFloatFields> floats{};
  std::array<const int8_t*, kNumBoolFields> bools{};

  // Row i into *raw: overwrites the fields of the columns the batch has and leaves the others
  // as they are, so one RawEvent{} reused for every row of a batch reads each row in turn
  // (absent columns stay missing) without rebuilding the whole event per row.
  void ReadRow(size_t i, RawEvent* raw) const;
};

inline constexpr uint64_t kMissingHash = 0;
inline constexpr int32_t kMissingCode = -1;

// A packed event: everything the extractor needs, with strings hashed (0 = missing) and
// enumerations coded (-1 = missing, 0 = a value outside the vocabulary, k > 0 = vocabulary
// entry k). Built by EventPacker; plain data, cheap to copy.
struct PackedEvent {
  int64_t created = 0;
  int64_t amount = 0;
  int64_t customer_created = 0;
  bool has_customer_created = false;
  bool has_timezone = false;
  int32_t timezone_offset_minutes = 0;

  uint64_t id = kMissingHash;
  uint64_t card = kMissingHash;
  uint64_t customer = kMissingHash;
  uint64_t email = kMissingHash;
  uint64_t name = kMissingHash;
  uint64_t ip = kMissingHash;
  uint64_t billing_address = kMissingHash;
  uint64_t shipping_address = kMissingHash;
  uint64_t device = kMissingHash;
  uint64_t merchant = kMissingHash;
  uint64_t pm_device = kMissingHash;
  uint64_t pm_ip = kMissingHash;

  int32_t currency_index = 0;  // row of the currency table
  double amount_usd = 0.0;     // major units of USD
  std::array<double, kNumFloatFields> coordinates{};
  double email_name_similarity = std::numeric_limits<double>::quiet_NaN();

  int64_t card_bin = -1;
  int32_t payment_method_type_code = kMissingCode;
  int32_t currency_code = kMissingCode;
  int32_t card_brand_code = kMissingCode;
  int32_t card_funding_code = kMissingCode;
  int32_t card_country_code = kMissingCode;
  int32_t ip_country_code = kMissingCode;
  int32_t billing_country_code = kMissingCode;
  int32_t shipping_country_code = kMissingCode;
  int32_t digital_wallet_code = kMissingCode;
  int32_t three_d_secure_code = kMissingCode;
  int32_t browser_code = kMissingCode;
  int32_t os_code = kMissingCode;

  bool is_card = true;
  bool is_disposable_email = false;
  bool is_anonymous_ip = false;
  bool headless_user_agent = false;
  std::array<int8_t, kNumBoolFields> flags{};  // copied from the raw event (-1 missing)
  Outcome outcome = Outcome::kPending;
  bool has_outcome = false;
};

}  // namespace radarcore
