#include "forest/forest.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "common/errors.hpp"

namespace radarcore {

namespace {

constexpr std::uint32_t kLeaf = 1u << 31;
constexpr std::uint32_t kNanLeft = 1u << 30;
constexpr std::uint32_t kDefaultLeft = 1u << 29;
constexpr std::uint32_t kCategorical = 1u << 28;
constexpr std::uint32_t kZeroMissing = 1u << 27;
constexpr std::uint32_t kFeatureMask = (1u << 27) - 1;
constexpr std::int32_t kMaxDepth = 512;
// LightGBM's kZeroThreshold is the float 1e-35f, compared after promotion to double.
constexpr double kZeroThreshold = static_cast<double>(1e-35f);
constexpr std::int64_t kBlockRows = 256;
constexpr int kLanes = 8;
// Lanes per call of a walk; a multiple of both the scalar and the AVX-512 width.
constexpr int kWalkLanes = 32;
// Trees per QuickScorer run: their state for one row group takes up to 512 bytes each.
constexpr std::int64_t kQuickRunTrees = 32;

using Node = Forest::Node;

struct CategoryView {
  const std::int64_t* begin;  // per compiled node: word range in words
  const std::int64_t* end;
  const std::uint32_t* words;
};

// LightGBM's CategoricalDecision: NaN and negative values go right; others are truncated to an
// int and go left when their bit is set. Values beyond int range cannot be in any bitset.
inline bool CategoryGoesLeft(const CategoryView& cats, std::uint32_t node, double x) {
  if (!(x > -1.0) || x >= 2147483648.0) return false;
  const auto category = static_cast<std::int64_t>(x);
  const std::int64_t word = cats.begin[node] + category / 32;
  if (word >= cats.end[node]) return false;
  return ((cats.words[word] >> (category % 32)) & 1u) != 0;
}

// The next node for a row: the general decision covering every split kind.
inline std::uint32_t StepGeneral(const Node* nodes, const CategoryView& cats, std::uint32_t i,
                                 const double* row) {
  const Node& n = nodes[i];
  const std::uint32_t flags = n.feature_flags;
  const double x = row[flags & kFeatureMask];
  bool left;
  if ((flags & kCategorical) != 0) {
    left = CategoryGoesLeft(cats, i, x);
  } else if (std::isnan(x)) {
    left = (flags & kNanLeft) != 0;
  } else if ((flags & kZeroMissing) != 0 && x >= -kZeroThreshold && x <= kZeroThreshold) {
    left = (flags & kDefaultLeft) != 0;
  } else {
    left = x <= n.threshold;
  }
  return n.left + (left ? 0u : 1u);
}

// Advances kLanes independent walks until every lane sits on a leaf (at most max_steps steps).
// Independent lanes keep the CPU busy while each lane waits on its own node load; leaves loop
// onto themselves, so lanes that finish early just stay put.
template <bool kGeneral>
inline void Walk(const Node* nodes, const CategoryView& cats, std::uint32_t* idx,
                 const double* const* rows, std::int32_t max_steps) {
  for (std::int32_t s = 0; s < max_steps; ++s) {
    std::uint32_t active = 0;
    for (int g = 0; g < kLanes; ++g) {
      const Node& n = nodes[idx[g]];
      active |= ~n.feature_flags;
      if constexpr (kGeneral) {
        idx[g] = StepGeneral(nodes, cats, idx[g], rows[g]);
      } else {
        // Numerical splits only, without branches: NaN fails the compare, so it goes left
        // only when the node says so.
        const double x = rows[g][n.feature_flags & kFeatureMask];
        const bool nan_left = (n.feature_flags & kNanLeft) != 0;
        const bool left = (x <= n.threshold) | (std::isnan(x) & nan_left);
        idx[g] = n.left + 1u - static_cast<std::uint32_t>(left);
      }
    }
    if ((active & kLeaf) == 0) return;
  }
}

detail::QuickScorerIsa QuickIsa(Kernel kernel) {
  return kernel == Kernel::kAuto ? detail::QuickScorer::Best() : detail::QuickScorerIsa::kAvx2;
}

// Walks `lanes` (a multiple of kLanes) lanes of one kind of tree to their leaves with the
// portable kernel. Lane l starts at idx[l] and reads its row at rows[l].
void WalkLanes(const Node* nodes, const CategoryView& cats, std::uint32_t* idx,
               const double* const* rows, std::int64_t lanes, bool general,
               std::int32_t max_steps) {
  for (std::int64_t l = 0; l < lanes; l += kLanes) {
    if (general) {
      Walk<true>(nodes, cats, idx + l, rows + l, max_steps);
    } else {
      Walk<false>(nodes, cats, idx + l, rows + l, max_steps);
    }
  }
}

// XGBoost reads its input as float32; LightGBM as double.
template <typename T>
inline double ReadValue(const MatrixView<T>& x, std::int64_t r, std::int64_t c, bool as_float) {
  const double v = static_cast<double>(x.data[r * x.row_stride + c * x.col_stride]);
  return as_float ? static_cast<double>(static_cast<float>(v)) : v;
}

template <typename T>
void LoadRows(const MatrixView<T>& x, std::int64_t begin, std::int64_t count, bool as_float,
              double* buffer) {
  for (std::int64_t r = 0; r < count; ++r) {
    double* dst = buffer + r * x.cols;
    for (std::int64_t c = 0; c < x.cols; ++c) dst[c] = ReadValue(x, begin + r, c, as_float);
  }
}

// Runs fn(begin, end) over [0, rows) split into n_threads contiguous chunks.
template <typename Fn>
void ParallelRows(std::int64_t rows, int n_threads, Fn&& fn) {
  const std::int64_t blocks = (rows + kBlockRows - 1) / kBlockRows;
  const std::int64_t workers = std::max<std::int64_t>(1, std::min<std::int64_t>(n_threads, blocks));
  if (workers == 1) {
    fn(std::int64_t{0}, rows);
    return;
  }
  const std::int64_t per = (blocks + workers - 1) / workers * kBlockRows;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(workers - 1));
  for (std::int64_t w = 1; w < workers; ++w) {
    const std::int64_t begin = std::min(rows, w * per);
    const std::int64_t end = std::min(rows, begin + per);
    if (begin < end) threads.emplace_back([&fn, begin, end] { fn(begin, end); });
  }
  fn(std::int64_t{0}, std::min(rows, per));
  for (std::thread& t : threads) t.join();
}

[[noreturn]] void Fail(const std::string& what) { throw ModelError("invalid forest: " + what); }

std::size_t Idx(std::int64_t i) { return static_cast<std::size_t>(i); }

void ValidateSpec(const ForestSpec& s) {
  if (s.n_features < 1 || static_cast<std::uint32_t>(s.n_features) > kFeatureMask) {
    Fail("n_features " + std::to_string(s.n_features) + " out of range");
  }
  if (!s.feature_names.empty() && s.feature_names.size() != Idx(s.n_features)) {
    Fail("feature_names has " + std::to_string(s.feature_names.size()) + " names for " +
         std::to_string(s.n_features) + " features");
  }
  const auto objective = static_cast<std::uint8_t>(s.objective);
  if (objective > 2) Fail("unknown objective " + std::to_string(objective));
  if (static_cast<std::uint8_t>(s.split_rule) > 1) Fail("unknown split rule");
  if (s.n_groups < 1) Fail("n_groups must be at least 1");
  if (s.objective == Objective::kMulticlass ? s.n_groups < 2 : s.n_groups != 1) {
    Fail("n_groups " + std::to_string(s.n_groups) + " does not fit the objective");
  }
  if (!s.base_score.empty() && s.base_score.size() != Idx(s.n_groups)) {
    Fail("base_score needs one value per group");
  }
  if (!std::isfinite(s.sigmoid_scale)) Fail("sigmoid_scale must be finite");
  if (s.tree_offsets.size() != s.tree_group.size() + 1) {
    Fail("tree_offsets must have n_trees + 1 entries");
  }
  const std::size_t n_nodes = s.left_child.size();
  if (s.tree_offsets.front() != 0 || Idx(s.tree_offsets.back()) != n_nodes) {
    Fail("tree_offsets must run from 0 to the number of nodes");
  }
  if (s.right_child.size() != n_nodes || s.split_feature.size() != n_nodes ||
      s.threshold.size() != n_nodes || s.default_left.size() != n_nodes ||
      s.missing_type.size() != n_nodes || s.is_categorical.size() != n_nodes ||
      s.leaf_value.size() != n_nodes || s.cover.size() != n_nodes ||
      s.leaf_id.size() != n_nodes || s.cat_offsets.size() != n_nodes + 1) {
    Fail("every per-node array needs one entry per node");
  }
  if (s.cat_offsets.front() != 0 || Idx(s.cat_offsets.back()) != s.cat_words.size()) {
    Fail("cat_offsets must run from 0 to the number of category words");
  }
  for (std::size_t n = 0; n < n_nodes; ++n) {
    if (s.cat_offsets[n + 1] < s.cat_offsets[n]) Fail("cat_offsets must not decrease");
    if (s.missing_type[n] > 2) Fail("unknown missing type at node " + std::to_string(n));
  }
  for (std::size_t t = 0; t < s.tree_group.size(); ++t) {
    if (s.tree_group[t] < 0 || s.tree_group[t] >= s.n_groups) {
      Fail("tree " + std::to_string(t) + " adds to group " + std::to_string(s.tree_group[t]) +
           " of " + std::to_string(s.n_groups));
    }
    const std::int64_t begin = s.tree_offsets[t];
    const std::int64_t end = s.tree_offsets[t + 1];
    if (end <= begin) Fail("tree " + std::to_string(t) + " has no nodes");
    const std::int64_t size = end - begin;
    std::vector<std::uint8_t> seen(Idx(size), 0);
    std::vector<std::pair<std::int64_t, std::int32_t>> stack{{0, 0}};
    std::int64_t visited = 0;
    while (!stack.empty()) {
      const auto [local, depth] = stack.back();
      stack.pop_back();
      if (seen[Idx(local)] != 0) Fail("tree " + std::to_string(t) + " is not a tree");
      seen[Idx(local)] = 1;
      ++visited;
      if (depth > kMaxDepth) Fail("tree " + std::to_string(t) + " is deeper than 512");
      const std::size_t n = Idx(begin + local);
      if (s.left_child[n] == -1 && s.right_child[n] == -1) continue;
      const std::int32_t f = s.split_feature[n];
      if (f < 0 || f >= s.n_features) {
        Fail("tree " + std::to_string(t) + " splits on feature " + std::to_string(f) + " of " +
             std::to_string(s.n_features));
      }
      for (const std::int32_t child : {s.left_child[n], s.right_child[n]}) {
        if (child <= 0 || child >= size) {
          Fail("tree " + std::to_string(t) + " has a child index out of range");
        }
        stack.emplace_back(child, depth + 1);
      }
    }
    if (visited != size) Fail("tree " + std::to_string(t) + " has unreachable nodes");
  }
}

}  // namespace

