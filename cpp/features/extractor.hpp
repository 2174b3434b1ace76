// One payment event + the velocity state -> one feature row (the model features, a numeric
// superset of Radar's rule attributes) and Radar's string attributes; batch replay over a
// time-sorted stream; the state updates that follow a decision and the labels that arrive later.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "features/event.hpp"
#include "features/packer.hpp"
#include "velocity/velocity_state.hpp"

namespace radarcore {

enum class ColumnKind : uint8_t { kNumeric, kBool, kCategory, kString };

// One entry of the catalogue of what radarcore computes. `attribute` marks Radar rule attributes
// (Stripe's name); the others are model-only features. `source` is "event" (a field of the event,
// maybe normalised), "tables" (event + a configured table: rates, lists), "derived" (computed
// from several fields), "velocity" (the state: counters of past payments) or "labels" (the state:
// counters fed by refunds, early fraud warnings and disputes).
struct ColumnSpec {
  std::string name;
  ColumnKind kind;
  bool attribute;
  bool case_sensitive;
  std::string source;
};

// One string attribute of a batch, dictionary-encoded: codes[row] indexes the distinct values
// (-1 = missing), held once each in Arrow's large-string layout (value i is
// data[offsets[i], offsets[i + 1]); offsets has one entry more than there are values).
struct StringAttributeColumn {
  std::vector<int32_t> codes;
  std::vector<int64_t> offsets{0};
  std::string data;
};

class FeatureExtractor {
 public:
  // Throws SchemaError when a table is malformed.
  FeatureExtractor(const PackerTables& tables, VelocityConfig config);

  // The feature row's columns in order (kind numeric, bool or category; NaN is missing).
  static const std::vector<ColumnSpec>& Columns();
  // Radar's string attributes, in order (kind string).
  static const std::vector<ColumnSpec>& StringAttributes();

  const EventPacker& packer() const { return packer_; }
  VelocityState& state() { return state_; }
  const VelocityState& state() const { return state_; }
  void set_state(VelocityState state) { state_ = std::move(state); }

  // Features of one packed event as of now (the state is not changed); row has Columns().size()
  // doubles.
  void ExtractOne(const PackedEvent& event, double* row) const;
  // Records the decided payment: counters, distinct sets, first-seen times, amounts.
  void Update(const PackedEvent& event, Outcome outcome);
  // Records a network result or a label about `event` that arrived at time `at`.
  void RecordLabel(const PackedEvent& event, Label label, int64_t at);

  // Validates and packs every row first (nothing changes on a bad row: SchemaError naming the
  // field and row), then for each row in turn: extracts into out[row * width] and, when
  // `update` is set, updates the state with the row's outcome (kPending when null). Rows are
  // taken in the order order[0..rows) (a permutation of row numbers), or 0..rows when null.
  void ExtractMany(const EventColumns& columns, const int64_t* order, bool update, double* out);

  // The string attribute `index` (into StringAttributes()) of a raw event (a valid one: see
  // EventPacker::Pack).
  static std::optional<std::string> StringAttribute(size_t index, const RawEvent& raw);

  // The string attributes `indices` (into StringAttributes()) of every row of a batch, in row
  // order, one column per index. Attributes read from one field are computed once per distinct
  // field value. The rows must be valid (ExtractMany checks them); reads no state, so it is safe
  // to call concurrently with anything. Throws std::out_of_range for a bad index.
  static std::vector<StringAttributeColumn> StringAttributesMany(const EventColumns& columns,
                                                                 const std::vector<size_t>& indices);

 private:
  struct Entities {
    std::array<Entity*, kNumEntityKinds> at{};
  };
  // The state's key of each entity kind of a payment (0 = missing), computed once per payment.
  using Keys = std::array<uint64_t, kNumEntityKinds>;
  const Entity* Lookup(uint64_t key, int64_t t) const;
  Entity* Acquire(EntityKind kind, uint64_t key, int64_t t);
  static Keys EntityKeys(const PackedEvent& event);
  void Fill(const PackedEvent& event, int64_t t, const Keys& keys,
            const std::array<const Entity*, kNumEntityKinds>& entities, double* row) const;
  void Apply(const PackedEvent& event, Outcome outcome, int64_t t, const Entities& entities);

  // ExtractMany's per-row buffers, reused while batches stay under kKeptBatchRows rows.
  static constexpr size_t kKeptBatchRows = size_t{1} << 17;
  std::vector<PackedEvent> packed_;
  std::vector<Keys> keys_;
  PackScratch batch_scratch_;  // ExtractMany's (its user-agent cache lasts across batches)

  EventPacker packer_;
  VelocityState state_;
};

}  // namespace radarcore
