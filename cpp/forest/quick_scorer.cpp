#include "forest/quick_scorer.hpp"

#include <algorithm>
#include <cmath>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define RADARCORE_HAVE_X86_QUICK_SCORER 1
#endif

namespace radarcore::detail {

namespace {

constexpr int kLanes = kQuickScorerLanes;

std::size_t Idx(std::int64_t i) { return static_cast<std::size_t>(i); }

struct Split {
  std::int32_t feature;
  double threshold;
  bool nan_left;
  std::uint64_t clear;
  std::uint32_t slot;
};

// Numbers the leaves of one tree left to right (depth-first, left child first) and records, for
// every internal node, the leaves of its left subtree as a bit mask.
void CollectSplits(const QuickScorerTree& tree, std::uint32_t slot, std::vector<Split>& splits,
                   std::vector<double>& leaves) {
  struct Frame {
    std::int32_t node;
    bool expanded;
  };
  std::vector<std::int32_t> first_leaf(Idx(tree.n_nodes), 0);
  std::vector<std::int32_t> end_leaf(Idx(tree.n_nodes), 0);
  std::vector<Frame> stack{{0, false}};
  std::int32_t next_leaf = 0;
  while (!stack.empty()) {
    const Frame frame = stack.back();
    stack.pop_back();
    const auto n = Idx(frame.node);
    const std::int32_t left = tree.left_child[n];
    const std::int32_t right = tree.right_child[n];
    if (left == -1) {
      first_leaf[n] = next_leaf;
      end_leaf[n] = ++next_leaf;
      leaves.push_back(tree.leaf_value[n]);
      continue;
    }
    if (!frame.expanded) {
      stack.push_back({frame.node, true});
      stack.push_back({right, false});
      stack.push_back({left, false});
      continue;
    }
    first_leaf[n] = first_leaf[Idx(left)];
    end_leaf[n] = end_leaf[Idx(right)];
    const std::int32_t lo = first_leaf[Idx(left)];
    const std::int32_t hi = end_leaf[Idx(left)];
    const std::uint64_t below_hi = hi == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << hi) - 1;
    const std::uint64_t below_lo = (std::uint64_t{1} << lo) - 1;
    splits.push_back(Split{tree.split_feature[n], tree.threshold[n], tree.nan_left[n] != 0,
                           below_hi & ~below_lo, slot});
  }
}

#if defined(RADARCORE_HAVE_X86_QUICK_SCORER)
// GCC 12's AVX-512 headers start intrinsics from _mm512_undefined_*(), which its own
// -Wuninitialized then reports at every call site.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f"))) void ScoreAvx512(const QuickScorer::Feature* begin,
                                                    const QuickScorer::Feature* end,
                                                    const double* threshold,
                                                    const std::uint64_t* clear,
                                                    const std::uint32_t* slot,
                                                    const std::uint64_t* nan_clear,
                                                    const std::uint32_t* nan_slot,
                                                    const double* xt, std::uint64_t* state) {
  for (const QuickScorer::Feature* f = begin; f != end; ++f) {
    const __m512d x = _mm512_loadu_pd(xt + f->feature * kLanes);
    for (std::int64_t i = f->begin; i < f->end; ++i) {
      const __mmask8 right = _mm512_cmp_pd_mask(x, _mm512_set1_pd(threshold[i]), _CMP_GT_OQ);
      if (right == 0) break;
      std::uint64_t* word = state + slot[i] * kLanes;
      const __m512i s = _mm512_loadu_si512(word);
      _mm512_storeu_si512(word, _mm512_mask_andnot_epi64(
                                    s, right, _mm512_set1_epi64(static_cast<long long>(clear[i])), s));
    }
    const __mmask8 nan = _mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q);
    if (nan == 0) continue;
    for (std::int64_t i = f->nan_begin; i < f->nan_end; ++i) {
      std::uint64_t* word = state + nan_slot[i] * kLanes;
      const __m512i s = _mm512_loadu_si512(word);
      _mm512_storeu_si512(word, _mm512_mask_andnot_epi64(
                                    s, nan, _mm512_set1_epi64(static_cast<long long>(nan_clear[i])), s));
    }
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

__attribute__((target("avx2"))) void ScoreAvx2(const QuickScorer::Feature* begin,
                                               const QuickScorer::Feature* end,
                                               const double* threshold,
                                               const std::uint64_t* clear,
                                               const std::uint32_t* slot,
                                               const std::uint64_t* nan_clear,
                                               const std::uint32_t* nan_slot, const double* xt,
                                               std::uint64_t* state) {
  for (const QuickScorer::Feature* f = begin; f != end; ++f) {
    const __m256d x0 = _mm256_loadu_pd(xt + f->feature * kLanes);
    const __m256d x1 = _mm256_loadu_pd(xt + f->feature * kLanes + 4);
    for (std::int64_t i = f->begin; i < f->end; ++i) {
      const __m256d t = _mm256_set1_pd(threshold[i]);
      const __m256i right0 = _mm256_castpd_si256(_mm256_cmp_pd(x0, t, _CMP_GT_OQ));
      const __m256i right1 = _mm256_castpd_si256(_mm256_cmp_pd(x1, t, _CMP_GT_OQ));
      const __m256i either = _mm256_or_si256(right0, right1);
      if (_mm256_testz_si256(either, either) != 0) break;
      const __m256i c = _mm256_set1_epi64x(static_cast<long long>(clear[i]));
      auto* word = reinterpret_cast<__m256i*>(state + slot[i] * kLanes);
      _mm256_storeu_si256(word, _mm256_andnot_si256(_mm256_and_si256(right0, c),
                                                    _mm256_loadu_si256(word)));
      _mm256_storeu_si256(word + 1, _mm256_andnot_si256(_mm256_and_si256(right1, c),
                                                        _mm256_loadu_si256(word + 1)));
    }
    const __m256i nan0 = _mm256_castpd_si256(_mm256_cmp_pd(x0, x0, _CMP_UNORD_Q));
    const __m256i nan1 = _mm256_castpd_si256(_mm256_cmp_pd(x1, x1, _CMP_UNORD_Q));
    const __m256i any_nan = _mm256_or_si256(nan0, nan1);
    if (_mm256_testz_si256(any_nan, any_nan) != 0) continue;
    for (std::int64_t i = f->nan_begin; i < f->nan_end; ++i) {
      const __m256i c = _mm256_set1_epi64x(static_cast<long long>(nan_clear[i]));
      auto* word = reinterpret_cast<__m256i*>(state + nan_slot[i] * kLanes);
      _mm256_storeu_si256(word, _mm256_andnot_si256(_mm256_and_si256(nan0, c),
                                                    _mm256_loadu_si256(word)));
      _mm256_storeu_si256(word + 1, _mm256_andnot_si256(_mm256_and_si256(nan1, c),
                                                        _mm256_loadu_si256(word + 1)));
    }
  }
}
#endif

// Lane by lane: each lane's scan branches only at its own end, which a CPU predicts well.
void ScorePortable(const QuickScorer::Feature* begin, const QuickScorer::Feature* end,
                   const double* threshold, const std::uint64_t* clear, const std::uint32_t* slot,
                   const std::uint64_t* nan_clear, const std::uint32_t* nan_slot, const double* xt,
                   std::uint64_t* state) {
  for (const QuickScorer::Feature* f = begin; f != end; ++f) {
    for (int lane = 0; lane < kLanes; ++lane) {
      const double x = xt[f->feature * kLanes + lane];
      std::uint64_t* words = state + lane;
      if (std::isnan(x)) {
        for (std::int64_t i = f->nan_begin; i < f->nan_end; ++i) {
          words[nan_slot[i] * kLanes] &= ~nan_clear[i];
        }
        continue;
      }
      for (std::int64_t i = f->begin; i < f->end && x > threshold[i]; ++i) {
        words[slot[i] * kLanes] &= ~clear[i];
      }
    }
  }
}

}  // namespace