Forest::Forest(ForestSpec spec) : spec_(std::move(spec)) {
  if (spec_.base_score.empty()) spec_.base_score.assign(Idx(spec_.n_groups), 0.0);
  ValidateSpec(spec_);
  Compile();
  PlanBatch();
}

// Consecutive trees that QuickScorer can take (numerical None/NaN splits, at most 64 leaves, no
// NaN threshold) form runs of at most kQuickRunTrees, whose state stays in the L1 cache, and
// with at most kQuickScorerMaxThresholds distinct thresholds per feature; the other trees are
// walked. The plan keeps tree order, so margins add up in the same order on every path.
void Forest::PlanBatch() {
  const ForestSpec& s = spec_;
  const std::size_t n_nodes = s.left_child.size();
  std::vector<double> threshold(n_nodes);
  std::vector<std::uint8_t> nan_left(n_nodes);
  for (std::size_t n = 0; n < n_nodes; ++n) {
    const Node& node = nodes_[spec_to_node_[n]];
    threshold[n] = node.threshold;
    nan_left[n] = (node.feature_flags & kNanLeft) != 0 ? 1 : 0;
  }
  const std::int64_t n_trees = NumTrees();
  auto splits = [&](std::int64_t t, auto&& fn) {
    for (std::int64_t n = s.tree_offsets[Idx(t)]; n < s.tree_offsets[Idx(t) + 1]; ++n) {
      if (s.left_child[Idx(n)] != -1) fn(Idx(n));
    }
  };
  std::vector<std::uint8_t> quick(Idx(n_trees), 0);
  for (std::int64_t t = 0; t < n_trees; ++t) {
    if (!detail::QuickScorer::Supported() || tree_general_[Idx(t)] != 0) continue;
    std::int64_t internal = 0;
    bool nan_threshold = false;
    splits(t, [&](std::size_t n) {
      ++internal;
      nan_threshold = nan_threshold || std::isnan(threshold[n]);
    });
    quick[Idx(t)] = !nan_threshold && internal < detail::kQuickScorerMaxLeaves ? 1 : 0;
  }
  std::vector<std::vector<detail::QuickScorerTree>> runs;
  for (std::int64_t t = 0; t < n_trees;) {
    const bool first_quick = quick[Idx(t)] != 0;
    std::int64_t e = t + 1;
    // A run also ends before a tree that would give one of its features more distinct
    // thresholds than QuickScorer ranks.
    std::map<std::int32_t, std::set<double>> run_thresholds;
    auto fits = [&](std::int64_t u) {
      std::map<std::int32_t, std::set<double>> added;
      splits(u, [&](std::size_t n) {
        if (run_thresholds[s.split_feature[n]].count(threshold[n]) == 0) {
          added[s.split_feature[n]].insert(threshold[n]);
        }
      });
      for (const auto& [feature, values] : added) {
        if (run_thresholds[feature].size() + values.size() >
            static_cast<std::size_t>(detail::kQuickScorerMaxThresholds)) {
          return false;
        }
      }
      for (const auto& [feature, values] : added) {
        run_thresholds[feature].insert(values.begin(), values.end());
      }
      return true;
    };
    if (first_quick) fits(t);
    while (e < n_trees && (quick[Idx(e)] != 0) == first_quick &&
           (!first_quick || (e - t < kQuickRunTrees && fits(e)))) {
      ++e;
    }
    std::int64_t quick_run = -1;
    if (first_quick) {
      quick_run = static_cast<std::int64_t>(runs.size());
      runs.emplace_back();
      for (std::int64_t u = t; u < e; ++u) {
        const std::size_t b = Idx(s.tree_offsets[Idx(u)]);
        runs.back().push_back(detail::QuickScorerTree{
            s.left_child.data() + b, s.right_child.data() + b, s.split_feature.data() + b,
            threshold.data() + b, nan_left.data() + b, s.leaf_value.data() + b,
            s.tree_offsets[Idx(u) + 1] - s.tree_offsets[Idx(u)]});
      }
    }
    plan_.push_back(PlanStep{t, e, quick_run});
    t = e;
  }
  quick_ = detail::QuickScorer(runs);
}

