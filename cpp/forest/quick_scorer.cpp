#include "forest/quick_scorer.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>
#include <stdexcept>

#include "common/cpu.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define RADARCORE_HAVE_X86_QUICK_SCORER 1
#endif

namespace radarcore::detail {

namespace {

constexpr int kLanes = kQuickScorerLanes;
// Each feature's thresholds, padded with +inf: 16 blocks of 16, the last of each block a pivot.
constexpr int kPadded = 256;
constexpr int kBlock = 16;
static_assert(kQuickScorerMaxThresholds < kPadded, "the last pivot is always +inf");

std::size_t Idx(std::int64_t i) { return static_cast<std::size_t>(i); }

struct Split {
  std::int32_t feature;
  double threshold;
  bool nan_left;
  std::int32_t lo;  // the left subtree's leaves [lo, hi)
  std::int32_t hi;
  std::int64_t tree;  // within its run
};

// Numbers the leaves of one tree left to right (depth-first, left child first) and records, for
// every internal node, the leaves of its left subtree; returns the number of leaves.
std::int32_t CollectSplits(const QuickScorerTree& tree, std::int64_t slot,
                           std::vector<Split>& splits, std::vector<double>& leaves) {
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
    splits.push_back(Split{tree.split_feature[n], tree.threshold[n], tree.nan_left[n] != 0,
                           first_leaf[Idx(left)], end_leaf[Idx(left)], slot});
  }
  return next_leaf;
}

#if defined(RADARCORE_HAVE_X86_QUICK_SCORER)
// The exit leaf of a byte is its lowest set bit: two nibble tables give its index (a zero nibble
// gives 0, so the low and high lookups can be or-ed); vpshufb looks up within each 16-byte half,
// so both halves hold the table.
alignas(32) constexpr std::uint8_t kLowNibbleBit[32] = {
    0, 0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0};
alignas(32) constexpr std::uint8_t kHighNibbleBit[32] = {
    0, 4, 5, 0, 6, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 4, 5, 0, 6, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0};

__attribute__((target("avx2"))) void ScoreAvx2(const QuickScorer::Entry* begin,
                                               const QuickScorer::Entry* end,
                                               const std::uint8_t* tree_planes,
                                               std::int64_t n_trees, const QuickScorerLine* ranks,
                                               QuickScorerLine* planes, QuickScorerLine* leaf) {
  // AVX2 compares signed bytes: flipping the top bit of both sides orders them as unsigned.
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  for (const QuickScorer::Entry* e = begin; e != end; ++e) {
    const auto* r = reinterpret_cast<const __m256i*>(ranks + e->ranks);
    auto* p = reinterpret_cast<__m256i*>(planes + e->plane);
    const __m256i t = _mm256_set1_epi8(static_cast<char>(e->threshold ^ 0x80));
    const __m256i c = _mm256_set1_epi8(static_cast<char>(e->clear));
    for (int h = 0; h < 2; ++h) {
      const __m256i right = _mm256_cmpgt_epi8(_mm256_xor_si256(_mm256_load_si256(r + h), flip), t);
      _mm256_store_si256(p + h, _mm256_andnot_si256(_mm256_and_si256(right, c),
                                                    _mm256_load_si256(p + h)));
    }
  }
  const __m256i low_table = _mm256_load_si256(reinterpret_cast<const __m256i*>(kLowNibbleBit));
  const __m256i high_table = _mm256_load_si256(reinterpret_cast<const __m256i*>(kHighNibbleBit));
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  const __m256i zero = _mm256_setzero_si256();
  for (std::int64_t t = 0; t < n_trees; ++t) {
    const int n = tree_planes[t];
    for (int h = 0; h < 2; ++h) {
      __m256i exit = zero;
      for (int k = n - 1; k >= 0; --k) {
        const __m256i s = _mm256_load_si256(reinterpret_cast<const __m256i*>(planes + k) + h);
        const __m256i lowest = _mm256_and_si256(s, _mm256_sub_epi8(zero, s));
        const __m256i bit = _mm256_or_si256(
            _mm256_shuffle_epi8(low_table, _mm256_and_si256(lowest, nibble)),
            _mm256_shuffle_epi8(high_table,
                                _mm256_and_si256(_mm256_srli_epi16(lowest, 4), nibble)));
        exit = _mm256_blendv_epi8(_mm256_add_epi8(bit, _mm256_set1_epi8(static_cast<char>(8 * k))),
                                  exit, _mm256_cmpeq_epi8(s, zero));
      }
      _mm256_store_si256(reinterpret_cast<__m256i*>(leaf + t) + h, exit);
    }
    planes += n;
  }
}

// Adds to acc[lane] the value of every tree's exit leaf for every lane, tree after tree, each
// row's sum in tree order as the walker adds it. GCC 12's gather intrinsics start from
// _mm256_undefined_pd(), which its own -Wmaybe-uninitialized then reports at the call.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx2"))) void AddLeavesAvx2(const double* values, const std::int64_t* base,
                                                   std::int64_t n_trees,
                                                   const QuickScorerLine* leaf, double* acc) {
  for (int l = 0; l < kLanes; l += 8) {
    __m256d low = _mm256_loadu_pd(acc + l);
    __m256d high = _mm256_loadu_pd(acc + l + 4);
    for (std::int64_t t = 0; t < n_trees; ++t) {
      const double* v = values + base[t];
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(leaf[t].lane + l));
      low = _mm256_add_pd(low, _mm256_i32gather_pd(v, _mm_cvtepu8_epi32(bytes), 8));
      high = _mm256_add_pd(
          high, _mm256_i32gather_pd(v, _mm_cvtepu8_epi32(_mm_srli_si128(bytes, 4)), 8));
    }
    _mm256_storeu_pd(acc + l, low);
    _mm256_storeu_pd(acc + l + 4, high);
  }
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// A value's rank among a feature's padded thresholds t (ascending): the pivots t[16i + 15] tell
// its block c (how many pivots are below it), then the 16 thresholds of block c the rest; every
// threshold of the blocks before c is below it and none after. NaN is below nothing.
__attribute__((target("avx512f"))) void RankAvx512(const double* t, const double* const* rows,
                                                   std::int32_t column, std::uint8_t* nan_left,
                                                   std::uint8_t* nan_right) {
  alignas(64) double pivots[kBlock];
  for (int i = 0; i < kBlock; ++i) pivots[i] = t[kBlock * i + kBlock - 1];
  const __m512d pivots_low = _mm512_load_pd(pivots);
  const __m512d pivots_high = _mm512_load_pd(pivots + 8);
  for (int l = 0; l < kLanes; ++l) {
    const double value = rows[l][column];
    const __m512d x = _mm512_set1_pd(value);
    const unsigned block = static_cast<unsigned>(
        __builtin_popcount(static_cast<unsigned>(_mm512_cmp_pd_mask(pivots_low, x, _CMP_LT_OQ)) |
                           (static_cast<unsigned>(_mm512_cmp_pd_mask(pivots_high, x, _CMP_LT_OQ))
                            << 8)));
    const double* b = t + kBlock * block;
    const unsigned below = static_cast<unsigned>(__builtin_popcount(
        static_cast<unsigned>(_mm512_cmp_pd_mask(_mm512_loadu_pd(b), x, _CMP_LT_OQ)) |
        (static_cast<unsigned>(_mm512_cmp_pd_mask(_mm512_loadu_pd(b + 8), x, _CMP_LT_OQ)) << 8)));
    const auto r = static_cast<std::uint8_t>(kBlock * block + below);
    nan_left[l] = r;
    nan_right[l] = value != value ? std::uint8_t{255} : r;
  }
}


