#include "pipeline/assessor.hpp"

#include <limits>
#include <string>
#include <utility>

#include "common/errors.hpp"

namespace radarcore {
namespace {

void CheckScorer(const ScorerSpec& scorer, std::int32_t row_width, const char* which) {
  if (scorer.forest == nullptr) return;
  const std::string name(which);
  if (scorer.forest->NumGroups() != 1) {
    throw ModelError(name + " model: a risk model has one output, this one has " +
                      std::to_string(scorer.forest->NumGroups()));
  }
  if (scorer.columns.empty()) {
    if (scorer.forest->NumFeatures() != row_width) {
      throw ModelError(name + " model: reads " + std::to_string(scorer.forest->NumFeatures()) +
                        " features in row order, the feature row has " +
                        std::to_string(row_width));
    }
    return;
  }
  if (static_cast<std::int64_t>(scorer.columns.size()) != scorer.forest->NumFeatures()) {
    throw ModelError(name + " model: " + std::to_string(scorer.columns.size()) +
                      " columns given for " + std::to_string(scorer.forest->NumFeatures()) +
                      " features");
  }
  for (std::int32_t column : scorer.columns) {
    if (column < 0 || column >= row_width) {
      throw ModelError(name + " model: column " + std::to_string(column) +
                        " is outside the feature row");
    }
  }
}

void CheckSlots(const std::vector<SlotSource>& slots, std::int32_t expected, bool numeric,
                const AssessorSpec& spec) {
  const char* what = numeric ? "numeric" : "string";
  if (static_cast<std::int64_t>(slots.size()) != expected) {
    throw SchemaError(std::string("the rule program has ") + std::to_string(expected) + " " +
                      what + " slots, " + std::to_string(slots.size()) + " sources given");
  }
  for (const SlotSource& slot : slots) {
    std::int32_t bound = 0;
    switch (slot.kind) {
      case SlotSourceKind::kRow:
      case SlotSourceKind::kRowBoolean:
        bound = numeric ? spec.row_width : 0;
        break;
      case SlotSourceKind::kInput:
        bound = numeric ? 0 : spec.string_inputs;
        break;
      case SlotSourceKind::kSupplied:
        bound = numeric ? spec.supplied_numeric : spec.supplied_strings;
        break;
    }
    if (slot.index < 0 || slot.index >= bound) {
      throw SchemaError(std::string("a ") + what + " rule slot's source (kind " +
                        std::to_string(static_cast<int>(slot.kind)) + ", index " +
                        std::to_string(slot.index) + ") is out of range");
    }
  }
}

}  // namespace

Assessor::Assessor(AssessorSpec spec) : spec_(std::move(spec)) {
  if (spec_.program == nullptr) throw SchemaError("an assessor needs a rule program");
  if (spec_.row_width < 0 || spec_.string_inputs < 0 || spec_.supplied_numeric < 0 ||
      spec_.supplied_strings < 0) {
    throw SchemaError("an assessor's sizes must not be negative");
  }
  CheckScorer(spec_.live, spec_.row_width, "live");
  CheckScorer(spec_.shadow, spec_.row_width, "shadow");
  CheckSlots(spec_.numeric, spec_.program->numeric_slots(), true, spec_);
  CheckSlots(spec_.strings, spec_.program->string_slots(), false, spec_);
}

double Assessor::Margin(const ScorerSpec& scorer, const double* row) const {
  if (scorer.forest == nullptr) return std::numeric_limits<double>::quiet_NaN();
  double margin = 0.0;
  if (scorer.columns.empty()) {
    scorer.forest->PredictOne(row, true, &margin);
    return margin;
  }
  // The forest's features gathered from the row (a few hundred doubles on the stack).
  constexpr std::size_t kSmall = 512;
  double small[kSmall];
  std::vector<double> large;
  double* x = small;
  if (scorer.columns.size() > kSmall) {
    large.resize(scorer.columns.size());
    x = large.data();
  }
  for (std::size_t i = 0; i < scorer.columns.size(); ++i) {
    x[i] = row[static_cast<std::size_t>(scorer.columns[i])];
  }
  scorer.forest->PredictOne(x, true, &margin);
  return margin;
}

void Assessor::Score(const double* row, double* live_margin, double* shadow_margin) const {
  *live_margin = Margin(spec_.live, row);
  *shadow_margin = Margin(spec_.shadow, row);
}

Decision Assessor::Decide(const double* row, const StringValues& inputs,
                          const double* supplied_numeric, const StringValues& supplied,
                          ObjectKind object, std::int64_t at) const {
  constexpr std::size_t kSmall = 128;
  const std::size_t n_numeric = spec_.numeric.size();
  const std::size_t n_strings = spec_.strings.size();
  double numeric_small[kSmall];
  std::string_view strings_small[kSmall];
  bool present_small[kSmall];
  std::vector<double> numeric_large;
  std::vector<std::string_view> strings_large;
  std::vector<char> present_large;
  double* numeric = numeric_small;
  std::string_view* strings = strings_small;
  bool* present = present_small;
  if (n_numeric > kSmall) {
    numeric_large.resize(n_numeric);
    numeric = numeric_large.data();
  }
  if (n_strings > kSmall) {
    strings_large.resize(n_strings);
    present_large.resize(n_strings);
    strings = strings_large.data();
    present = reinterpret_cast<bool*>(present_large.data());
  }
  for (std::size_t i = 0; i < n_numeric; ++i) {
    const SlotSource& slot = spec_.numeric[i];
    const auto k = static_cast<std::size_t>(slot.index);
    switch (slot.kind) {
      case SlotSourceKind::kRow:
        numeric[i] = row[k];
        break;
      case SlotSourceKind::kRowBoolean:
        numeric[i] = row[k] == 1.0 ? 1.0 : 0.0;
        break;
      default:
        numeric[i] = supplied_numeric[k];
        break;
    }
  }
  for (std::size_t i = 0; i < n_strings; ++i) {
    const SlotSource& slot = spec_.strings[i];
    const auto k = static_cast<std::size_t>(slot.index);
    const StringValues& from = slot.kind == SlotSourceKind::kInput ? inputs : supplied;
    present[i] = from.present[k];
    strings[i] = present[i] ? from.values[k] : std::string_view();
  }
  return spec_.program->EvaluateOne({numeric, strings, present}, object, at);
}

}  // namespace radarcore
