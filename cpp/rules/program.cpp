#include "rules/program.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_map>

#include "common/errors.hpp"

namespace radarcore {

namespace {

enum Tri : uint8_t { kFalse = 0, kTrue = 1, kUnknown = 2 };

constexpr int kMaxStack = 256;
constexpr int64_t kBlock = 1024;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Tri FromBool(bool b) { return b ? kTrue : kFalse; }

bool Compare(CmpOp op, double x, double y) {
  switch (op) {
    case CmpOp::kEq: return x == y;
    case CmpOp::kNe: return x != y;
    case CmpOp::kLt: return x < y;
    case CmpOp::kGt: return x > y;
    case CmpOp::kLe: return x <= y;
    case CmpOp::kGe: return x >= y;
  }
  return false;
}

Tri CompareTri(CmpOp op, double x, double y) {
  if (std::isnan(x) || std::isnan(y)) return kUnknown;
  return FromBool(Compare(op, x, y));
}

bool IsStringOp(CmpOp op) { return op == CmpOp::kEq || op == CmpOp::kNe; }

double ParseOrNaN(std::string_view text) {
  double v = kNaN;
  return ParseDecimal(text, &v) ? v : kNaN;
}

bool InNumberSet(const std::vector<double>& set, double x) {
  return std::binary_search(set.begin(), set.end(), x);
}

// A string value and whether it is present.
struct Str {
  std::string_view text;
  bool present = false;
};

}  // namespace

bool ParseDecimal(std::string_view text, double* out) {
  size_t i = 0;
  if (i < text.size() && text[i] == '-') ++i;
  const size_t int_start = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == int_start) return false;
  if (i < text.size() && text[i] == '.') {
    const size_t frac_start = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (i == frac_start) return false;
  }
  if (i != text.size()) return false;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), *out);
  return result.ec == std::errc() && std::isfinite(*out);
}

bool LikeMatch(std::string_view value, std::string_view pattern) {
  size_t cut = pattern.find('%');
  if (cut == std::string_view::npos) return value == pattern;
  const std::string_view head = pattern.substr(0, cut);
  if (value.substr(0, head.size()) != head) return false;
  const size_t last = pattern.rfind('%');
  const std::string_view tail = pattern.substr(last + 1);
  if (value.size() < head.size() + tail.size()) return false;
  if (value.substr(value.size() - tail.size()) != tail) return false;
  // Middle segments match greedily left to right inside the part between head and tail.
  std::string_view rest = value.substr(head.size(), value.size() - head.size() - tail.size());
  size_t pos = cut + 1;
  while (pos <= last) {
    const size_t next = pattern.find('%', pos);
    const std::string_view segment = pattern.substr(pos, next - pos);
    if (!segment.empty()) {
      const size_t found = rest.find(segment);
      if (found == std::string_view::npos) return false;
      rest = rest.substr(found + segment.size());
    }
    pos = next + 1;
  }
  return true;
}

// Per-call evaluation state: scalar leaf semantics shared by the single-payment path, the
// per-dictionary tables of the batch path and its per-row fallback for two-string leaves.
struct Program::Plan {
  const Program& program;
  int64_t at;

  bool InStringSet(int32_t ref, std::string_view value) const {
    const auto& set = program.sets_[static_cast<size_t>(ref)];
    const auto it = std::lower_bound(
        set.begin(), set.end(), value,
        [](const std::pair<std::string, int64_t>& item, std::string_view v) {
          return std::string_view(item.first) < v;
        });
    return it != set.end() && std::string_view(it->first) == value && at < it->second;
  }