// Nodes of each tree are renumbered breadth-first so that siblings sit side by side; a leaf
// points at itself so that every walk can take a fixed number of steps.
void Forest::Compile() {
  const ForestSpec& s = spec_;
  const std::size_t n_nodes = s.left_child.size();
  nodes_.resize(n_nodes);
  node_value_.assign(n_nodes, 0.0);
  node_leaf_id_.assign(n_nodes, -1);
  node_cat_begin_.assign(n_nodes, 0);
  node_cat_end_.assign(n_nodes, 0);
  spec_to_node_.assign(n_nodes, 0);
  const std::size_t n_trees = s.tree_group.size();
  tree_root_.resize(n_trees);
  tree_depth_.assign(n_trees, 0);
  tree_general_.assign(n_trees, 0);
  tree_expected_.assign(n_trees, 0.0);
  const bool xgboost = s.split_rule == SplitRule::kXgboost;
  std::vector<std::pair<std::int64_t, std::int32_t>> queue;
  for (std::size_t t = 0; t < n_trees; ++t) {
    const std::int64_t begin = s.tree_offsets[t];
    auto next = static_cast<std::uint32_t>(begin);
    tree_root_[t] = next;
    queue.assign(1, {begin, 0});
    spec_to_node_[Idx(begin)] = next++;
    const double root_cover = s.cover[Idx(begin)];
    for (std::size_t q = 0; q < queue.size(); ++q) {
      const auto [n, depth] = queue[q];
      const std::uint32_t i = spec_to_node_[Idx(n)];
      Node& node = nodes_[i];
      tree_depth_[t] = std::max(tree_depth_[t], depth);
      if (s.left_child[Idx(n)] == -1) {
        node = Node{std::numeric_limits<double>::infinity(), kLeaf | kNanLeft, i};
        node_value_[i] = s.leaf_value[Idx(n)];
        node_leaf_id_[i] = s.leaf_id[Idx(n)];
        tree_expected_[t] += begin + 1 == s.tree_offsets[t + 1]
                                 ? s.leaf_value[Idx(n)]
                                 : s.cover[Idx(n)] / root_cover * s.leaf_value[Idx(n)];
        continue;
      }
      std::uint32_t flags = static_cast<std::uint32_t>(s.split_feature[Idx(n)]);
      const bool default_left = s.default_left[Idx(n)] != 0;
      if (default_left) flags |= kDefaultLeft;
      double threshold = s.threshold[Idx(n)];
      if (xgboost) {
        // float(x) < float(t) is float(x) <= the float just below t.
        threshold = static_cast<double>(std::nextafter(static_cast<float>(threshold),
                                                       -std::numeric_limits<float>::infinity()));
        if (default_left) flags |= kNanLeft;
      } else if (s.is_categorical[Idx(n)] != 0) {
        flags |= kCategorical;
        node_cat_begin_[i] = s.cat_offsets[Idx(n)];
        node_cat_end_[i] = s.cat_offsets[Idx(n) + 1];
        tree_general_[t] = 1;
      } else {
        switch (static_cast<MissingType>(s.missing_type[Idx(n)])) {
          case MissingType::kNone:
            if (0.0 <= threshold) flags |= kNanLeft;
            break;
          case MissingType::kZero:
            flags |= kZeroMissing;
            if (default_left) flags |= kNanLeft;
            tree_general_[t] = 1;
            break;
          case MissingType::kNan:
            if (default_left) flags |= kNanLeft;
            break;
        }
      }
      node = Node{threshold, flags, next};
      const std::int64_t left = begin + s.left_child[Idx(n)];
      const std::int64_t right = begin + s.right_child[Idx(n)];
      spec_to_node_[Idx(left)] = next++;
      spec_to_node_[Idx(right)] = next++;
      queue.emplace_back(left, depth + 1);
      queue.emplace_back(right, depth + 1);
    }
  }
}

