// A compiled Radar rule set: leaf predicates over attribute slots, each rule a short postfix
// program over those leaves, evaluated with Radar's missing-value logic for one payment or for a
// batch of columns.
//
// Logic: every leaf yields true, false or unknown (a comparison that reads a missing value, or a
// metadata value that is not a number where a number is needed). NOT keeps unknown unknown, AND and
// OR follow Kleene's three-valued logic, and a rule matches only when its condition is true.
//
// Strings arrive already normalised by the caller: slots that compare case-insensitively receive
// case-folded text, and the program's literals for those slots are folded the same way.
//
// A Program is immutable after construction; concurrent evaluation needs no locks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace radarcore {

enum class RuleAction : uint8_t { kRequestThreeDSecure = 0, kAllow = 1, kBlock = 2, kReview = 3 };

// The decision of the allow/block/review rules (3D Secure is reported separately).
enum class Verdict : int8_t { kNone = 0, kAllow = 1, kBlock = 2, kReview = 3 };

// Which Radar object is evaluated: Charges run no 3D Secure rules, SetupIntents no review rules.
enum class ObjectKind : uint8_t { kCharge = 0, kPaymentIntent = 1, kSetupIntent = 2 };

enum class CmpOp : uint8_t { kEq = 0, kNe = 1, kLt = 2, kGt = 3, kLe = 4, kGe = 5 };

// Leaf kinds. "num" slots hold doubles (NaN = missing; booleans are 0/1), "str" slots strings.
// "strnum" reads a string slot as a number (metadata): text that is not -?digits[.digits] is
// unknown.
enum class LeafKind : uint8_t {
  kNumCmpConst = 0,       // num[a] op number
  kNumCmpNum = 1,         // num[a] op num[b]
  kNumInSet = 2,          // num[a] in number_sets[ref]
  kBool = 3,              // num[a] is true (never unknown)
  kNumMissing = 4,        // num[a] is missing (never unknown)
  kStrMissing = 5,        // str[a] is missing (never unknown)
  kStrCmpConst = 6,       // str[a] op strings[ref], op in {=, !=}
  kStrInSet = 7,          // str[a] in string_sets[ref] (live items only)
  kStrIncludes = 8,       // strings[ref] is a substring of str[a]
  kStrLike = 9,           // str[a] matches the pattern strings[ref] ('%' = any run)
  kStrCmpStr = 10,        // str[a] op str[b], op in {=, !=}
  kStrNumCmpConst = 11,   // strnum[a] op number
  kStrNumCmpNum = 12,     // strnum[a] op num[b]
  kStrNumCmpStrNum = 13,  // strnum[a] op strnum[b]
  kStrNumInSet = 14,      // strnum[a] in number_sets[ref]
};

struct Leaf {
  LeafKind kind = LeafKind::kBool;
  CmpOp op = CmpOp::kEq;
  int32_t a = 0;
  int32_t b = 0;
  double number = 0.0;
  int32_t ref = 0;
};

enum class OpCode : uint8_t { kLeaf = 0, kNot = 1, kAnd = 2, kOr = 3 };

struct Instruction {
  OpCode op = OpCode::kLeaf;
  int32_t leaf = 0;  // for kLeaf
};

struct RuleCode {
  RuleAction action = RuleAction::kBlock;
  bool post_authorization = false;
  std::vector<Instruction> code;  // postfix; leaves one value on the stack
};

struct StringSetItem {
  std::string value;
  int64_t expires_at = INT64_MAX;  // live while at < expires_at
};

struct ProgramSpec {
  int32_t numeric_slots = 0;
  int32_t string_slots = 0;
  std::vector<Leaf> leaves;
  std::vector<RuleCode> rules;
  std::vector<std::string> strings;
  std::vector<std::vector<StringSetItem>> string_sets;
  std::vector<std::vector<double>> number_sets;
};

struct Decision {
  Verdict verdict = Verdict::kNone;
  int32_t rule = -1;  // index of the deciding rule, -1 when none matched
  bool three_d_secure = false;
  int32_t three_d_secure_rule = -1;  // first matching Request 3D Secure rule
};

// One payment: numeric_slots doubles and string_slots strings (present[i] false = missing).
struct PaymentView {
  const double* numeric = nullptr;
  const std::string_view* strings = nullptr;
  const bool* present = nullptr;
};

// A batch of `rows` payments. numeric[i] points at a column of `rows` doubles; codes[i] at a
// column of `rows` indices into dictionaries[i] (-1 = missing). Every slot must be provided.
struct BatchView {
  int64_t rows = 0;
  std::vector<const double*> numeric;
  std::vector<const int32_t*> codes;
  std::vector<std::vector<std::string_view>> dictionaries;
};

// Caller-owned outputs of `rows` entries each; `matches` is optional (nullptr) and otherwise
// rules x rows bytes, row-major by rule: 1 where the rule's condition is true, whatever decided.
struct BatchOutput {
  int8_t* verdict = nullptr;
  int32_t* rule = nullptr;
  uint8_t* three_d_secure = nullptr;
  int32_t* three_d_secure_rule = nullptr;
  uint8_t* matches = nullptr;
};

class Program {
 public:
  // Validates the spec (slots, references, operators, postfix shape); throws SchemaError.
  explicit Program(ProgramSpec spec);

  // `at` is the evaluation time in Unix seconds for list-item expiry (INT64_MIN: ignore expiry).
  Decision EvaluateOne(const PaymentView& payment, ObjectKind object, int64_t at) const;

  // Throws std::invalid_argument when a code is outside its dictionary.
  void EvaluateMany(const BatchView& batch, ObjectKind object, int64_t at,
                    const BatchOutput& out) const;

  int32_t numeric_slots() const { return spec_.numeric_slots; }
  int32_t string_slots() const { return spec_.string_slots; }
  int32_t rule_count() const { return static_cast<int32_t>(spec_.rules.size()); }

 private:
  struct Plan;

  ProgramSpec spec_;
  std::vector<std::vector<std::pair<std::string, int64_t>>> sets_;  // sorted by value
  std::vector<int32_t> three_d_secure_order_;  // 3DS rules, pre-authorisation ones first
  std::vector<int32_t> decision_order_;        // allow, block, review; pre-auth first in each
  // Per rule and instruction: where an AND/OR's right operand starts, the index of that AND/OR
  // (else -1), so single-payment evaluation can skip a right operand the left one decides.
  std::vector<std::vector<int32_t>> jumps_;
  // Per leaf: its slot in the batch path's per-block cache when several rules read it, else -1.
  std::vector<int32_t> cache_slot_;
  int32_t cache_slots_ = 0;
};

// SQL-style LIKE anchored at both ends where '%' matches any run of characters (also empty).
bool LikeMatch(std::string_view value, std::string_view pattern);

// Parses -?digits[.digits] into *out; false for anything else.
bool ParseDecimal(std::string_view text, double* out);

}  // namespace radarcore
