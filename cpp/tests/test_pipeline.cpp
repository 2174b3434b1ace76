// The online pipeline's Assessor: margins of forests reading their own columns of the row, rule
// slots read from the row, the caller's string inputs and its supplied values, and the errors
// for inconsistent layouts.
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "common/errors.hpp"
#include "forest/forest.hpp"
#include "pipeline/assessor.hpp"
#include "rules/program.hpp"
#include "tests/check.hpp"

using namespace radarcore;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A stump on feature 0 at `threshold`: left -1, right +2.
Forest Stump(std::int32_t n_features, double threshold) {
  ForestSpec s;
  s.n_features = n_features;
  s.tree_offsets = {0, 3};
  s.tree_group = {0};
  s.left_child = {1, -1, -1};
  s.right_child = {2, -1, -1};
  s.split_feature = {0, 0, 0};
  s.threshold = {threshold, 0.0, 0.0};
  s.default_left = {1, 0, 0};
  s.missing_type = {2, 2, 2};
  s.is_categorical = {0, 0, 0};
  s.leaf_value = {0.0, -1.0, 2.0};
  s.cover = {2.0, 1.0, 1.0};
  s.leaf_id = {0, 1, 2};
  s.cat_offsets = {0, 0, 0, 0};
  return Forest(std::move(s));
}

// Block if num0 > 10 AND str0 = 'us'; Review if str1 = 'elevated'; Allow if num1 (bool).
Program Rules() {
  ProgramSpec spec;
  spec.numeric_slots = 2;
  spec.string_slots = 2;
  spec.strings = {"us", "elevated"};
  spec.leaves = {
      {LeafKind::kNumCmpConst, CmpOp::kGt, 0, 0, 10.0, 0},
      {LeafKind::kStrCmpConst, CmpOp::kEq, 0, 0, 0.0, 0},
      {LeafKind::kStrCmpConst, CmpOp::kEq, 1, 0, 0.0, 1},
      {LeafKind::kBool, CmpOp::kEq, 1, 0, 0.0, 0},
  };
  spec.rules = {
      {RuleAction::kBlock, false, {{OpCode::kLeaf, 0}, {OpCode::kLeaf, 1}, {OpCode::kAnd, 0}}},
      {RuleAction::kReview, false, {{OpCode::kLeaf, 2}}},
      {RuleAction::kAllow, false, {{OpCode::kLeaf, 3}}},
  };
  return Program(std::move(spec));
}

AssessorSpec Spec(const Program& program, const Forest* live, const Forest* shadow) {
  AssessorSpec spec;
  spec.row_width = 4;
  spec.program = &program;
  spec.live = {live, {2}};   // the live stump reads row[2]
  spec.shadow = {shadow, {}};  // the shadow stump reads the row in order
  // num0 = row[1]; num1 = row[3] read as a boolean; str0 = input 0; str1 = supplied 0
  spec.numeric = {{SlotSourceKind::kRow, 1}, {SlotSourceKind::kRowBoolean, 3}};
  spec.strings = {{SlotSourceKind::kInput, 0}, {SlotSourceKind::kSupplied, 0}};
  spec.string_inputs = 1;
  spec.supplied_strings = 1;
  return spec;
}

Decision Decide(const Assessor& assessor, const double* row, const char* country,
                const char* level) {
  const std::string_view inputs[1] = {country == nullptr ? std::string_view() : country};
  const bool inputs_present[1] = {country != nullptr};
  const std::string_view supplied[1] = {level == nullptr ? std::string_view() : level};
  const bool supplied_present[1] = {level != nullptr};
  return assessor.Decide(row, {inputs, inputs_present}, nullptr, {supplied, supplied_present},
                         ObjectKind::kPaymentIntent, 0);
}

void TestScoreAndDecide() {
  const Program program = Rules();
  const Forest live = Stump(1, 0.5);
  const Forest shadow = Stump(4, 100.0);
  const Assessor assessor(Spec(program, &live, &shadow));
  RC_CHECK(assessor.has_live() && assessor.has_shadow());
  const double row[4] = {50.0, 20.0, 0.7, 0.0};
  double live_margin = 0;
  double shadow_margin = 0;
  assessor.Score(row, &live_margin, &shadow_margin);
  RC_CHECK(live_margin == 2.0);     // row[2] = 0.7 > 0.5
  RC_CHECK(shadow_margin == -1.0);  // row[0] = 50 <= 100
  RC_CHECK(Decide(assessor, row, "us", nullptr).verdict == Verdict::kBlock);
  RC_CHECK(Decide(assessor, row, "fr", "elevated").verdict == Verdict::kReview);
  RC_CHECK(Decide(assessor, row, nullptr, nullptr).verdict == Verdict::kNone);
  const double allowed[4] = {50.0, kNaN, 0.7, 1.0};
  const Decision d = Decide(assessor, allowed, "us", "elevated");
  RC_CHECK(d.verdict == Verdict::kAllow && d.rule == 2);
  const Assessor none(Spec(program, nullptr, nullptr));
  none.Score(row, &live_margin, &shadow_margin);
  RC_CHECK(std::isnan(live_margin) && std::isnan(shadow_margin));
}

template <class Error>
bool Throws(const AssessorSpec& spec, const std::string& message) {
  try {
    const Assessor assessor(spec);
  } catch (const Error& e) {
    if (std::string(e.what()).find(message) != std::string::npos) return true;
    std::fprintf(stderr, "unexpected message: %s\n", e.what());
    return false;
  }
  return false;
}

void TestInconsistentSpecs() {
  const Program program = Rules();
  const Forest live = Stump(1, 0.5);
  const Forest wide = Stump(5, 0.5);
  AssessorSpec spec = Spec(program, &wide, nullptr);
  spec.live.columns.clear();
  RC_CHECK(Throws<ModelError>(spec, "live model: reads 5 features in row order"));
  spec = Spec(program, &live, nullptr);
  spec.live.columns = {9};
  RC_CHECK(Throws<ModelError>(spec, "live model: column 9 is outside the feature row"));
  spec = Spec(program, nullptr, &live);
  RC_CHECK(Throws<ModelError>(spec, "shadow model: reads 1 features in row order"));
  spec = Spec(program, nullptr, nullptr);
  spec.numeric.pop_back();
  RC_CHECK(Throws<SchemaError>(spec, "the rule program has 2 numeric slots, 1 sources given"));
  spec = Spec(program, nullptr, nullptr);
  spec.strings[1] = {SlotSourceKind::kSupplied, 1};
  RC_CHECK(Throws<SchemaError>(spec, "a string rule slot's source (kind 3, index 1)"));
  spec = Spec(program, nullptr, nullptr);
  spec.numeric[0] = {SlotSourceKind::kInput, 0};
  RC_CHECK(Throws<SchemaError>(spec, "a numeric rule slot's source (kind 2, index 0)"));
  spec = Spec(program, nullptr, nullptr);
  spec.program = nullptr;
  RC_CHECK(Throws<SchemaError>(spec, "an assessor needs a rule program"));
}

}  // namespace

int main() {
  TestScoreAndDecide();
  TestInconsistentSpecs();
  return radarcore::test::Finish("test_pipeline");
}