__attribute__((target("avx2,popcnt"))) unsigned CountBelowAvx2(const double* t, __m256d x) {
  unsigned mask = 0;
  for (int v = 0; v < 4; ++v) {
    mask |= static_cast<unsigned>(
                _mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(t + 4 * v), x, _CMP_LT_OQ)))
            << (4 * v);
  }
  return static_cast<unsigned>(__builtin_popcount(mask));
}

__attribute__((target("avx2,popcnt"))) void RankAvx2(const double* t, const double* const* rows,
                                                     std::int32_t column, std::uint8_t* nan_left,
                                                     std::uint8_t* nan_right) {
  alignas(32) double pivots[kBlock];
  for (int i = 0; i < kBlock; ++i) pivots[i] = t[kBlock * i + kBlock - 1];
  for (int l = 0; l < kLanes; ++l) {
    const double value = rows[l][column];
    const __m256d x = _mm256_set1_pd(value);
    const unsigned block = CountBelowAvx2(pivots, x);
    const unsigned below = CountBelowAvx2(t + kBlock * block, x);
    const auto r = static_cast<std::uint8_t>(kBlock * block + below);
    nan_left[l] = r;
    nan_right[l] = value != value ? std::uint8_t{255} : r;
  }
}
#endif

}  // namespace

QuickScorer::QuickScorer(const std::vector<std::vector<QuickScorerTree>>& runs) {
  using Thresholds = std::map<std::int32_t, std::vector<double>>;  // feature -> sorted, distinct
  auto merge = [](std::vector<double>& into, const std::vector<double>& from) {
    std::vector<double> merged;
    std::set_union(into.begin(), into.end(), from.begin(), from.end(),
                   std::back_inserter(merged));
    into = std::move(merged);
  };
  std::vector<std::vector<Split>> run_splits(runs.size());
  std::vector<Thresholds> domain_thresholds;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    Run run{static_cast<std::int64_t>(leaf_base_.size()),
            static_cast<std::int64_t>(runs[r].size()), 0, 0, 0, 0};
    for (std::size_t t = 0; t < runs[r].size(); ++t) {
      leaf_base_.push_back(static_cast<std::int64_t>(leaf_value_.size()));
      const std::int32_t leaves =
          CollectSplits(runs[r][t], static_cast<std::int64_t>(t), run_splits[r], leaf_value_);
      tree_planes_.push_back(static_cast<std::uint8_t>((leaves + 7) / 8));
      run.n_planes += tree_planes_.back();
    }
    Thresholds own;
    for (const Split& s : run_splits[r]) own[s.feature].push_back(s.threshold);
    for (auto& [feature, values] : own) {
      std::sort(values.begin(), values.end());
      values.erase(std::unique(values.begin(), values.end()), values.end());
      if (values.size() > kQuickScorerMaxThresholds) {
        throw std::invalid_argument("QuickScorer: a run has too many thresholds on a feature");
      }
    }
    // A run joins the previous runs' ranks while every feature still fits.
    bool fits = !domain_thresholds.empty();
    for (const auto& [feature, values] : own) {
      if (!fits) break;
      const auto found = domain_thresholds.back().find(feature);
      if (found == domain_thresholds.back().end()) continue;
      std::vector<double> merged = found->second;
      merge(merged, values);
      fits = merged.size() <= kQuickScorerMaxThresholds;
    }
    if (fits) {
      for (const auto& [feature, values] : own) merge(domain_thresholds.back()[feature], values);
    } else {
      domain_thresholds.push_back(std::move(own));
    }
    run.domain = static_cast<std::int64_t>(domain_thresholds.size()) - 1;
    runs_.push_back(run);
    max_run_size_ = std::max(max_run_size_, run.n_trees);
    max_run_planes_ = std::max(max_run_planes_, run.n_planes);
  }
  // Each feature's rank lines within its domain.
  std::vector<std::map<std::int32_t, std::uint32_t>> feature_line(domain_thresholds.size());
  for (std::size_t d = 0; d < domain_thresholds.size(); ++d) {
    const auto begin = static_cast<std::int64_t>(features_.size());
    for (const auto& [feature, values] : domain_thresholds[d]) {
      feature_line[d][feature] =
          static_cast<std::uint32_t>(2 * (static_cast<std::int64_t>(features_.size()) - begin));
      features_.push_back(Feature{feature, static_cast<std::int64_t>(thresholds_.size())});
      thresholds_.insert(thresholds_.end(), values.begin(), values.end());
      thresholds_.resize(thresholds_.size() + kPadded - values.size(),
                         std::numeric_limits<double>::infinity());
    }
    domains_.push_back(Domain{begin, static_cast<std::int64_t>(features_.size())});
    max_rank_lines_ = std::max(max_rank_lines_, RankLines(static_cast<std::int64_t>(d)));
  }
  for (std::size_t r = 0; r < runs.size(); ++r) {
    Run& run = runs_[r];
    // Plane of each tree's first leaves within the run's state.
    std::vector<std::int64_t> first_plane;
    std::int64_t plane = 0;
    for (std::int64_t t = 0; t < run.n_trees; ++t) {
      first_plane.push_back(plane);
      plane += tree_planes_[Idx(run.first_tree + t)];
    }
    // Splits by feature, thresholds ascending: consecutive updates mostly touch different
    // trees, so they do not wait on each other's stores.
    std::vector<Split>& splits = run_splits[r];
    std::stable_sort(splits.begin(), splits.end(), [](const Split& a, const Split& b) {
      return a.feature != b.feature ? a.feature < b.feature : a.threshold < b.threshold;
    });
    const Thresholds& thresholds = domain_thresholds[Idx(run.domain)];
    run.entries_begin = static_cast<std::int64_t>(entries_.size());
    for (const Split& s : splits) {
      const std::vector<double>& values = thresholds.at(s.feature);
      const auto rank = static_cast<std::uint8_t>(
          std::lower_bound(values.begin(), values.end(), s.threshold) - values.begin());
      const std::uint32_t line = feature_line[Idx(run.domain)][s.feature] + (s.nan_left ? 0 : 1);
      for (std::int32_t k = s.lo / 8; k <= (s.hi - 1) / 8; ++k) {
        const std::int32_t lo = std::max(s.lo, 8 * k) - 8 * k;
        const std::int32_t hi = std::min(s.hi, 8 * k + 8) - 8 * k;
        entries_.push_back(Entry{line, static_cast<std::uint16_t>(first_plane[Idx(s.tree)] + k),
                                 rank,
                                 static_cast<std::uint8_t>(((1u << hi) - 1) & ~((1u << lo) - 1))});
      }
    }
    run.entries_end = static_cast<std::int64_t>(entries_.size());
  }
}

