#include "forest/quick_scorer.hpp"

#include <algorithm>

#include "common/cpu.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define RADARCORE_HAVE_X86_QUICK_SCORER 1
#endif

namespace radarcore::detail {

namespace {

constexpr int kLanes = kQuickScorerLanes;
static_assert(kLanes % 8 == 0, "a row group fills whole AVX-512 and AVX2 vectors");

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
  constexpr int kVectors = kLanes / 8;
  for (const QuickScorer::Feature* p = begin; p != end; ++p) {
    const QuickScorer::Feature f = *p;  // a local copy: stores to state cannot alias it
    __m512d x[kVectors];
    __mmask8 nan[kVectors];
    unsigned any_nan = 0;
    for (int v = 0; v < kVectors; ++v) {
      x[v] = _mm512_loadu_pd(xt + f.feature * kLanes + 8 * v);
      nan[v] = _mm512_cmp_pd_mask(x[v], x[v], _CMP_UNORD_Q);
      any_nan |= nan[v];
    }
    for (std::int64_t i = f.begin; i < f.end; ++i) {
      const __m512d t = _mm512_set1_pd(threshold[i]);
      __mmask8 right[kVectors];
      unsigned any = 0;
      for (int v = 0; v < kVectors; ++v) {
        right[v] = _mm512_cmp_pd_mask(x[v], t, _CMP_GT_OQ);
        any |= right[v];
      }
      if (any == 0) break;
      const __m512i c = _mm512_set1_epi64(static_cast<long long>(clear[i]));
      std::uint64_t* word = state + slot[i] * kLanes;
      for (int v = 0; v < kVectors; ++v) {
        const __m512i s = _mm512_loadu_si512(word + 8 * v);
        _mm512_storeu_si512(word + 8 * v, _mm512_mask_andnot_epi64(s, right[v], c, s));
      }
    }
    if (any_nan == 0) continue;
    for (std::int64_t i = f.nan_begin; i < f.nan_end; ++i) {
      const __m512i c = _mm512_set1_epi64(static_cast<long long>(nan_clear[i]));
      std::uint64_t* word = state + nan_slot[i] * kLanes;
      for (int v = 0; v < kVectors; ++v) {
        const __m512i s = _mm512_loadu_si512(word + 8 * v);
        _mm512_storeu_si512(word + 8 * v, _mm512_mask_andnot_epi64(s, nan[v], c, s));
      }
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
  constexpr int kVectors = kLanes / 4;
  for (const QuickScorer::Feature* p = begin; p != end; ++p) {
    const QuickScorer::Feature f = *p;  // a local copy: stores to state cannot alias it
    __m256d x[kVectors];
    __m256i nan[kVectors];
    __m256i any_nan = _mm256_setzero_si256();
    for (int v = 0; v < kVectors; ++v) {
      x[v] = _mm256_loadu_pd(xt + f.feature * kLanes + 4 * v);
      nan[v] = _mm256_castpd_si256(_mm256_cmp_pd(x[v], x[v], _CMP_UNORD_Q));
      any_nan = _mm256_or_si256(any_nan, nan[v]);
    }
    for (std::int64_t i = f.begin; i < f.end; ++i) {
      const __m256d t = _mm256_set1_pd(threshold[i]);
      __m256i right[kVectors];
      __m256i any = _mm256_setzero_si256();
      for (int v = 0; v < kVectors; ++v) {
        right[v] = _mm256_castpd_si256(_mm256_cmp_pd(x[v], t, _CMP_GT_OQ));
        any = _mm256_or_si256(any, right[v]);
      }
      if (_mm256_testz_si256(any, any) != 0) break;
      const __m256i c = _mm256_set1_epi64x(static_cast<long long>(clear[i]));
      auto* word = reinterpret_cast<__m256i*>(state + slot[i] * kLanes);
      for (int v = 0; v < kVectors; ++v) {
        _mm256_storeu_si256(word + v, _mm256_andnot_si256(_mm256_and_si256(right[v], c),
                                                          _mm256_loadu_si256(word + v)));
      }
    }
    if (_mm256_testz_si256(any_nan, any_nan) != 0) continue;
    for (std::int64_t i = f.nan_begin; i < f.nan_end; ++i) {
      const __m256i c = _mm256_set1_epi64x(static_cast<long long>(nan_clear[i]));
      auto* word = reinterpret_cast<__m256i*>(state + nan_slot[i] * kLanes);
      for (int v = 0; v < kVectors; ++v) {
        _mm256_storeu_si256(word + v, _mm256_andnot_si256(_mm256_and_si256(nan[v], c),
                                                          _mm256_loadu_si256(word + v)));
      }
    }
  }
}
#endif

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

bool QuickScorer::Supported() {
#if defined(RADARCORE_HAVE_X86_QUICK_SCORER)
  return DetectCpu().avx2;
#else
  return false;
#endif
}

void QuickScorer::Score(QuickScorerIsa isa, std::int64_t run, const double* xt,
                        std::uint64_t* state) const {
  const Run& r = runs_[Idx(run)];
  std::fill(state, state + r.n_trees * kLanes, ~std::uint64_t{0});
#if defined(RADARCORE_HAVE_X86_QUICK_SCORER)
  auto* score = isa == QuickScorerIsa::kAvx512 ? &ScoreAvx512 : &ScoreAvx2;
  score(features_.data() + r.features_begin, features_.data() + r.features_end,
        threshold_.data(), clear_.data(), slot_.data(), nan_clear_.data(), nan_slot_.data(), xt,
        state);
#else
  (void)isa;
  (void)xt;
#endif
}

}  // namespace radarcore::detail
