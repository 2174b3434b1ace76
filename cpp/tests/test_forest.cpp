#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "forest/forest.hpp"
#include "forest/model_format.hpp"
#include "tests/check.hpp"

namespace {

using radarcore::Forest;
using radarcore::ForestSpec;
using radarcore::MatrixView;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// Adds one node to the last tree of spec; children are local indices (-1 for a leaf).
void AddNode(ForestSpec& s, std::int32_t left, std::int32_t right, std::int32_t feature,
             double threshold, double value, std::uint8_t missing = 2, bool default_left = false,
             double cover = 1.0) {
  s.left_child.push_back(left);
  s.right_child.push_back(right);
  s.split_feature.push_back(feature);
  s.threshold.push_back(threshold);
  s.default_left.push_back(default_left ? 1 : 0);
  s.missing_type.push_back(missing);
  s.is_categorical.push_back(0);
  s.leaf_value.push_back(value);
  s.cover.push_back(cover);
  s.leaf_id.push_back(static_cast<std::int32_t>(s.leaf_id.size()));
  s.cat_offsets.push_back(s.cat_offsets.back());
}

// One tree, a stump on feature 0 at 0.5 (left -1, right +2); a second stump on feature 1 at 3.
ForestSpec TwoStumps(radarcore::SplitRule rule) {
  ForestSpec s;
  s.n_features = 2;
  s.feature_names = {"a", "b"};
  s.split_rule = rule;
  s.cat_offsets = {0};
  s.tree_offsets = {0};
  AddNode(s, 1, 2, 0, 0.5, 0.0, 2, true, 10.0);
  AddNode(s, -1, -1, 0, 0.0, -1.0, 2, false, 4.0);
  AddNode(s, -1, -1, 0, 0.0, 2.0, 2, false, 6.0);
  s.tree_offsets.push_back(3);
  s.tree_group.push_back(0);
  AddNode(s, 1, 2, 1, 3.0, 0.0, 0, false, 10.0);
  AddNode(s, -1, -1, 0, 0.0, 0.25, 2, false, 5.0);
  AddNode(s, -1, -1, 0, 0.0, -0.5, 2, false, 5.0);
  s.tree_offsets.push_back(6);
  s.tree_group.push_back(0);
  return s;
}

double Raw(const Forest& f, double a, double b) {
  const double row[2] = {a, b};
  double out = 0;
  f.PredictOne(row, true, &out);
  return out;
}

void TestLightGbmSemantics() {
  const Forest f(TwoStumps(radarcore::SplitRule::kLightGbm));
  RC_CHECK_NEAR(Raw(f, 0.5, 3.0), -1.0 + 0.25, 0);   // <= goes left
  RC_CHECK_NEAR(Raw(f, 0.6, 3.5), 2.0 - 0.5, 0);
  RC_CHECK_NEAR(Raw(f, kNan, 4.0), -1.0 - 0.5, 0);   // NaN type, default left
  RC_CHECK_NEAR(Raw(f, 1.0, kNan), 2.0 + 0.25, 0);   // None type: NaN is 0 <= 3
  double prob = 0;
  const double row[2] = {1.0, 4.0};
  f.PredictOne(row, false, &prob);
  RC_CHECK_NEAR(prob, 1.0 / (1.0 + std::exp(-1.5)), 1e-15);
}

void TestXgboostSemantics() {
  const Forest f(TwoStumps(radarcore::SplitRule::kXgboost));
  RC_CHECK_NEAR(Raw(f, 0.5, 2.0), 2.0 + 0.25, 0);  // < : equal goes right
  RC_CHECK_NEAR(Raw(f, 0.49, 3.0), -1.0 - 0.5, 0);
  RC_CHECK_NEAR(Raw(f, kNan, kNan), -1.0 - 0.5, 0);  // default directions
  // 0.5 - 1e-12 rounds to 0.5f, so XGBoost sends it right.
  RC_CHECK_NEAR(Raw(f, 0.5 - 1e-12, 0.0), 2.0 + 0.25, 0);
}

void TestBatchEqualsOne() {
  const Forest f(TwoStumps(radarcore::SplitRule::kLightGbm));
  std::vector<double> x;
  const std::int64_t rows = 150;
  for (std::int64_t r = 0; r < rows; ++r) {
    x.push_back(r % 7 == 0 ? kNan : static_cast<double>(r % 5) * 0.3);
    x.push_back(static_cast<double>(r % 9) * 0.5);
  }
  std::vector<double> many(rows);
  const MatrixView<double> view{x.data(), rows, 2, 2, 1};
  f.PredictMany(view, false, 3, many.data());
  std::vector<std::int32_t> leaves(rows * 2);
  f.LeavesMany(view, 2, leaves.data());
  for (std::int64_t r = 0; r < rows; ++r) {
    double one = 0;
    f.PredictOne(x.data() + r * 2, false, &one);
    RC_CHECK(one == many[static_cast<std::size_t>(r)]);
    RC_CHECK(leaves[static_cast<std::size_t>(r * 2)] == (Raw(f, x[r * 2], 0) < 0 ? 1 : 2));
  }
}

void TestCategorical() {
  ForestSpec s;
  s.n_features = 1;
  s.cat_offsets = {0};
  s.tree_offsets = {0};
  AddNode(s, 1, 2, 0, 0.0, 0.0);
  s.is_categorical.back() = 1;
  s.cat_words = {(1u << 1) | (1u << 3), 1u};  // categories 1, 3 and 32 go left
  s.cat_offsets.back() = 2;
  AddNode(s, -1, -1, 0, 0.0, 1.0);
  AddNode(s, -1, -1, 0, 0.0, -1.0);
  s.tree_offsets.push_back(3);
  s.tree_group.push_back(0);
  s.objective = radarcore::Objective::kRegression;
  const Forest f(s);
  const double cases[][2] = {{1.0, 1.0},  {3.7, 1.0},  {32.0, 1.0}, {2.0, -1.0},
                             {-1.0, -1.0}, {kNan, -1.0}, {64.0, -1.0}, {1e12, -1.0}};
  for (const auto& c : cases) {
    double out = 0;
    f.PredictOne(&c[0], true, &out);
    RC_CHECK(out == c[1]);
  }
}

void TestContributionsSumToMargin() {
  const Forest f(TwoStumps(radarcore::SplitRule::kLightGbm));
  const double row[2] = {0.7, 1.0};
  std::vector<double> phi(3);
  f.ContributionsMany(MatrixView<double>{row, 1, 2, 2, 1}, 1, phi.data());
  RC_CHECK_NEAR(phi[0] + phi[1] + phi[2], Raw(f, 0.7, 1.0), 1e-12);
  RC_CHECK_NEAR(phi[2], (-1.0 * 4 + 2.0 * 6) / 10.0 + (0.25 * 5 - 0.5 * 5) / 10.0, 1e-12);
}

void TestModelFormat() {
  const ForestSpec spec = TwoStumps(radarcore::SplitRule::kLightGbm);
  const std::string bytes = radarcore::SerializeForest(spec);
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const ForestSpec back = radarcore::DeserializeForest(data, bytes.size());
  RC_CHECK(back.feature_names == spec.feature_names);
  RC_CHECK(back.threshold == spec.threshold);
  RC_CHECK(Raw(Forest(back), 0.2, 9.0) == Raw(Forest(spec), 0.2, 9.0));

  auto rejects = [](std::string b, const std::string& expected) {
    try {
      radarcore::DeserializeForest(reinterpret_cast<const std::uint8_t*>(b.data()), b.size());
    } catch (const radarcore::ModelError& e) {
      return std::string(e.what()).find(expected) != std::string::npos;
    }
    return false;
  };
  RC_CHECK(rejects(bytes.substr(0, bytes.size() / 2), "truncated"));
  std::string flipped = bytes;
  flipped[40] = static_cast<char>(flipped[40] ^ 0x5a);
  RC_CHECK(rejects(flipped, "checksum"));
  std::string magic = bytes;
  magic[0] = 'X';
  RC_CHECK(rejects(magic, "magic"));
  std::string version = bytes;
  version[8] = 9;
  RC_CHECK(rejects(version, "version"));
  RC_CHECK(radarcore::Crc32(reinterpret_cast<const std::uint8_t*>("123456789"), 9) == 0xCBF43926u);
}

void TestValidation() {
  ForestSpec s = TwoStumps(radarcore::SplitRule::kLightGbm);
  s.split_feature[0] = 5;
  bool threw = false;
  try {
    Forest f(s);
  } catch (const radarcore::ModelError& e) {
    threw = std::string(e.what()).find("feature 5") != std::string::npos;
  }
  RC_CHECK(threw);
  ForestSpec cycle = TwoStumps(radarcore::SplitRule::kLightGbm);
  cycle.left_child[0] = 2;
  threw = false;
  try {
    Forest f(cycle);
  } catch (const radarcore::ModelError& e) {
    threw = std::string(e.what()).find("not a tree") != std::string::npos;
  }
  RC_CHECK(threw);
}

// A deterministic pseudo-random forest with NaN-aware (and some zero-missing) splits, deep enough
// that walks end at different steps: trees of 21 leaves, of exactly 64 (the most QuickScorer
// takes) and of 75 (walked), in runs longer than one QuickScorer run, with thresholds drawn from
// `distinct` values per feature (255 is the most one QuickScorer rank domain or run holds; past
// that, trees of 64 leaves and a feature taking half the splits, so that runs split into several
// domains and end early) and inputs that often equal a threshold. Every kernel must agree
// exactly with the portable walker, in batch and row by row, for both split rules.
void TestKernelsAgree(radarcore::SplitRule rule, std::uint32_t distinct) {
  std::uint64_t state = 42;
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(state >> 33);
  };
  ForestSpec s;
  s.n_features = 5;
  s.split_rule = rule;
  s.cat_offsets = {0};
  s.tree_offsets = {0};
  for (int t = 0; t < 300; ++t) {
    const std::int64_t begin = s.tree_offsets.back();
    // Past 255 values every tree has 64 leaves, so that runs also end on feature 0's thresholds.
    const std::size_t leaves = distinct > 255 ? 64 : t % 7 == 3 ? 75 : t % 7 == 5 ? 64 : 21;
    std::vector<std::int32_t> frontier{0};
    AddNode(s, -1, -1, 0, 0.0, 0.0);
    while (s.left_child.size() - static_cast<std::size_t>(begin) < 2 * leaves - 1) {
      const std::size_t pick = next() % frontier.size();
      const std::int32_t local = frontier[pick];
      frontier.erase(frontier.begin() + static_cast<std::ptrdiff_t>(pick));
      const auto n = static_cast<std::size_t>(begin + local);
      const auto left =
          static_cast<std::int32_t>(s.left_child.size() - static_cast<std::size_t>(begin));
      s.left_child[n] = left;
      s.right_child[n] = left + 1;
      // Past 255 values half the splits take feature 0.
      s.split_feature[n] =
          distinct > 255 && next() % 2 == 0 ? 0 : static_cast<std::int32_t>(next() % 5);
      s.threshold[n] = static_cast<double>(next() % distinct) / 100.0 - 1.0;
      s.default_left[n] = static_cast<std::uint8_t>(next() % 2);
      s.missing_type[n] = static_cast<std::uint8_t>(next() % 2 == 0 ? 0 : 2);
      for (int c = 0; c < 2; ++c) {
        AddNode(s, -1, -1, 0, 0.0, static_cast<double>(next() % 1000) / 1000.0 - 0.5);
        frontier.push_back(left + c);
      }
    }
    // Some trees treat zero as missing, so the vector walkers skip them: a mixed forest.
    if (t % 11 == 0 || t == 140) s.missing_type[static_cast<std::size_t>(begin)] = 1;
    s.tree_offsets.push_back(static_cast<std::int64_t>(s.left_child.size()));
    s.tree_group.push_back(0);
  }
  const Forest f(s);
  const std::int64_t rows = 300;
  std::vector<double> x(static_cast<std::size_t>(rows * 5));
  for (double& v : x) {
    const std::uint32_t kind = next() % 40;
    v = kind < 4    ? kNan
        : kind == 4 ? std::numeric_limits<double>::infinity()
        : kind == 5 ? -std::numeric_limits<double>::infinity()
        : kind == 6 ? 0.0
                    : static_cast<double>(next() % (distinct + 40)) / 100.0 - 1.2;
  }
  const MatrixView<double> view{x.data(), rows, 5, 5, 1};
  std::vector<double> scalar(rows);
  f.PredictMany(view, true, 2, scalar.data(), radarcore::Kernel::kScalar);
  for (const radarcore::Kernel kernel : {radarcore::Kernel::kAuto, radarcore::Kernel::kAvx2}) {
    std::vector<double> fast(rows);
    f.PredictMany(view, true, 1, fast.data(), kernel);
    RC_CHECK(fast == scalar);
  }
  // Float input in Fortran order takes the same paths.
  std::vector<float> xf(x.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < 5; ++c) {
      const auto i = static_cast<std::size_t>(r * 5 + c);
      xf[static_cast<std::size_t>(c * rows + r)] = static_cast<float>(x[i]);
    }
  }
  std::vector<double> from_float(rows);
  std::vector<double> from_float_scalar(rows);
  f.PredictMany(MatrixView<float>{xf.data(), rows, 5, 1, rows}, true, 1, from_float.data());
  f.PredictMany(MatrixView<float>{xf.data(), rows, 5, 1, rows}, true, 1, from_float_scalar.data(),
                radarcore::Kernel::kScalar);
  RC_CHECK(from_float == from_float_scalar);
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto i = static_cast<std::size_t>(r);
    double one = 0;
    f.PredictOne(x.data() + r * 5, true, &one);
    RC_CHECK(one == scalar[i]);
  }
}

}  // namespace

int main() {
  for (const std::uint32_t distinct : {200u, 255u, 256u, 2000u}) {
    TestKernelsAgree(radarcore::SplitRule::kLightGbm, distinct);
    TestKernelsAgree(radarcore::SplitRule::kXgboost, distinct);
  }
  TestLightGbmSemantics();
  TestXgboostSemantics();
  TestBatchEqualsOne();
  TestCategorical();
  TestContributionsSumToMargin();
  TestModelFormat();
  TestValidation();
  return radarcore::test::Finish("test_forest");
}