std::int64_t QuickScorer::RankLines(std::int64_t domain) const {
  const Domain& d = domains_[Idx(domain)];
  return 2 * (d.features_end - d.features_begin);
}

std::int64_t QuickScorer::RunDomain(std::int64_t run) const { return runs_[Idx(run)].domain; }

void QuickScorer::AddLeaves(std::int64_t run, const QuickScorerLine* leaf, double* acc) const {
  const Run& r = runs_[Idx(run)];
#if defined(RADARCORE_HAVE_X86_QUICK_SCORER)
  AddLeavesAvx2(leaf_value_.data(), leaf_base_.data() + r.first_tree, r.n_trees, leaf, acc);
#else
  (void)r;
  (void)leaf;
  (void)acc;
#endif
}

QuickScorerIsa QuickScorer::Best() {
  return DetectCpu().avx512f ? QuickScorerIsa::kAvx512 : QuickScorerIsa::kAvx2;
}

std::int64_t QuickScorer::RunSize(std::int64_t run) const { return runs_[Idx(run)].n_trees; }

bool QuickScorer::Supported() {
#if defined(RADARCORE_HAVE_X86_QUICK_SCORER)
  return DetectCpu().avx2;
#else
  return false;
#endif
}

void QuickScorer::Rank(QuickScorerIsa isa, std::int64_t domain, const double* const* rows,
                       QuickScorerLine* ranks) const {
  const Domain& d = domains_[Idx(domain)];
#if defined(RADARCORE_HAVE_X86_QUICK_SCORER)
  auto* rank = isa == QuickScorerIsa::kAvx512 ? &RankAvx512 : &RankAvx2;
  for (std::int64_t f = d.features_begin; f < d.features_end; ++f) {
    const Feature& feature = features_[Idx(f)];
    const std::int64_t line = 2 * (f - d.features_begin);
    rank(thresholds_.data() + feature.thresholds_begin, rows, feature.index, ranks[line].lane,
         ranks[line + 1].lane);
  }
#else
  (void)isa;
  (void)rows;
  (void)ranks;
  (void)d;
#endif
}

void QuickScorer::Score(std::int64_t run, const QuickScorerLine* ranks, QuickScorerLine* planes,
                        QuickScorerLine* leaf) const {
  const Run& r = runs_[Idx(run)];
  std::memset(planes, 0xFF, Idx(r.n_planes) * sizeof(QuickScorerLine));
#if defined(RADARCORE_HAVE_X86_QUICK_SCORER)
  ScoreAvx2(entries_.data() + r.entries_begin, entries_.data() + r.entries_end,
            tree_planes_.data() + r.first_tree, r.n_trees, ranks, planes, leaf);
#else
  (void)ranks;
  (void)leaf;
#endif
}

}  // namespace radarcore::detail