  template <class NumFn, class StrFn>
  Tri Leaf(const radarcore::Leaf& leaf, const NumFn& num, const StrFn& str) const {
    const ProgramSpec& spec = program.spec_;
    switch (leaf.kind) {
      case LeafKind::kNumCmpConst: return CompareTri(leaf.op, num(leaf.a), leaf.number);
      case LeafKind::kNumCmpNum: return CompareTri(leaf.op, num(leaf.a), num(leaf.b));
      case LeafKind::kNumInSet: {
        const double x = num(leaf.a);
        if (std::isnan(x)) return kUnknown;
        return FromBool(InNumberSet(spec.number_sets[static_cast<size_t>(leaf.ref)], x));
      }
      case LeafKind::kBool: {
        const double x = num(leaf.a);
        return FromBool(!std::isnan(x) && x != 0.0);
      }
      case LeafKind::kNumMissing: return FromBool(std::isnan(num(leaf.a)));
      case LeafKind::kStrMissing: return FromBool(!str(leaf.a).present);
      case LeafKind::kStrCmpConst: {
        const Str s = str(leaf.a);
        if (!s.present) return kUnknown;
        const bool equal = s.text == spec.strings[static_cast<size_t>(leaf.ref)];
        return FromBool(leaf.op == CmpOp::kEq ? equal : !equal);
      }
      case LeafKind::kStrInSet: {
        const Str s = str(leaf.a);
        if (!s.present) return kUnknown;
        return FromBool(InStringSet(leaf.ref, s.text));
      }
      case LeafKind::kStrIncludes: {
        const Str s = str(leaf.a);
        if (!s.present) return kUnknown;
        return FromBool(s.text.find(spec.strings[static_cast<size_t>(leaf.ref)]) !=
                        std::string_view::npos);
      }
      case LeafKind::kStrLike: {
        const Str s = str(leaf.a);
        if (!s.present) return kUnknown;
        return FromBool(LikeMatch(s.text, spec.strings[static_cast<size_t>(leaf.ref)]));
      }
      case LeafKind::kStrCmpStr: {
        const Str x = str(leaf.a);
        const Str y = str(leaf.b);
        if (!x.present || !y.present) return kUnknown;
        return FromBool(leaf.op == CmpOp::kEq ? x.text == y.text : x.text != y.text);
      }
      case LeafKind::kStrNumCmpConst: {
        const Str s = str(leaf.a);
        return s.present ? CompareTri(leaf.op, ParseOrNaN(s.text), leaf.number) : kUnknown;
      }
      case LeafKind::kStrNumCmpNum: {
        const Str s = str(leaf.a);
        return s.present ? CompareTri(leaf.op, ParseOrNaN(s.text), num(leaf.b)) : kUnknown;
      }
      case LeafKind::kStrNumCmpStrNum: {
        const Str x = str(leaf.a);
        const Str y = str(leaf.b);
        if (!x.present || !y.present) return kUnknown;
        return CompareTri(leaf.op, ParseOrNaN(x.text), ParseOrNaN(y.text));
      }
      case LeafKind::kStrNumInSet: {
        const Str s = str(leaf.a);
        const double x = s.present ? ParseOrNaN(s.text) : kNaN;
        if (std::isnan(x)) return kUnknown;
        return FromBool(InNumberSet(spec.number_sets[static_cast<size_t>(leaf.ref)], x));
      }
    }
    return kUnknown;
  }
};

namespace {

bool NeedsSecond(LeafKind kind) {
  return kind == LeafKind::kNumCmpNum || kind == LeafKind::kStrCmpStr ||
         kind == LeafKind::kStrNumCmpNum || kind == LeafKind::kStrNumCmpStrNum;
}

bool FirstIsString(LeafKind kind) {
  return kind >= LeafKind::kStrMissing;
}

bool SecondIsString(LeafKind kind) {
  return kind == LeafKind::kStrCmpStr || kind == LeafKind::kStrNumCmpStrNum;
}

// Single-string leaves evaluate once per dictionary entry; the rest read the rows.
bool IsTableLeaf(LeafKind kind) {
  return FirstIsString(kind) && !NeedsSecond(kind);
}

Tri And(Tri x, Tri y) {
  if (x == kFalse || y == kFalse) return kFalse;
  return (x == kTrue && y == kTrue) ? kTrue : kUnknown;
}

Tri Or(Tri x, Tri y) {
  if (x == kTrue || y == kTrue) return kTrue;
  return (x == kFalse && y == kFalse) ? kFalse : kUnknown;
}

Tri Not(Tri x) { return x == kUnknown ? kUnknown : (x == kTrue ? kFalse : kTrue); }

bool ActionEnabled(RuleAction action, ObjectKind object) {
  if (action == RuleAction::kRequestThreeDSecure) return object != ObjectKind::kCharge;
  if (action == RuleAction::kReview) return object != ObjectKind::kSetupIntent;
  return true;
}

Verdict VerdictOf(RuleAction action) { return static_cast<Verdict>(action); }

void Fail(const std::string& what) { throw SchemaError("rule program: " + what); }

}  // namespace