template <typename T>
void Forest::PredictRange(const MatrixView<T>& x, std::int64_t begin, std::int64_t end, bool raw,
                          Kernel kernel, double* out) const {
  using detail::kQuickScorerLanes;
  const std::int64_t nf = spec_.n_features;
  const std::int64_t ng = spec_.n_groups;
  const bool as_float = spec_.split_rule == SplitRule::kXgboost;
  const bool quick = kernel != Kernel::kScalar && quick_.NumRuns() > 0;
  const detail::QuickScorerIsa isa = QuickIsa(kernel);
  const CategoryView cats{node_cat_begin_.data(), node_cat_end_.data(), spec_.cat_words.data()};
  const Node* nodes = nodes_.data();
  // One spare feature slot keeps the buffer non-empty for forests without features.
  std::vector<double> buffer(Idx(kBlockRows * (nf + 1)), 0.0);
  std::vector<double> margin(Idx(kBlockRows * ng));
  // QuickScorer state: the ranks of each row group of the block, one run's planes, exit leaves.
  constexpr std::int64_t kGroups = kBlockRows / kQuickScorerLanes;
  static_assert(kBlockRows % kQuickScorerLanes == 0, "a block holds whole row groups");
  std::vector<detail::QuickScorerLine> ranks(quick ? Idx(kGroups * quick_.MaxRankLines()) : 0);
  std::vector<detail::QuickScorerLine> planes(quick ? Idx(quick_.MaxRunPlanes()) : 0);
  std::vector<detail::QuickScorerLine> leaf(quick ? Idx(quick_.MaxRunSize()) : 0);
  const double* rows[kBlockRows];
  std::uint32_t idx[kBlockRows];
  for (std::int64_t b = begin; b < end; b += kBlockRows) {
    const std::int64_t count = std::min(kBlockRows, end - b);
    const std::int64_t groups = (count + kQuickScorerLanes - 1) / kQuickScorerLanes;
    LoadRows(x, b, count, as_float, buffer.data());
    // Lanes past the last row repeat it; their results are dropped.
    for (std::int64_t r = 0; r < kBlockRows; ++r) {
      rows[r] = buffer.data() + std::min(r, count - 1) * nf;
      for (std::int64_t g = 0; g < ng; ++g) margin[Idx(r * ng + g)] = spec_.base_score[Idx(g)];
    }
    std::int64_t ranked = -1;  // the domain ranks holds
    const std::int64_t lanes = (count + kWalkLanes - 1) / kWalkLanes * kWalkLanes;
    for (const PlanStep& step : plan_) {
      if (quick && step.quick_run >= 0) {
        const std::int64_t n_trees = step.end_tree - step.first_tree;
        const std::int64_t domain = quick_.RunDomain(step.quick_run);
        if (domain != ranked) {
          for (std::int64_t g = 0; g < groups; ++g) {
            quick_.Rank(isa, domain, rows + g * kQuickScorerLanes,
                        ranks.data() + g * quick_.MaxRankLines());
          }
          ranked = domain;
        }
        for (std::int64_t g = 0; g < groups; ++g) {
          quick_.Score(step.quick_run, ranks.data() + g * quick_.MaxRankLines(),
                       planes.data(), leaf.data());
          const std::int64_t in_group =
              std::min<std::int64_t>(kQuickScorerLanes, count - g * kQuickScorerLanes);
          double* group_margin = margin.data() + g * kQuickScorerLanes * ng;
          if (ng == 1) {
            // Lanes past the block's rows add to margins that are never read.
            quick_.AddLeaves(step.quick_run, leaf.data(), group_margin);
            continue;
          }
          for (std::int64_t t = 0; t < n_trees; ++t) {
            double* acc = group_margin + spec_.tree_group[Idx(step.first_tree + t)];
            const std::uint8_t* exits = leaf[Idx(t)].lane;
            for (std::int64_t l = 0; l < in_group; ++l) {
              acc[l * ng] += quick_.LeafValue(step.quick_run, t, exits[l]);
            }
          }
        }
        continue;
      }
      for (std::int64_t t = step.first_tree; t < step.end_tree; ++t) {
        double* acc = margin.data() + spec_.tree_group[Idx(t)];
        std::fill(idx, idx + lanes, tree_root_[Idx(t)]);
        WalkLanes(nodes, cats, idx, rows, lanes, tree_general_[Idx(t)] != 0, tree_depth_[Idx(t)]);
        for (std::int64_t r = 0; r < count; ++r) acc[r * ng] += node_value_[idx[r]];
      }
    }
    for (std::int64_t r = 0; r < count; ++r) {
      Finish(margin.data() + r * ng, raw, out + (b + r) * ng);
    }
  }
}

