// Single-payment latency of a compiled 50-rule set in C++ (no Python): median and p99 of
// Program::EvaluateOne over a pool of synthetic payments. Seeded; prints one table.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/cpu.hpp"
#include "rules/program.hpp"

using namespace radarcore;

namespace {

constexpr int kRules = 50;
constexpr int kNumeric = 5;
constexpr int kStrings = 4;  // country, ip country, email (folded), fingerprint
constexpr int kPayments = 1024;
constexpr int kBatch = 64;  // calls per timing sample, so the clock's cost stays negligible

// Thread CPU time in ns: unlike wall time it excludes the time this thread was descheduled,
// which dominates the tail on a shared machine.
double ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct Summary {
  double median, p90, p99;
};

Summary Summarise(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return {samples[samples.size() / 2], samples[samples.size() * 90 / 100],
          samples[samples.size() * 99 / 100]};
}

ProgramSpec MakeSpec(std::mt19937_64& rng) {
  ProgramSpec spec;
  spec.numeric_slots = kNumeric;
  spec.string_slots = kStrings;
  spec.strings = {"us", "%@fraud.net", "user1%", "fp42"};
  spec.number_sets = {{1.0, 5.0, 10.0}};
  std::vector<StringSetItem> countries = {{"ng", INT64_MAX}, {"br", INT64_MAX}, {"in", INT64_MAX}};
  std::vector<StringSetItem> cards;
  for (int i = 0; i < 500; ++i) cards.push_back({"fp" + std::to_string(i * 97), INT64_MAX});
  spec.string_sets = {countries, cards};
  // Thresholds near the top of the amounts make matches rare, so a typical payment runs
  // through most of the rules (the slow case: no early decision).
  std::uniform_real_distribution<double> threshold(1450.0, 1500.0);
  std::uniform_int_distribution<int> pick(0, 99);
  const auto leaf = [&](bool first) {
    const int kind = first ? 0 : pick(rng) % 10;
    Leaf l;
    if (kind < 4) {
      l = {LeafKind::kNumCmpConst, CmpOp::kGt, pick(rng) % kNumeric, 0, threshold(rng), 0};
    } else if (kind == 4) {
      l = {LeafKind::kStrCmpConst, CmpOp::kNe, 0, 0, 0.0, 0};
    } else if (kind == 5) {
      l = {LeafKind::kStrInSet, CmpOp::kEq, 1, 0, 0.0, 0};
    } else if (kind == 6) {
      l = {LeafKind::kStrInSet, CmpOp::kEq, 3, 0, 0.0, 1};
    } else if (kind == 7) {
      l = {LeafKind::kStrLike, CmpOp::kEq, 2, 0, 0.0, 1 + pick(rng) % 2};
    } else if (kind == 8) {
      l = {LeafKind::kStrCmpStr, CmpOp::kNe, 0, 1, 0.0, 0};
    } else {
      l = {LeafKind::kNumInSet, CmpOp::kEq, 2, 0, 0.0, 0};
    }
    spec.leaves.push_back(l);
    return Instruction{OpCode::kLeaf, static_cast<int32_t>(spec.leaves.size() - 1)};
  };
  for (int r = 0; r < kRules; ++r) {
    RuleCode rule;
    rule.action = r % 10 == 0 ? RuleAction::kReview : RuleAction::kBlock;
    const int leaves = 1 + pick(rng) % 3;
    // One rare numeric leaf at a random position among the rule's AND-ed leaves.
    const int rare = pick(rng) % leaves;
    rule.code.push_back(leaf(rare == 0));
    for (int i = 1; i < leaves; ++i) {
      rule.code.push_back(leaf(rare == i));
      rule.code.push_back({OpCode::kAnd, 0});
    }
    spec.rules.push_back(std::move(rule));
  }
  return spec;
}

struct Payment {
  std::vector<double> numeric;
  std::vector<std::string> text;
  std::vector<std::string_view> views;
  bool present[kStrings];
};

}  // namespace

int main() {
  std::mt19937_64 rng(7);
  const Program program(MakeSpec(rng));
  const char* countries[] = {"us", "gb", "fr", "ng", "br", "de"};
  std::uniform_real_distribution<double> amount(0.0, 1500.0);
  std::uniform_int_distribution<int> pick(0, 1 << 20);
  std::vector<Payment> pool(kPayments);
  for (Payment& p : pool) {
    for (int i = 0; i < kNumeric; ++i) p.numeric.push_back(pick(rng) % 30 == 0 ? NAN : amount(rng));
    p.text = {countries[pick(rng) % 6], countries[pick(rng) % 6],
              "user" + std::to_string(pick(rng) % 20000) + "@domain.com",
              "fp" + std::to_string(pick(rng) % 50000)};
    for (int i = 0; i < kStrings; ++i) {
      p.views.emplace_back(p.text[static_cast<size_t>(i)]);
      p.present[i] = pick(rng) % 20 != 0;
    }
  }
  int decided = 0;
  std::vector<double> wall;
  std::vector<double> cpu;
  for (int round = 0; round < 200; ++round) {
    for (int start = 0; start < kPayments; start += kBatch) {
      const auto begin = std::chrono::steady_clock::now();
      const double begin_cpu = ThreadCpuNs();
      for (int i = start; i < start + kBatch; ++i) {
        const Payment& p = pool[static_cast<size_t>(i)];
        const Decision d =
            program.EvaluateOne({p.numeric.data(), p.views.data(), p.present},
                                ObjectKind::kPaymentIntent, INT64_MIN);
        decided += d.verdict != Verdict::kNone;
      }
      cpu.push_back((ThreadCpuNs() - begin_cpu) / kBatch);
      const auto end = std::chrono::steady_clock::now();
      wall.push_back(std::chrono::duration<double, std::nano>(end - begin).count() / kBatch);
    }
  }
  std::printf("machine: %s\n", DescribeCpu().c_str());
  std::printf("one payment, %d rules, Program::EvaluateOne | median     | p90        | p99\n",
              kRules);
  for (const auto& [name, samples] : {std::pair{"wall time", &wall}, std::pair{"thread CPU", &cpu}}) {
    const Summary s = Summarise(*samples);
    std::printf("%-42s | %7.0f ns | %7.0f ns | %7.0f ns\n", name, s.median, s.p90, s.p99);
  }
  std::printf("(%d of %zu evaluations blocked or reviewed)\n", decided, wall.size() * kBatch);
  return 0;
}