Program::Program(ProgramSpec spec) : spec_(std::move(spec)) {
  if (spec_.numeric_slots < 0 || spec_.string_slots < 0) Fail("negative slot count");
  const auto check_slot = [&](int32_t slot, bool is_string) {
    const int32_t limit = is_string ? spec_.string_slots : spec_.numeric_slots;
    if (slot < 0 || slot >= limit) Fail("leaf slot out of range");
  };
  for (const radarcore::Leaf& leaf : spec_.leaves) {
    const auto kind = static_cast<uint8_t>(leaf.kind);
    if (kind > static_cast<uint8_t>(LeafKind::kStrNumInSet)) Fail("unknown leaf kind");
    if (static_cast<uint8_t>(leaf.op) > static_cast<uint8_t>(CmpOp::kGe)) Fail("unknown operator");
    check_slot(leaf.a, FirstIsString(leaf.kind));
    if (NeedsSecond(leaf.kind)) check_slot(leaf.b, SecondIsString(leaf.kind));
    if ((leaf.kind == LeafKind::kStrCmpConst || leaf.kind == LeafKind::kStrCmpStr) &&
        !IsStringOp(leaf.op)) {
      Fail("strings compare only with = and !=");
    }
    const bool string_ref = leaf.kind == LeafKind::kStrCmpConst ||
                            leaf.kind == LeafKind::kStrIncludes || leaf.kind == LeafKind::kStrLike;
    const bool number_set = leaf.kind == LeafKind::kNumInSet || leaf.kind == LeafKind::kStrNumInSet;
    const size_t limit = string_ref ? spec_.strings.size()
                         : number_set ? spec_.number_sets.size()
                         : leaf.kind == LeafKind::kStrInSet ? spec_.string_sets.size()
                                                             : 1;
    if (leaf.ref < 0 || static_cast<size_t>(leaf.ref) >= limit) Fail("leaf reference out of range");
  }
  for (auto& set : spec_.number_sets) std::sort(set.begin(), set.end());
  for (const auto& items : spec_.string_sets) {
    std::vector<std::pair<std::string, int64_t>> set;
    set.reserve(items.size());
    for (const StringSetItem& item : items) set.emplace_back(item.value, item.expires_at);
    std::sort(set.begin(), set.end());
    // Equal values keep the latest expiry (the last of each run after sorting).
    std::vector<std::pair<std::string, int64_t>> unique;
    for (auto& item : set) {
      if (!unique.empty() && unique.back().first == item.first) {
        unique.back().second = item.second;
      } else {
        unique.push_back(std::move(item));
      }
    }
    sets_.push_back(std::move(unique));
  }
  for (const RuleCode& rule : spec_.rules) {
    if (static_cast<uint8_t>(rule.action) > static_cast<uint8_t>(RuleAction::kReview)) {
      Fail("unknown rule action");
    }
    // starts[k]: index of the first instruction of the k-th subtree on the stack.
    std::vector<int32_t> starts;
    std::vector<int32_t> jumps(rule.code.size(), -1);
    for (size_t i = 0; i < rule.code.size(); ++i) {
      const Instruction& instr = rule.code[i];
      switch (instr.op) {
        case OpCode::kLeaf:
          if (instr.leaf < 0 || static_cast<size_t>(instr.leaf) >= spec_.leaves.size()) {
            Fail("instruction leaf out of range");
          }
          if (starts.size() >= static_cast<size_t>(kMaxStack)) Fail("condition too deep");
          starts.push_back(static_cast<int32_t>(i));
          break;
        case OpCode::kNot:
          if (starts.empty()) Fail("NOT on an empty stack");
          break;
        case OpCode::kAnd:
        case OpCode::kOr:
          if (starts.size() < 2) Fail("AND/OR needs two operands");
          jumps[static_cast<size_t>(starts.back())] = static_cast<int32_t>(i);
          starts.pop_back();
          break;
        default: Fail("unknown opcode");
      }
    }
    if (starts.size() != 1) Fail("a rule's code must leave exactly one value");
    jumps_.push_back(std::move(jumps));
  }
  std::vector<int32_t> uses(spec_.leaves.size());
  for (const RuleCode& rule : spec_.rules) {
    for (const Instruction& instr : rule.code) {
      if (instr.op == OpCode::kLeaf) ++uses[static_cast<size_t>(instr.leaf)];
    }
  }
  cache_slot_.assign(spec_.leaves.size(), -1);
  for (size_t l = 0; l < uses.size(); ++l) {
    if (uses[l] > 1) cache_slot_[l] = cache_slots_++;
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < spec_.rules.size(); ++i) {
      const RuleCode& rule = spec_.rules[i];
      if (rule.action == RuleAction::kRequestThreeDSecure && rule.post_authorization == (pass == 1)) {
        three_d_secure_order_.push_back(static_cast<int32_t>(i));
      }
    }
  }
  for (RuleAction action : {RuleAction::kAllow, RuleAction::kBlock, RuleAction::kReview}) {
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t i = 0; i < spec_.rules.size(); ++i) {
        const RuleCode& rule = spec_.rules[i];
        if (rule.action == action && rule.post_authorization == (pass == 1)) {
          decision_order_.push_back(static_cast<int32_t>(i));
        }
      }
    }
  }
}