void Forest::Finish(const double* margin, bool raw, double* out) const {
  const std::int32_t ng = spec_.n_groups;
  if (raw || spec_.objective == Objective::kRegression) {
    std::copy(margin, margin + ng, out);
  } else if (spec_.objective == Objective::kBinary) {
    out[0] = 1.0 / (1.0 + std::exp(-spec_.sigmoid_scale * margin[0]));
  } else {
    const double top = *std::max_element(margin, margin + ng);
    double total = 0.0;
    for (std::int32_t g = 0; g < ng; ++g) {
      out[g] = std::exp(margin[g] - top);
      total += out[g];
    }
    for (std::int32_t g = 0; g < ng; ++g) out[g] /= total;
  }
}

void Forest::PredictMany(const MatrixView<float>& x, bool raw, int n_threads, double* out,
                         Kernel kernel) const {
  ParallelRows(x.rows, n_threads,
               [&](std::int64_t b, std::int64_t e) { PredictRange(x, b, e, raw, kernel, out); });
}

void Forest::PredictMany(const MatrixView<double>& x, bool raw, int n_threads, double* out,
                         Kernel kernel) const {
  ParallelRows(x.rows, n_threads,
               [&](std::int64_t b, std::int64_t e) { PredictRange(x, b, e, raw, kernel, out); });
}

