// The online pipeline for one payment after its features: the live and shadow forests' margins
// on the feature row (each forest reading its own columns of the row), and the rule program's
// decision with its input slots read straight from the row, from the payment's string
// attributes and from values the caller supplies (the risk score and level it computed from the
// margin, metadata).
//
// An Assessor holds non-owning pointers to its forests and program: the caller keeps them alive
// as long as the Assessor. It is immutable after construction; concurrent calls need no locks.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "forest/forest.hpp"
#include "rules/program.hpp"

namespace radarcore {

// A forest and the feature-row column each of its features reads (empty: the row in order).
struct ScorerSpec {
  const Forest* forest = nullptr;  // nullptr: no such model
  std::vector<std::int32_t> columns;
};

// Where one rule input slot takes its value from.
enum class SlotSourceKind : std::uint8_t {
  kRow = 0,         // numeric: row[index] as it is (NaN missing)
  kRowBoolean = 1,  // numeric: 1.0 when row[index] == 1.0, else 0.0 (missing reads as false)
  kInput = 2,       // string: the caller's string input `index` (see Assessor::Decide)
  kSupplied = 3,    // numeric or string: the caller's supplied value `index`
};

struct SlotSource {
  SlotSourceKind kind = SlotSourceKind::kSupplied;
  std::int32_t index = 0;
};

struct AssessorSpec {
  std::int32_t row_width = 0;  // columns of the feature row
  ScorerSpec live;
  ScorerSpec shadow;
  const Program* program = nullptr;      // required
  std::vector<SlotSource> numeric;       // one per numeric slot of the program
  std::vector<SlotSource> strings;       // one per string slot of the program
  std::int32_t string_inputs = 0;        // how many string inputs Decide takes
  std::int32_t supplied_numeric = 0;     // how many supplied numbers Decide takes
  std::int32_t supplied_strings = 0;     // how many supplied strings Decide takes
};

// One payment's string values as views (present[i] false: missing).
struct StringValues {
  const std::string_view* values = nullptr;
  const bool* present = nullptr;
};

class Assessor {
 public:
  // Validates the spec: forest widths and columns against the row (ModelError), slot counts
  // against the program and every index in range (SchemaError); the message names what is
  // wrong.
  explicit Assessor(AssessorSpec spec);

  bool has_live() const { return spec_.live.forest != nullptr; }
  bool has_shadow() const { return spec_.shadow.forest != nullptr; }

  // The raw margins of the live and shadow forests on one feature row of row_width doubles
  // (NaN for a forest the Assessor does not have). Single-output forests only.
  void Score(const double* row, double* live_margin, double* shadow_margin) const;

  // The rule decision: numeric slots from the row or supplied_numeric (supplied_numeric
  // values), string slots from `inputs` (string_inputs values) or `supplied` (supplied_strings
  // values). Strings arrive folded where their slot compares case-insensitively.
  Decision Decide(const double* row, const StringValues& inputs, const double* supplied_numeric,
                  const StringValues& supplied, ObjectKind object, std::int64_t at) const;

 private:
  double Margin(const ScorerSpec& scorer, const double* row) const;

  AssessorSpec spec_;
};

}  // namespace radarcore
