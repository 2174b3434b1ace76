// A flat, immutable tree ensemble that reproduces LightGBM and XGBoost predictions exactly.
//
// A ForestSpec is plain data (what an importer produces and what the model file stores); Forest
// validates it once and compiles it into a compact layout. Every Forest method is const and
// allocates nothing shared, so one Forest may be used from any number of threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "forest/quick_scorer.hpp"

namespace radarcore {

// How a model turns summed leaf values (the raw margin) into a prediction.
enum class Objective : std::uint8_t {
  kRegression = 0,  // identity
  kBinary = 1,      // sigmoid(sigmoid_scale * margin)
  kMulticlass = 2,  // softmax over n_groups margins
};

// Whose split semantics the thresholds follow.
enum class SplitRule : std::uint8_t {
  kLightGbm = 0,  // left when x <= threshold, compared in double
  kXgboost = 1,   // left when float(x) < float(threshold)
};

// How a numerical split treats missing values (LightGBM's MissingType; XGBoost is always kNan).
enum class MissingType : std::uint8_t {
  kNone = 0,  // NaN is read as 0.0 and compared like any value
  kZero = 1,  // NaN and |x| <= 1e-35 take the default direction
  kNan = 2,   // NaN takes the default direction
};

// Plain-data description of an ensemble. Trees are stored one after another: tree t owns nodes
// [tree_offsets[t], tree_offsets[t+1]), with node indices local to the tree and node 0 the root.
// A node is a leaf when left_child is -1. For categorical nodes, the category bitset (bit c of
// word c/32 set means category c goes left) is cat_words[cat_offsets[n], cat_offsets[n+1]).
struct ForestSpec {
  std::int32_t n_features = 0;
  std::vector<std::string> feature_names;  // empty, or one per feature
  Objective objective = Objective::kBinary;
  SplitRule split_rule = SplitRule::kLightGbm;
  std::int32_t n_groups = 1;  // outputs per row: number of classes for multiclass, else 1
  double sigmoid_scale = 1.0;
  std::vector<double> base_score;  // margin added per group; empty means zeros

  std::vector<std::int64_t> tree_offsets;  // n_trees + 1
  std::vector<std::int32_t> tree_group;    // n_trees: the output group each tree adds to

  std::vector<std::int32_t> left_child;  // per node, local index or -1 for a leaf
  std::vector<std::int32_t> right_child;
  std::vector<std::int32_t> split_feature;
  std::vector<double> threshold;
  std::vector<std::uint8_t> default_left;
  std::vector<std::uint8_t> missing_type;    // MissingType values
  std::vector<std::uint8_t> is_categorical;  // LightGBM categorical split
  std::vector<double> leaf_value;            // used on leaves
  std::vector<double> cover;                 // training rows (or hessian) through each node
  std::vector<std::int32_t> leaf_id;         // reported by PredictLeaves for leaves
  std::vector<std::int64_t> cat_offsets;     // n_nodes + 1
  std::vector<std::uint32_t> cat_words;
};

// A non-owning view of a dense 2-D input: element (r, c) is at data[r * row_stride + c * col_stride].
template <typename T>
struct MatrixView {
  const T* data = nullptr;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::int64_t row_stride = 0;
  std::int64_t col_stride = 1;
};

// Which kernels to run, for tests and comparisons; every choice gives identical results.
enum class Kernel : std::uint8_t {
  kAuto,    // the fastest the CPU supports (AVX-512, then AVX2, on x86-64)
  kAvx2,    // AVX2 batch kernels even where AVX-512 exists (the portable one without AVX2)
  kScalar,  // the portable walker for every tree: the plain reference the others must match
};

class Forest {
 public:
  // Validates the spec (throws ModelError naming the first inconsistency) and compiles it.
  explicit Forest(ForestSpec spec);

  const ForestSpec& Spec() const { return spec_; }
  std::int32_t NumFeatures() const { return spec_.n_features; }
  std::int32_t NumGroups() const { return spec_.n_groups; }
  std::int64_t NumTrees() const { return static_cast<std::int64_t>(spec_.tree_group.size()); }

  // Scores x.rows rows into out (x.rows * NumGroups(), row-major, caller-owned): raw margins
  // when raw is true, else probabilities (binary, multiclass) or values (regression).
  // x.cols must equal NumFeatures(). n_threads >= 1 threads split the rows.
  void PredictMany(const MatrixView<float>& x, bool raw, int n_threads, double* out,
                   Kernel kernel = Kernel::kAuto) const;
  void PredictMany(const MatrixView<double>& x, bool raw, int n_threads, double* out,
                   Kernel kernel = Kernel::kAuto) const;

  // One contiguous row of NumFeatures() values; out has NumGroups() entries. Always the
  // portable walker, with its lanes on different trees (the fastest for one row).
  void PredictOne(const double* row, bool raw, double* out) const;

  // TreeSHAP contributions as LightGBM's pred_contrib lays them out: for each row and group,
  // NumFeatures() contributions then the bias, so out has x.rows * NumGroups() * (NumFeatures()+1).
  void ContributionsMany(const MatrixView<float>& x, int n_threads, double* out) const;
  void ContributionsMany(const MatrixView<double>& x, int n_threads, double* out) const;

  // The leaf_id of the leaf each row reaches in each tree: out has x.rows * NumTrees() entries.
  void LeavesMany(const MatrixView<float>& x, int n_threads, std::int32_t* out) const;
  void LeavesMany(const MatrixView<double>& x, int n_threads, std::int32_t* out) const;

  // The compact node: 16 bytes. Children of an internal node are adjacent (right = left + 1).
  // A leaf points to itself with threshold +inf and nan_left set, so extra steps stay put.
  struct Node {
    double threshold;
    std::uint32_t feature_flags;  // feature index in the low 28 bits, flags above
    std::uint32_t left;           // index of the left child within the forest's node array
  };

 private:
  // One step of the batch plan: trees [first_tree, end_tree), scored by QuickScorer run
  // quick_run, or walked when quick_run is -1.
  struct PlanStep {
    std::int64_t first_tree;
    std::int64_t end_tree;
    std::int64_t quick_run;
  };

  template <typename T>
  void PredictRange(const MatrixView<T>& x, std::int64_t begin, std::int64_t end, bool raw,
                    Kernel kernel, double* out) const;
  template <typename T>
  void ContributionsRange(const MatrixView<T>& x, std::int64_t begin, std::int64_t end,
                          double* out) const;
  template <typename T>
  void LeavesRange(const MatrixView<T>& x, std::int64_t begin, std::int64_t end,
                   std::int32_t* out) const;
  void Compile();
  void PlanBatch();
  void Finish(const double* margin, bool raw, double* out) const;
  void TreeShap(std::int64_t tree, const double* row, double* phi) const;

  ForestSpec spec_;
  std::vector<Node> nodes_;
  std::vector<double> node_value_;  // leaf value at the leaves of nodes_
  std::vector<std::int32_t> node_leaf_id_;
  std::vector<std::int64_t> node_cat_begin_;  // category words of categorical nodes
  std::vector<std::int64_t> node_cat_end_;
  std::vector<std::uint32_t> spec_to_node_;  // spec node (global index) -> nodes_ index
  std::vector<std::uint32_t> tree_root_;
  std::vector<std::int32_t> tree_depth_;
  std::vector<std::uint8_t> tree_general_;  // needs the categorical / zero-missing decision
  std::vector<double> tree_expected_;       // TreeSHAP bias per tree
  std::vector<PlanStep> plan_;              // the batch path, trees in order
  detail::QuickScorer quick_;
};

}  // namespace radarcore