// One row: the lanes walk different trees of the same row instead of different rows (faster
// for one row than an AVX-512 gather walker that refills each lane with the next tree as soon
// as its walk ends: 3.1-3.5 against 3.8-4.3 µs for 200 trees of depth 6 on AVX-512 x86-64).
void Forest::PredictOne(const double* row, bool raw, double* out) const {
  const std::int32_t ng = spec_.n_groups;
  const double* values = row;
  std::vector<double> rounded;
  if (spec_.split_rule == SplitRule::kXgboost) {
    rounded.assign(row, row + spec_.n_features);
    for (double& v : rounded) v = static_cast<double>(static_cast<float>(v));
    values = rounded.data();
  }
  std::vector<double> margin_heap;
  double margin_small[kLanes];
  double* margin = margin_small;
  if (ng > kLanes) {
    margin_heap.resize(Idx(ng));
    margin = margin_heap.data();
  }
  std::copy(spec_.base_score.begin(), spec_.base_score.end(), margin);
  const CategoryView cats{node_cat_begin_.data(), node_cat_end_.data(), spec_.cat_words.data()};
  const std::size_t n_trees = tree_root_.size();
  const double* rows[kWalkLanes];
  std::fill(rows, rows + kWalkLanes, values);
  std::uint32_t idx[kWalkLanes];
  for (std::size_t t0 = 0; t0 < n_trees; t0 += kWalkLanes) {
    const std::size_t lanes = std::min<std::size_t>(kWalkLanes, n_trees - t0);
    std::int32_t depth = 0;
    bool general = false;
    // Lanes past the last tree repeat it; their results are dropped.
    for (std::size_t g = 0; g < kWalkLanes; ++g) {
      const std::size_t t = t0 + std::min(g, lanes - 1);
      idx[g] = tree_root_[t];
      depth = std::max(depth, tree_depth_[t]);
      general = general || tree_general_[t] != 0;
    }
    WalkLanes(nodes_.data(), cats, idx, rows, kWalkLanes, general, depth);
    for (std::size_t g = 0; g < lanes; ++g) margin[spec_.tree_group[t0 + g]] += node_value_[idx[g]];
  }
  Finish(margin, raw, out);
}