Decision Program::EvaluateOne(const PaymentView& payment, ObjectKind object, int64_t at) const {
  const Plan plan{*this, at};
  const auto num = [&](int32_t slot) { return payment.numeric[slot]; };
  const auto str = [&](int32_t slot) { return Str{payment.strings[slot], payment.present[slot]}; };
  const auto matches = [&](int32_t rule_index) {
    std::array<Tri, kMaxStack> stack;
    int sp = 0;
    const std::vector<Instruction>& code = spec_.rules[static_cast<size_t>(rule_index)].code;
    const std::vector<int32_t>& jumps = jumps_[static_cast<size_t>(rule_index)];
    for (size_t i = 0; i < code.size(); ++i) {
      const int32_t jump = jumps[i];
      if (jump >= 0) {
        // The left operand of code[jump] is on top: false AND x and true OR x need no x.
        const Tri left = stack[static_cast<size_t>(sp - 1)];
        const OpCode op = code[static_cast<size_t>(jump)].op;
        if ((op == OpCode::kAnd && left == kFalse) || (op == OpCode::kOr && left == kTrue)) {
          i = static_cast<size_t>(jump);
          continue;
        }
      }
      const Instruction& instr = code[i];
      switch (instr.op) {
        case OpCode::kLeaf:
          stack[static_cast<size_t>(sp++)] =
              plan.Leaf(spec_.leaves[static_cast<size_t>(instr.leaf)], num, str);
          break;
        case OpCode::kNot: stack[static_cast<size_t>(sp - 1)] = Not(stack[static_cast<size_t>(sp - 1)]); break;
        case OpCode::kAnd:
          --sp;
          stack[static_cast<size_t>(sp - 1)] =
              And(stack[static_cast<size_t>(sp - 1)], stack[static_cast<size_t>(sp)]);
          break;
        case OpCode::kOr:
          --sp;
          stack[static_cast<size_t>(sp - 1)] =
              Or(stack[static_cast<size_t>(sp - 1)], stack[static_cast<size_t>(sp)]);
          break;
      }
    }
    return stack[0] == kTrue;
  };
  Decision decision;
  if (ActionEnabled(RuleAction::kRequestThreeDSecure, object)) {
    for (int32_t r : three_d_secure_order_) {
      if (matches(r)) {
        decision.three_d_secure = true;
        decision.three_d_secure_rule = r;
        break;
      }
    }
  }
  for (int32_t r : decision_order_) {
    const RuleAction action = spec_.rules[static_cast<size_t>(r)].action;
    if (ActionEnabled(action, object) && matches(r)) {
      decision.verdict = VerdictOf(action);
      decision.rule = r;
      break;
    }
  }
  return decision;
}

