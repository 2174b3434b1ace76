// QuickScorer (Lucchese et al., SIGIR 2015) for the batch path of Forest, with leaf bitvectors
// kept in byte planes as in RapidScorer (Ye et al., KDD 2018): the trees of a run are scored for
// kQuickScorerLanes rows at once without walking them.
//
// Each tree keeps, per row, one bit per leaf in left-to-right order, all set at first. Every
// split at which the row goes right clears the leaves of its left subtree; the exit leaf is then
// the lowest bit still set. The bits of a tree are stored as planes of bytes, plane k holding
// leaves 8k..8k+7 of all kQuickScorerLanes rows, one byte per row: a split's left subtree is a
// contiguous range of leaves, so it touches one or two planes, not the whole bitvector, and one
// byte compare decides it for every row of the group at once.
//
// Values are compared as ranks: consecutive runs share a rank domain while every feature has at
// most kQuickScorerMaxThresholds distinct thresholds over them, and a value's rank is how many
// of its feature's sorted distinct thresholds in the domain are below it, found in double. A
// row goes right at the split with the j-th threshold exactly when its rank exceeds j, which is
// the walker's `!(x <= threshold)` for every non-NaN value. A NaN ranks 0 (left at every split)
// where the split sends NaN left and 255 (right at every split) where it sends NaN right, so
// each feature has two rank rows.
//
// Internal to cpp/forest; Forest decides which trees qualify and owns the instance.
#pragma once

#include <cstdint>
#include <vector>

namespace radarcore::detail {

// Rows scored together: one byte each in a 64-byte plane.
constexpr int kQuickScorerLanes = 64;
// The most leaves a tree may have (eight planes).
constexpr int kQuickScorerMaxLeaves = 64;
// The most distinct thresholds a feature may have within one rank domain, and so within one run
// (ranks fit a byte, with 255 left for a NaN that goes right).
constexpr int kQuickScorerMaxThresholds = 255;

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

// Which instruction set Rank uses; both give identical results.
enum class QuickScorerIsa : std::uint8_t { kAvx2, kAvx512 };

// A 64-byte aligned line: one plane, or one rank row, of kQuickScorerLanes bytes.
struct alignas(64) QuickScorerLine {
  std::uint8_t lane[kQuickScorerLanes];
};

class QuickScorer {
 public:
  QuickScorer() = default;

  // Scores runs of consecutive trees of the forest, each run together; every tree has at most
  // kQuickScorerMaxLeaves leaves, and every feature at most kQuickScorerMaxThresholds distinct
  // thresholds within a run (std::invalid_argument otherwise).
  explicit QuickScorer(const std::vector<std::vector<QuickScorerTree>>& runs);

  // Whether this CPU can run Rank and Score: x86-64 with AVX2. Elsewhere (ARM64 included) trees
  // are walked; this scorer has no portable version.
  static bool Supported();
  // The instruction set Rank uses where AVX-512 is allowed: AVX-512F where the CPU has it.
  // Score is AVX2 everywhere: an AVX-512BW version measured slower on AMD Zen 4, whose 512-bit
  // operations take two 256-bit halves.
  static QuickScorerIsa Best();

  std::int64_t NumRuns() const { return static_cast<std::int64_t>(runs_.size()); }
  std::int64_t RunSize(std::int64_t run) const;
  std::int64_t MaxRunSize() const { return max_run_size_; }
  // Lines of state Score needs for its largest run.
  std::int64_t MaxRunPlanes() const { return max_run_planes_; }
  // The rank domain whose ranks Score reads for run; the lines of ranks Rank writes for a domain,
  // and the most for any.
  std::int64_t RunDomain(std::int64_t run) const;
  std::int64_t RankLines(std::int64_t domain) const;
  std::int64_t MaxRankLines() const { return max_rank_lines_; }

  // The ranks in domain of kQuickScorerLanes rows (rows[lane] points at a row's values by
  // feature index) into RankLines(domain) lines. Only where Supported(); kAvx512 only where
  // Best() is kAvx512.
  void Rank(QuickScorerIsa isa, std::int64_t domain, const double* const* rows,
            QuickScorerLine* ranks) const;

  // Scores the rows ranked in ranks (in the run's domain) through the trees of run, leaving in
  // leaf[tree_in_run].lane[lane] the exit leaf (0-based, left to right) of each tree for each
  // row; planes is scratch of MaxRunPlanes() lines. Only where Supported().
  void Score(std::int64_t run, const QuickScorerLine* ranks, QuickScorerLine* planes,
             QuickScorerLine* leaf) const;

  // Adds to acc[lane], for each of the kQuickScorerLanes rows, the values of the exit leaves
  // Score left in leaf, tree after tree (a single-output forest's margins). Only where
  // Supported().
  void AddLeaves(std::int64_t run, const QuickScorerLine* leaf, double* acc) const;

  // The value of leaf `leaf` (as Score numbers it) of tree tree_in_run of run.
  double LeafValue(std::int64_t run, std::int64_t tree_in_run, std::uint8_t leaf) const {
    return leaf_value_[static_cast<std::size_t>(
        leaf_base_[static_cast<std::size_t>(runs_[static_cast<std::size_t>(run)].first_tree +
                                            tree_in_run)] +
        leaf)];
  }

  // One plane update: the rows whose rank in rank row `ranks` exceeds `threshold` clear the
  // bits `clear` of plane `plane` (both as line indices).
  struct Entry {
    std::uint32_t ranks;
    std::uint16_t plane;
    std::uint8_t threshold;
    std::uint8_t clear;
  };

 private:
  struct Run {
    std::int64_t first_tree;  // into leaf_base_ and tree_planes_
    std::int64_t n_trees;
    std::int64_t n_planes;
    std::int64_t domain;
    std::int64_t entries_begin;  // into entries_
    std::int64_t entries_end;
  };
  // A feature some split of a domain uses: its index in the rows and its sorted distinct
  // thresholds in the domain, padded with +inf to 256.
  struct Feature {
    std::int32_t index;
    std::int64_t thresholds_begin;  // into thresholds_
  };
  struct Domain {
    std::int64_t features_begin;  // into features_
    std::int64_t features_end;
  };

  std::vector<Run> runs_;
  std::vector<Domain> domains_;
  std::vector<Feature> features_;
  std::vector<double> thresholds_;
  std::vector<Entry> entries_;
  std::vector<std::uint8_t> tree_planes_;  // per tree: its planes (leaves / 8, rounded up)
  std::vector<std::int64_t> leaf_base_;    // per tree: its leaves in leaf_value_
  std::vector<double> leaf_value_;         // leaves left to right
  std::int64_t max_run_size_ = 0;
  std::int64_t max_run_planes_ = 0;
  std::int64_t max_rank_lines_ = 0;
};

}  // namespace radarcore::detail