template <typename T>
void Forest::LeavesRange(const MatrixView<T>& x, std::int64_t begin, std::int64_t end,
                         std::int32_t* out) const {
  const std::int64_t nf = spec_.n_features;
  const bool as_float = spec_.split_rule == SplitRule::kXgboost;
  const CategoryView cats{node_cat_begin_.data(), node_cat_end_.data(), spec_.cat_words.data()};
  const auto n_trees = static_cast<std::int64_t>(tree_root_.size());
  std::vector<double> buffer(Idx(nf + 1), 0.0);
  for (std::int64_t r = begin; r < end; ++r) {
    LoadRows(x, r, 1, as_float, buffer.data());
    for (std::int64_t t = 0; t < n_trees; ++t) {
      std::uint32_t i = tree_root_[Idx(t)];
      while ((nodes_[i].feature_flags & kLeaf) == 0) {
        i = StepGeneral(nodes_.data(), cats, i, buffer.data());
      }
      out[r * n_trees + t] = node_leaf_id_[i];
    }
  }
}

void Forest::LeavesMany(const MatrixView<float>& x, int n_threads, std::int32_t* out) const {
  ParallelRows(x.rows, n_threads, [&](std::int64_t b, std::int64_t e) { LeavesRange(x, b, e, out); });
}

void Forest::LeavesMany(const MatrixView<double>& x, int n_threads, std::int32_t* out) const {
  ParallelRows(x.rows, n_threads, [&](std::int64_t b, std::int64_t e) { LeavesRange(x, b, e, out); });
}

namespace {

// TreeSHAP (Lundberg et al. 2018, Algorithm 2) as LightGBM implements it, so that results agree
// with pred_contrib to rounding.
struct PathElement {
  std::int32_t feature_index;
  double zero_fraction;
  double one_fraction;
  double pweight;
};

void ExtendPath(PathElement* path, int depth, double zero_fraction, double one_fraction,
                std::int32_t feature_index) {
  path[depth] = PathElement{feature_index, zero_fraction, one_fraction, depth == 0 ? 1.0 : 0.0};
  for (int i = depth - 1; i >= 0; --i) {
    path[i + 1].pweight += one_fraction * path[i].pweight * (i + 1) / static_cast<double>(depth + 1);
    path[i].pweight = zero_fraction * path[i].pweight * (depth - i) / static_cast<double>(depth + 1);
  }
}

void UnwindPath(PathElement* path, int depth, int path_index) {
  const double one_fraction = path[path_index].one_fraction;
  const double zero_fraction = path[path_index].zero_fraction;
  double next_one_portion = path[depth].pweight;
  for (int i = depth - 1; i >= 0; --i) {
    if (one_fraction != 0) {
      const double tmp = path[i].pweight;
      path[i].pweight = next_one_portion * (depth + 1) / static_cast<double>((i + 1) * one_fraction);
      next_one_portion =
          tmp - path[i].pweight * zero_fraction * (depth - i) / static_cast<double>(depth + 1);
    } else {
      path[i].pweight =
          (path[i].pweight * (depth + 1)) / static_cast<double>(zero_fraction * (depth - i));
    }
  }
  for (int i = path_index; i < depth; ++i) {
    path[i].feature_index = path[i + 1].feature_index;
    path[i].zero_fraction = path[i + 1].zero_fraction;
    path[i].one_fraction = path[i + 1].one_fraction;
  }
}

double UnwoundPathSum(const PathElement* path, int depth, int path_index) {
  const double one_fraction = path[path_index].one_fraction;
  const double zero_fraction = path[path_index].zero_fraction;
  double next_one_portion = path[depth].pweight;
  double total = 0;
  for (int i = depth - 1; i >= 0; --i) {
    if (one_fraction != 0) {
      const double tmp = next_one_portion * (depth + 1) / static_cast<double>((i + 1) * one_fraction);
      total += tmp;
      next_one_portion =
          path[i].pweight - tmp * zero_fraction * ((depth - i) / static_cast<double>(depth + 1));
    } else {
      total += (path[i].pweight / zero_fraction) / ((depth - i) / static_cast<double>(depth + 1));
    }
  }
  return total;
}

struct ShapContext {
  const ForestSpec& spec;
  const Node* nodes;
  const CategoryView& cats;
  const std::vector<std::uint32_t>& spec_to_node;
  const double* row;
  double* phi;
  std::int64_t tree_begin;
};

void TreeShapRecurse(const ShapContext& c, std::int64_t node, int depth, PathElement* parent_path,
                     double parent_zero_fraction, double parent_one_fraction,
                     std::int32_t parent_feature) {
  PathElement* path = parent_path + depth;
  if (depth > 0) std::copy(parent_path, parent_path + depth, path);
  ExtendPath(path, depth, parent_zero_fraction, parent_one_fraction, parent_feature);
  const std::size_t n = Idx(c.tree_begin + node);
  if (c.spec.left_child[n] == -1) {
    for (int i = 1; i <= depth; ++i) {
      const double w = UnwoundPathSum(path, depth, i);
      const PathElement& el = path[i];
      c.phi[el.feature_index] += w * (el.one_fraction - el.zero_fraction) * c.spec.leaf_value[n];
    }
    return;
  }
  const std::uint32_t compiled = c.spec_to_node[n];
  const bool hot_left = StepGeneral(c.nodes, c.cats, compiled, c.row) == c.nodes[compiled].left;
  const std::int64_t hot = hot_left ? c.spec.left_child[n] : c.spec.right_child[n];
  const std::int64_t cold = hot_left ? c.spec.right_child[n] : c.spec.left_child[n];
  const double w = c.spec.cover[n];
  const double hot_zero_fraction = c.spec.cover[Idx(c.tree_begin + hot)] / w;
  const double cold_zero_fraction = c.spec.cover[Idx(c.tree_begin + cold)] / w;
  double incoming_zero_fraction = 1;
  double incoming_one_fraction = 1;
  const std::int32_t feature = c.spec.split_feature[n];
  int path_index = 0;
  for (; path_index <= depth; ++path_index) {
    if (path[path_index].feature_index == feature) break;
  }
  if (path_index != depth + 1) {
    incoming_zero_fraction = path[path_index].zero_fraction;
    incoming_one_fraction = path[path_index].one_fraction;
    UnwindPath(path, depth, path_index);
    depth -= 1;
  }
  TreeShapRecurse(c, hot, depth + 1, path, hot_zero_fraction * incoming_zero_fraction,
                  incoming_one_fraction, feature);
  TreeShapRecurse(c, cold, depth + 1, path, cold_zero_fraction * incoming_zero_fraction, 0,
                  feature);
}

}  // namespace