std::int64_t QuickScorer::AddRun(const std::vector<QuickScorerTree>& trees) {
  std::vector<Split> splits;
  for (std::size_t t = 0; t < trees.size(); ++t) {
    leaf_base_.push_back(static_cast<std::int64_t>(leaf_value_.size()));
    CollectSplits(trees[t], static_cast<std::uint32_t>(t), splits, leaf_value_);
  }
  leaf_value_.resize(leaf_value_.size() + kQuickScorerMaxLeaves, 0.0);
  std::stable_sort(splits.begin(), splits.end(), [](const Split& a, const Split& b) {
    return a.feature != b.feature ? a.feature < b.feature : a.threshold < b.threshold;
  });
  Run run{static_cast<std::int64_t>(leaf_base_.size() - trees.size()),
          static_cast<std::int64_t>(trees.size()), static_cast<std::int64_t>(features_.size()), 0};
  for (std::size_t i = 0; i < splits.size();) {
    std::size_t j = i;
    while (j < splits.size() && splits[j].feature == splits[i].feature) ++j;
    Feature feature{splits[i].feature, static_cast<std::int64_t>(threshold_.size()), 0,
                    static_cast<std::int64_t>(nan_clear_.size()), 0};
    for (std::size_t k = i; k < j; ++k) {
      threshold_.push_back(splits[k].threshold);
      clear_.push_back(splits[k].clear);
      slot_.push_back(splits[k].slot);
      if (!splits[k].nan_left) {
        nan_clear_.push_back(splits[k].clear);
        nan_slot_.push_back(splits[k].slot);
      }
    }
    feature.end = static_cast<std::int64_t>(threshold_.size());
    feature.nan_end = static_cast<std::int64_t>(nan_clear_.size());
    features_.push_back(feature);
    i = j;
  }
  run.features_end = static_cast<std::int64_t>(features_.size());
  runs_.push_back(run);
  max_run_size_ = std::max(max_run_size_, run.n_trees);
  return static_cast<std::int64_t>(runs_.size()) - 1;
}

std::int64_t QuickScorer::RunSize(std::int64_t run) const { return runs_[Idx(run)].n_trees; }

void QuickScorer::Score(QuickScorerIsa isa, std::int64_t run, const double* xt,
                        std::uint64_t* state) const {
  const Run& r = runs_[Idx(run)];
  std::fill(state, state + r.n_trees * kLanes, ~std::uint64_t{0});
  const Feature* begin = features_.data() + r.features_begin;
  const Feature* end = features_.data() + r.features_end;
  auto* score = &ScorePortable;
#if defined(RADARCORE_HAVE_X86_QUICK_SCORER)
  if (isa == QuickScorerIsa::kAvx512) score = &ScoreAvx512;
  if (isa == QuickScorerIsa::kAvx2) score = &ScoreAvx2;
#else
  (void)isa;
#endif
  score(begin, end, threshold_.data(), clear_.data(), slot_.data(), nan_clear_.data(),
        nan_slot_.data(), xt, state);
}

}  // namespace radarcore::detail
