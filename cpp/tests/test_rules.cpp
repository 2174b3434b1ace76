#include <cmath>
#include <limits>
#include <string_view>
#include <vector>

#include "common/errors.hpp"
#include "rules/program.hpp"
#include "tests/check.hpp"

using namespace radarcore;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Block if num0 > 500 AND str0 != 'us'; Review if NOT (str0 = 'us'); Request 3DS if num1 (bool).
ProgramSpec SmallSpec() {
  ProgramSpec spec;
  spec.numeric_slots = 2;
  spec.string_slots = 1;
  spec.strings = {"us"};
  spec.leaves = {
      {LeafKind::kNumCmpConst, CmpOp::kGt, 0, 0, 500.0, 0},
      {LeafKind::kStrCmpConst, CmpOp::kNe, 0, 0, 0.0, 0},
      {LeafKind::kStrCmpConst, CmpOp::kEq, 0, 0, 0.0, 0},
      {LeafKind::kBool, CmpOp::kEq, 1, 0, 0.0, 0},
  };
  spec.rules = {
      {RuleAction::kBlock, false, {{OpCode::kLeaf, 0}, {OpCode::kLeaf, 1}, {OpCode::kAnd, 0}}},
      {RuleAction::kReview, false, {{OpCode::kLeaf, 2}, {OpCode::kNot, 0}}},
      {RuleAction::kRequestThreeDSecure, false, {{OpCode::kLeaf, 3}}},
  };
  return spec;
}

Decision One(const Program& program, double amount, double flag, const char* country) {
  const double numeric[2] = {amount, flag};
  const std::string_view strings[1] = {country == nullptr ? std::string_view() : country};
  const bool present[1] = {country != nullptr};
  return program.EvaluateOne({numeric, strings, present}, ObjectKind::kPaymentIntent, 0);
}

void TestLike() {
  RC_CHECK(LikeMatch("fraud123@stripe.com", "fraud%@stripe.com"));
  RC_CHECK(!LikeMatch("xfraud@stripe.com", "fraud%@stripe.com"));
  RC_CHECK(LikeMatch("abc", "%"));
  RC_CHECK(LikeMatch("", "%%"));
  RC_CHECK(LikeMatch("aXbXc", "a%b%c"));
  RC_CHECK(!LikeMatch("ab", "a%b%c"));
  RC_CHECK(!LikeMatch("aba", "ab%ba"));
  RC_CHECK(LikeMatch("a_c", "a_c"));
  RC_CHECK(!LikeMatch("abc", "a_c"));
}

void TestDecimal() {
  double v = 0;
  RC_CHECK(ParseDecimal("-12.5", &v) && v == -12.5);
  RC_CHECK(!ParseDecimal("1e3", &v));
  RC_CHECK(!ParseDecimal("1.", &v));
  RC_CHECK(!ParseDecimal("", &v));
  RC_CHECK(!ParseDecimal(" 1", &v));
}

void TestOne() {
  const Program program(SmallSpec());
  Decision d = One(program, 600, 0, "de");
  RC_CHECK(d.verdict == Verdict::kBlock && d.rule == 0 && !d.three_d_secure);
  d = One(program, 100, 1, "de");
  RC_CHECK(d.verdict == Verdict::kReview && d.rule == 1 && d.three_d_secure);
  RC_CHECK(d.three_d_secure_rule == 2);
  // Missing country: != and NOT (=) are both false.
  d = One(program, 600, 0, nullptr);
  RC_CHECK(d.verdict == Verdict::kNone && d.rule == -1);
  d = One(program, kNaN, 0, "us");
  RC_CHECK(d.verdict == Verdict::kNone);
}

void TestManyEqualsOne() {
  const Program program(SmallSpec());
  const std::vector<double> amount = {600, 100, 600, kNaN, 501};
  const std::vector<double> flag = {0, 1, 0, 0, 1};
  const std::vector<int32_t> codes = {1, 1, -1, 0, 0};
  BatchView batch;
  batch.rows = 5;
  batch.numeric = {amount.data(), flag.data()};
  batch.codes = {codes.data()};
  batch.dictionaries = {{"us", "de"}};
  std::vector<int8_t> verdict(5);
  std::vector<int32_t> rule(5), tds_rule(5);
  std::vector<uint8_t> tds(5), matches(15);
  program.EvaluateMany(batch, ObjectKind::kPaymentIntent, 0,
                       {verdict.data(), rule.data(), tds.data(), tds_rule.data(), matches.data()});
  const char* countries[] = {"de", "de", nullptr, "us", "us"};
  for (size_t i = 0; i < 5; ++i) {
    const Decision d = One(program, amount[i], flag[i], countries[i]);
    RC_CHECK(static_cast<int8_t>(d.verdict) == verdict[i]);
    RC_CHECK(d.rule == rule[i]);
    RC_CHECK(d.three_d_secure == (tds[i] != 0));
  }
  RC_CHECK(matches[0] == 1 && matches[5 + 1] == 1 && matches[10 + 1] == 1);
}

void TestRejectsBadSpec() {
  ProgramSpec spec = SmallSpec();
  spec.leaves[0].a = 7;
  bool threw = false;
  try {
    Program bad(spec);
  } catch (const SchemaError&) {
    threw = true;
  }
  RC_CHECK(threw);
  spec = SmallSpec();
  spec.rules[0].code.pop_back();
  threw = false;
  try {
    Program bad(spec);
  } catch (const SchemaError&) {
    threw = true;
  }
  RC_CHECK(threw);
}

}  // namespace

int main() {
  TestLike();
  TestDecimal();
  TestOne();
  TestManyEqualsOne();
  TestRejectsBadSpec();
  return radarcore::test::Finish("test_rules");
}