void Forest::TreeShap(std::int64_t tree, const double* row, double* phi) const {
  const std::int64_t begin = spec_.tree_offsets[Idx(tree)];
  phi[spec_.n_features] += tree_expected_[Idx(tree)];
  if (spec_.left_child[Idx(begin)] == -1) return;
  const int max_path = tree_depth_[Idx(tree)] + 1;
  std::vector<PathElement> path(Idx(max_path * (max_path + 1) / 2));
  const CategoryView cats{node_cat_begin_.data(), node_cat_end_.data(), spec_.cat_words.data()};
  const ShapContext context{spec_, nodes_.data(), cats, spec_to_node_, row, phi, begin};
  TreeShapRecurse(context, 0, 0, path.data(), 1, 1, -1);
}

template <typename T>
void Forest::ContributionsRange(const MatrixView<T>& x, std::int64_t begin, std::int64_t end,
                                double* out) const {
  const std::int64_t nf = spec_.n_features;
  const std::int64_t ng = spec_.n_groups;
  const bool as_float = spec_.split_rule == SplitRule::kXgboost;
  std::vector<double> buffer(Idx(nf + 1), 0.0);
  for (std::int64_t r = begin; r < end; ++r) {
    LoadRows(x, r, 1, as_float, buffer.data());
    double* row_out = out + r * ng * (nf + 1);
    std::fill(row_out, row_out + ng * (nf + 1), 0.0);
    for (std::int64_t g = 0; g < ng; ++g) row_out[g * (nf + 1) + nf] = spec_.base_score[Idx(g)];
    for (std::size_t t = 0; t < tree_root_.size(); ++t) {
      TreeShap(static_cast<std::int64_t>(t), buffer.data(),
               row_out + spec_.tree_group[t] * (nf + 1));
    }
  }
}

void Forest::ContributionsMany(const MatrixView<float>& x, int n_threads, double* out) const {
  ParallelRows(x.rows, n_threads,
               [&](std::int64_t b, std::int64_t e) { ContributionsRange(x, b, e, out); });
}

void Forest::ContributionsMany(const MatrixView<double>& x, int n_threads, double* out) const {
  ParallelRows(x.rows, n_threads,
               [&](std::int64_t b, std::int64_t e) { ContributionsRange(x, b, e, out); });
}

}  // namespace radarcore
