// QuickScorer (Lucchese et al., SIGIR 2015) for the batch path of Forest: the trees of a run are
// scored for kQuickScorerLanes rows at once without walking them.
//
// Each tree of a run keeps, per row, a 64-bit word with one bit per leaf in left-to-right order,
// all set at first. Every split at which the row goes right clears the leaves of its left
// subtree; the exit leaf is then the lowest bit still set. The splits are visited feature by
// feature with their thresholds in ascending order, so for a value x the splits it goes right
// at (x > threshold) are a prefix of the list and the scan stops at the first one it does not:
// no branch depends on tree structure and consecutive updates are independent. A NaN value goes
// left at every split of that prefix scan (an ordered compare is false), and a second list per
// feature holds the splits where NaN goes right instead, applied to the rows whose value is NaN.
// Results are exact: the decision at every split is the walker's `x <= threshold` in double.
//
// Internal to cpp/forest; Forest decides which trees qualify and owns the instance.
#pragma once

#include <cstdint>
#include <vector>

namespace radarcore::detail {

// Rows scored together; their values are fed feature-major: xt[feature * kQuickScorerLanes + lane].
constexpr int kQuickScorerLanes = 16;
// The most leaves a tree may have (one bit each in a 64-bit word).
constexpr int kQuickScorerMaxLeaves = 64;

// Which instruction set a scoring call uses; both give identical results.
enum class QuickScorerIsa : std::uint8_t { kAvx2, kAvx512 };

// One tree as the scorer needs it, nodes in the spec's local numbering (node 0 the root, a leaf
// when left_child is -1). Numerical splits only: the row goes right when !(x <= threshold), a
// NaN goes left exactly when nan_left is set.
struct QuickScorerTree {
  const std::int32_t* left_child;
  const std::int32_t* right_child;
  const std::int32_t* split_feature;
  const double* threshold;       // per node; any value but NaN on internal nodes
  const std::uint8_t* nan_left;  // per node
  const double* leaf_value;      // per node, read on leaves
  std::int64_t n_nodes;
};

class QuickScorer {
 public:
  QuickScorer() = default;

  // Adds a run of consecutive trees of the forest (each with at most kQuickScorerMaxLeaves
  // leaves); returns its index. The run's trees are scored together by Score.
  std::int64_t AddRun(const std::vector<QuickScorerTree>& trees);

  // Whether this CPU can run Score: x86-64 with AVX2. Elsewhere trees are walked, which measured
  // faster than a portable QuickScorer.
  static bool Supported();

  std::int64_t NumRuns() const { return static_cast<std::int64_t>(runs_.size()); }
  std::int64_t RunSize(std::int64_t run) const;
  std::int64_t MaxRunSize() const { return max_run_size_; }

  // Scores kQuickScorerLanes rows (feature-major values xt) through the trees of run, leaving
  // in state[tree_in_run * kQuickScorerLanes + lane] each tree's leaf word for each row. Only
  // where Supported(); kAvx512 needs AVX-512F.
  void Score(QuickScorerIsa isa, std::int64_t run, const double* xt, std::uint64_t* state) const;

  // The value of the leaf a leaf word of tree tree_in_run of run names.
  double LeafValue(std::int64_t run, std::int64_t tree_in_run, std::uint64_t word) const {
    // Bit 63 keeps the index in range whatever the word; a real exit leaf is always lower or it.
    return leaf_value_[static_cast<std::size_t>(
        leaf_base_[static_cast<std::size_t>(runs_[static_cast<std::size_t>(run)].first_tree +
                                            tree_in_run)] +
        __builtin_ctzll(word | (std::uint64_t{1} << 63)))];
  }

  // The splits on one feature within a run: [begin, end) ascending by threshold in the split
  // arrays, [nan_begin, nan_end) the splits where NaN goes right.
  struct Feature {
    std::int32_t feature;
    std::int64_t begin;
    std::int64_t end;
    std::int64_t nan_begin;
    std::int64_t nan_end;
  };

 private:
  struct Run {
    std::int64_t first_tree;  // into leaf_base_
    std::int64_t n_trees;
    std::int64_t features_begin;  // into features_
    std::int64_t features_end;
  };

  std::vector<Run> runs_;
  std::vector<Feature> features_;
  std::vector<double> threshold_;
  std::vector<std::uint64_t> clear_;  // the left subtree's leaves, cleared when the row goes right
  std::vector<std::uint32_t> slot_;   // tree within its run
  std::vector<std::uint64_t> nan_clear_;
  std::vector<std::uint32_t> nan_slot_;
  std::vector<std::int64_t> leaf_base_;  // per tree added: its leaves in leaf_value_
  std::vector<double> leaf_value_;       // leaves left to right, then kQuickScorerMaxLeaves zeros
  std::int64_t max_run_size_ = 0;
};

}  // namespace radarcore::detail