namespace {

// Per-call precomputation for one leaf of a batch.
struct BatchLeaf {
  // Indexed by code + 1 (entry 0 = missing): bit 0 set = true, bit 1 set = false, neither =
  // unknown. One byte per distinct value keeps the per-row gather to a single load.
  std::vector<uint8_t> table;
  std::vector<double> numbers_a;     // strnum: parsed dictionary values of slot a
  std::vector<double> numbers_b;     // strnum: parsed dictionary values of slot b
  std::vector<int32_t> canon_a;      // kStrCmpStr: code of a -> first code of an equal string
  std::vector<int32_t> remap_b;      // kStrCmpStr: code of b -> equal code of a, or -2
};

template <class Cmp>
void NumConst(const double* x, int64_t n, double c, uint8_t* t, uint8_t* f) {
  const Cmp cmp;
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    const bool known = v == v;
    const bool r = cmp(v, c);
    t[i] = static_cast<uint8_t>(known & r);
    f[i] = static_cast<uint8_t>(known & !r);
  }
}

template <class Cmp>
void NumNum(const double* x, const double* y, int64_t n, uint8_t* t, uint8_t* f) {
  const Cmp cmp;
  for (int64_t i = 0; i < n; ++i) {
    const bool known = (x[i] == x[i]) & (y[i] == y[i]);
    const bool r = cmp(x[i], y[i]);
    t[i] = static_cast<uint8_t>(known & r);
    f[i] = static_cast<uint8_t>(known & !r);
  }
}

template <template <class> class Kernel, class... Args>
void DispatchOp(CmpOp op, Args... args) {
  switch (op) {
    case CmpOp::kEq: Kernel<std::equal_to<double>>::Run(args...); break;
    case CmpOp::kNe: Kernel<std::not_equal_to<double>>::Run(args...); break;
    case CmpOp::kLt: Kernel<std::less<double>>::Run(args...); break;
    case CmpOp::kGt: Kernel<std::greater<double>>::Run(args...); break;
    case CmpOp::kLe: Kernel<std::less_equal<double>>::Run(args...); break;
    case CmpOp::kGe: Kernel<std::greater_equal<double>>::Run(args...); break;
  }
}

template <class Cmp>
struct NumConstKernel {
  static void Run(const double* x, int64_t n, double c, uint8_t* t, uint8_t* f) {
    NumConst<Cmp>(x, n, c, t, f);
  }
};

template <class Cmp>
struct NumNumKernel {
  static void Run(const double* x, const double* y, int64_t n, uint8_t* t, uint8_t* f) {
    NumNum<Cmp>(x, y, n, t, f);
  }
};

uint8_t TableEntry(Tri v) { return v == kTrue ? 1 : (v == kFalse ? 2 : 0); }

void SetTri(Tri v, uint8_t* t, uint8_t* f) {
  *t = static_cast<uint8_t>(v == kTrue);
  *f = static_cast<uint8_t>(v == kFalse);
}

}  // namespace

void Program::EvaluateMany(const BatchView& batch, ObjectKind object, int64_t at,
                           const BatchOutput& out) const {
  if (batch.numeric.size() != static_cast<size_t>(spec_.numeric_slots) ||
      batch.codes.size() != static_cast<size_t>(spec_.string_slots) ||
      batch.dictionaries.size() != static_cast<size_t>(spec_.string_slots)) {
    throw std::invalid_argument("batch does not provide every slot of the rule program");
  }
  const int64_t rows = batch.rows;
  for (size_t s = 0; s < batch.codes.size(); ++s) {
    const auto size = static_cast<int64_t>(batch.dictionaries[s].size());
    const int32_t* codes = batch.codes[s];
    for (int64_t i = 0; i < rows; ++i) {
      if (codes[i] < -1 || codes[i] >= size) {
        throw std::invalid_argument("string code " + std::to_string(codes[i]) +
                                    " is outside its dictionary of " + std::to_string(size));
      }
    }
  }
  const Plan plan{*this, at};
  std::vector<BatchLeaf> prepared(spec_.leaves.size());
  const auto no_num = [](int32_t) { return kNaN; };
  for (size_t l = 0; l < spec_.leaves.size(); ++l) {
    const radarcore::Leaf& leaf = spec_.leaves[l];
    BatchLeaf& p = prepared[l];
    if (!FirstIsString(leaf.kind)) continue;
    const auto& dict_a = batch.dictionaries[static_cast<size_t>(leaf.a)];
    if (IsTableLeaf(leaf.kind)) {
      p.table.resize(dict_a.size() + 1);
      p.table[0] = TableEntry(plan.Leaf(leaf, no_num, [](int32_t) { return Str{}; }));
      for (size_t d = 0; d < dict_a.size(); ++d) {
        const Str value{dict_a[d], true};
        p.table[d + 1] = TableEntry(plan.Leaf(leaf, no_num, [&](int32_t) { return value; }));
      }
    } else if (leaf.kind == LeafKind::kStrNumCmpNum || leaf.kind == LeafKind::kStrNumCmpStrNum) {
      p.numbers_a.reserve(dict_a.size() + 1);
      p.numbers_a.push_back(kNaN);
      for (std::string_view s : dict_a) p.numbers_a.push_back(ParseOrNaN(s));
      if (leaf.kind == LeafKind::kStrNumCmpStrNum) {
        const auto& dict_b = batch.dictionaries[static_cast<size_t>(leaf.b)];
        p.numbers_b.push_back(kNaN);
        for (std::string_view s : dict_b) p.numbers_b.push_back(ParseOrNaN(s));
      }
    } else if (leaf.kind == LeafKind::kStrCmpStr) {
      const auto& dict_b = batch.dictionaries[static_cast<size_t>(leaf.b)];
      std::unordered_map<std::string_view, int32_t> first;
      first.reserve(dict_a.size());
      for (size_t d = 0; d < dict_a.size(); ++d) {
        const auto inserted = first.emplace(dict_a[d], static_cast<int32_t>(d)).first;
        p.canon_a.push_back(inserted->second);
      }
      for (std::string_view s : dict_b) {
        const auto it = first.find(s);
        p.remap_b.push_back(it == first.end() ? -2 : it->second);
      }
    }
  }

  // Stack of (true, false) byte columns for one block of rows.
  std::vector<uint8_t> pool(static_cast<size_t>(2 * kMaxStack * kBlock));
  std::vector<uint8_t> decided(static_cast<size_t>(kBlock));
  std::array<uint8_t*, kMaxStack> t_stack;
  std::array<uint8_t*, kMaxStack> f_stack;
  // Leaves that several rules read are evaluated once per block and copied from here.
  std::vector<uint8_t> cache(static_cast<size_t>(2 * cache_slots_ * kBlock));
  std::vector<int64_t> cached_block(static_cast<size_t>(cache_slots_), -1);

  const auto eval_leaf = [&](const radarcore::Leaf& leaf, const BatchLeaf& p, int64_t begin,
                             int64_t n, uint8_t* t, uint8_t* f) {
    switch (leaf.kind) {
      case LeafKind::kNumCmpConst:
        DispatchOp<NumConstKernel>(leaf.op, batch.numeric[static_cast<size_t>(leaf.a)] + begin,
                                   n, leaf.number, t, f);
        return;
      case LeafKind::kNumCmpNum:
        DispatchOp<NumNumKernel>(leaf.op, batch.numeric[static_cast<size_t>(leaf.a)] + begin,
                                 batch.numeric[static_cast<size_t>(leaf.b)] + begin, n, t, f);
        return;
      case LeafKind::kNumInSet: {
        const double* x = batch.numeric[static_cast<size_t>(leaf.a)] + begin;
        const std::vector<double>& set = spec_.number_sets[static_cast<size_t>(leaf.ref)];
        for (int64_t i = 0; i < n; ++i) {
          const bool known = x[i] == x[i];
          const bool r = known && InNumberSet(set, x[i]);
          t[i] = static_cast<uint8_t>(r);
          f[i] = static_cast<uint8_t>(known & !r);
        }
        return;
      }
      case LeafKind::kBool: {
        const double* x = batch.numeric[static_cast<size_t>(leaf.a)] + begin;
        for (int64_t i = 0; i < n; ++i) {
          const bool r = (x[i] == x[i]) & (x[i] != 0.0);
          t[i] = static_cast<uint8_t>(r);
          f[i] = static_cast<uint8_t>(!r);
        }
        return;
      }
      case LeafKind::kNumMissing: {
        const double* x = batch.numeric[static_cast<size_t>(leaf.a)] + begin;
        for (int64_t i = 0; i < n; ++i) {
          const bool r = x[i] != x[i];
          t[i] = static_cast<uint8_t>(r);
          f[i] = static_cast<uint8_t>(!r);
        }
        return;
      }
      case LeafKind::kStrNumCmpNum: {
        const int32_t* codes = batch.codes[static_cast<size_t>(leaf.a)] + begin;
        const double* y = batch.numeric[static_cast<size_t>(leaf.b)] + begin;
        for (int64_t i = 0; i < n; ++i) {
          SetTri(CompareTri(leaf.op, p.numbers_a[static_cast<size_t>(codes[i] + 1)], y[i]), t + i,
                 f + i);
        }
        return;
      }
      case LeafKind::kStrNumCmpStrNum: {
        const int32_t* ca = batch.codes[static_cast<size_t>(leaf.a)] + begin;
        const int32_t* cb = batch.codes[static_cast<size_t>(leaf.b)] + begin;
        for (int64_t i = 0; i < n; ++i) {
          SetTri(CompareTri(leaf.op, p.numbers_a[static_cast<size_t>(ca[i] + 1)],
                            p.numbers_b[static_cast<size_t>(cb[i] + 1)]),
                 t + i, f + i);
        }
        return;
      }
      case LeafKind::kStrCmpStr: {
        const int32_t* ca = batch.codes[static_cast<size_t>(leaf.a)] + begin;
        const int32_t* cb = batch.codes[static_cast<size_t>(leaf.b)] + begin;
        for (int64_t i = 0; i < n; ++i) {
          if (ca[i] < 0 || cb[i] < 0) {
            SetTri(kUnknown, t + i, f + i);
            continue;
          }
          const bool equal =
              p.canon_a[static_cast<size_t>(ca[i])] == p.remap_b[static_cast<size_t>(cb[i])];
          SetTri(FromBool(leaf.op == CmpOp::kEq ? equal : !equal), t + i, f + i);
        }
        return;
      }
      default: {
        const int32_t* codes = batch.codes[static_cast<size_t>(leaf.a)] + begin;
        const uint8_t* table = p.table.data() + 1;
        for (int64_t i = 0; i < n; ++i) {
          const uint8_t entry = table[codes[i]];
          t[i] = entry & 1U;
          f[i] = static_cast<uint8_t>(entry >> 1);
        }
        return;
      }
    }
  };

  // Evaluates rule r over the block; returns the column of "condition is true".
  const auto eval_rule = [&](int32_t r, int64_t begin, int64_t n) -> const uint8_t* {
    int sp = 0;
    for (const Instruction& instr : spec_.rules[static_cast<size_t>(r)].code) {
      switch (instr.op) {
        case OpCode::kLeaf: {
          uint8_t* t = pool.data() + static_cast<size_t>(2 * sp) * kBlock;
          uint8_t* f = t + kBlock;
          const auto leaf_index = static_cast<size_t>(instr.leaf);
          const int32_t slot = cache_slot_[leaf_index];
          if (slot < 0) {
            eval_leaf(spec_.leaves[leaf_index], prepared[leaf_index], begin, n, t, f);
          } else {
            uint8_t* ct = cache.data() + static_cast<size_t>(2 * slot) * kBlock;
            uint8_t* cf = ct + kBlock;
            if (cached_block[static_cast<size_t>(slot)] != begin) {
              eval_leaf(spec_.leaves[leaf_index], prepared[leaf_index], begin, n, ct, cf);
              cached_block[static_cast<size_t>(slot)] = begin;
            }
            std::copy(ct, ct + n, t);
            std::copy(cf, cf + n, f);
          }
          t_stack[static_cast<size_t>(sp)] = t;
          f_stack[static_cast<size_t>(sp)] = f;
          ++sp;
          break;
        }
        case OpCode::kNot:
          std::swap(t_stack[static_cast<size_t>(sp - 1)], f_stack[static_cast<size_t>(sp - 1)]);
          break;
        case OpCode::kAnd:
        case OpCode::kOr: {
          --sp;
          uint8_t* t0 = t_stack[static_cast<size_t>(sp - 1)];
          uint8_t* f0 = f_stack[static_cast<size_t>(sp - 1)];
          const uint8_t* t1 = t_stack[static_cast<size_t>(sp)];
          const uint8_t* f1 = f_stack[static_cast<size_t>(sp)];
          if (instr.op == OpCode::kAnd) {
            for (int64_t i = 0; i < n; ++i) {
              t0[i] &= t1[i];
              f0[i] |= f1[i];
            }
          } else {
            for (int64_t i = 0; i < n; ++i) {
              t0[i] |= t1[i];
              f0[i] &= f1[i];
            }
          }
          // Both operand columns stay in place: the pool slot of sp keeps the right operand
          // and may be reused by the next leaf pushed at sp.
          t_stack[static_cast<size_t>(sp)] = nullptr;
          f_stack[static_cast<size_t>(sp)] = nullptr;
          break;
        }
      }
    }
    return t_stack[0];
  };

  const bool three_d_secure_enabled = ActionEnabled(RuleAction::kRequestThreeDSecure, object);
  const auto rule_count = static_cast<int64_t>(spec_.rules.size());
  std::vector<uint8_t> evaluated(spec_.rules.size());
  for (int64_t begin = 0; begin < rows; begin += kBlock) {
    const int64_t n = std::min(kBlock, rows - begin);
    std::fill(out.verdict + begin, out.verdict + begin + n, static_cast<int8_t>(Verdict::kNone));
    std::fill(out.rule + begin, out.rule + begin + n, -1);
    std::fill(out.three_d_secure + begin, out.three_d_secure + begin + n, uint8_t{0});
    std::fill(out.three_d_secure_rule + begin, out.three_d_secure_rule + begin + n, -1);
    std::fill(evaluated.begin(), evaluated.end(), uint8_t{0});
    const auto record = [&](int32_t r, const uint8_t* match) {
      if (out.matches != nullptr) {
        std::copy(match, match + n, out.matches + r * rows + begin);
        evaluated[static_cast<size_t>(r)] = 1;
      }
    };
    for (int32_t r : three_d_secure_order_) {
      if (!three_d_secure_enabled && out.matches == nullptr) break;
      const uint8_t* match = eval_rule(r, begin, n);
      record(r, match);
      if (!three_d_secure_enabled) continue;
      for (int64_t i = 0; i < n; ++i) {
        if (match[i] && out.three_d_secure_rule[begin + i] < 0) {
          out.three_d_secure[begin + i] = 1;
          out.three_d_secure_rule[begin + i] = r;
        }
      }
    }
    std::fill(decided.begin(), decided.begin() + n, uint8_t{0});
    int64_t undecided = n;
    for (int32_t r : decision_order_) {
      const RuleAction action = spec_.rules[static_cast<size_t>(r)].action;
      const bool enabled = ActionEnabled(action, object);
      if ((undecided == 0 || !enabled) && out.matches == nullptr) continue;
      const uint8_t* match = eval_rule(r, begin, n);
      record(r, match);
      if (!enabled) continue;
      const auto verdict = static_cast<int8_t>(VerdictOf(action));
      for (int64_t i = 0; i < n; ++i) {
        if (match[i] && !decided[static_cast<size_t>(i)]) {
          decided[static_cast<size_t>(i)] = 1;
          out.verdict[begin + i] = verdict;
          out.rule[begin + i] = r;
          --undecided;
        }
      }
    }
    if (out.matches != nullptr) {
      for (int64_t r = 0; r < rule_count; ++r) {
        if (!evaluated[static_cast<size_t>(r)]) record(static_cast<int32_t>(r), eval_rule(static_cast<int32_t>(r), begin, n));
      }
    }
  }
}

}  // namespace radarcore
