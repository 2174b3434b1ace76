#include "velocity/velocity_state.hpp"

#if __has_include(<sys/mman.h>)
#include <sys/mman.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "common/errors.hpp"
#include "features/text.hpp"

namespace radarcore {
namespace {

// Version 2 changed only the checksum (SnapshotChecksum); version 1 snapshots (HashBytes of the
// body) are still read.
constexpr uint32_t kSnapshotVersion = 2;
constexpr uint32_t kSnapshotVersionSingleChain = 1;
constexpr char kSnapshotMagic[4] = {'R', 'C', 'V', 'S'};

// The snapshot's checksum: HashBytes's step over four interleaved 8-byte lanes, so the lanes'
// multiplications overlap (one dependent chain over the body was ~0.55 ns a byte, 80 % of a
// snapshot's time), then HashBytes of the tail seeded with the lanes.
uint64_t SnapshotChecksum(std::string_view body) {
  constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
  const auto* p = reinterpret_cast<const unsigned char*>(body.data());
  const size_t n = body.size();
  uint64_t lanes[4];
  for (uint64_t l = 0; l < 4; ++l) lanes[l] = Mix64((static_cast<uint64_t>(n) + l) * kGolden);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (size_t l = 0; l < 4; ++l) lanes[l] = Mix64(lanes[l] ^ LoadLe64(p + i + 8 * l)) * kGolden;
  }
  const uint64_t seed = Mix64(lanes[0] ^ Mix64(lanes[1] ^ Mix64(lanes[2] ^ Mix64(lanes[3]))));
  return HashBytes(body.substr(i), seed);
}

// Charge buckets a kind keeps: device and merchant feed only hourly and daily model features.
int64_t BucketHorizonHours(EntityKind kind) {
  return (kind == EntityKind::kDevice || kind == EntityKind::kMerchant) ? 25 : 169;
}

// glibc's malloc chunk for a request of n bytes, so MemoryBytes matches what the process pays.
size_t HeapBytes(size_t n) {
  if (n == 0) return 0;
  return std::max<size_t>(32, (n + 8 + 15) / 16 * 16);
}

// Writes little-endian values into a buffer the caller sized beforehand (the snapshot's size is
// computed first, so serialising is one pass of stores, with no reallocation or copy).
class Writer {
 public:
  explicit Writer(uint8_t* out) : out_(out) {}
  void U8(uint8_t v) { *out_++ = v; }
  void U32(uint32_t v) { Le(v); }
  void U64(uint64_t v) { Le(v); }
  void F64(double v) {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    U64(bits);
  }
  uint8_t* position() const { return out_; }

 private:
  template <class T>
  void Le(T v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    if constexpr (sizeof(T) == 4) v = __builtin_bswap32(v);
    if constexpr (sizeof(T) == 8) v = __builtin_bswap64(v);
#endif
    std::memcpy(out_, &v, sizeof v);
    out_ += sizeof v;
  }
  uint8_t* out_;
};

// Snapshot layout sizes: the header (magic, version, ttl, clock, next sweep, entity count),
// an entity's fixed part (key, kind, three times, all_time, three amounts, two array lengths),
// one bucket, one item, the checksum.
constexpr size_t kHeaderBytes = 4 + 4 + 8 + 8 + 8 + 8;
constexpr size_t kEntityBytes = 8 + 1 + 4 * 3 + 4 * 4 + 8 * 3 + 4 + 4;
constexpr size_t kBucketBytes = 4 + 4 * 4;
constexpr size_t kItemBytes = 8 + 4 + 1;
constexpr size_t kChecksumBytes = 8;

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t U8() {
    Need(1);
    return data_[pos_++];
  }
  uint32_t U32() {
    Need(4);
    uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | data_[pos_ + static_cast<size_t>(i)];
    pos_ += 4;
    return v;
  }
  uint64_t U64() {
    Need(8);
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | data_[pos_ + static_cast<size_t>(i)];
    pos_ += 8;
    return v;
  }
  double F64() {
    const uint64_t bits = U64();
    double v = 0;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  size_t remaining() const { return size_ - pos_; }

 private:
  void Need(size_t n) const {
    if (size_ - pos_ < n) throw SchemaError("velocity snapshot: truncated");
  }
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace

void LargeFree::operator()(unsigned char* p) const noexcept { std::free(p); }

LargeBlock AllocateLarge(size_t bytes) {
  if (bytes < kHugePageBytes) {
    auto* p = static_cast<unsigned char*>(std::malloc(bytes == 0 ? 1 : bytes));
    if (p == nullptr) throw std::bad_alloc();
    return LargeBlock(p);
  }
  const size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  auto* p = static_cast<unsigned char*>(std::aligned_alloc(kHugePageBytes, rounded));
  if (p == nullptr) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
  // Only whole huge pages of what was asked for: a tail that is never touched costs nothing.
  madvise(p, bytes / kHugePageBytes * kHugePageBytes, MADV_HUGEPAGE);  // a hint, may fail
#endif
  return LargeBlock(p);
}

VelocityState::VelocityState(VelocityConfig config) : config_(config) {
  if (config_.ttl_seconds <= 0) throw SchemaError("velocity ttl_seconds must be positive");
  slots_.assign(1024, Slot{0, 0});
}

void VelocityState::Rehash(size_t capacity) {
  slots_.assign(capacity, Slot{0, 0});
  const size_t mask = capacity - 1;
  for (size_t k = 0; k < entities_.size(); ++k) {
    const uint64_t key = entities_[k].key;
    size_t i = static_cast<size_t>(key) & mask;
    while (slots_[i].index != 0) i = (i + 1) & mask;
    slots_[i] = Slot{Tag(key), static_cast<uint32_t>(k + 1)};
  }
}

namespace {

// Every cache line of [begin, end), at most kMaxLines of them from the end backwards (Count
// reads buckets newest first; longer arrays belong to busy entities, mostly cached anyway).
void PrefetchRange(const void* begin, const void* end) {
  constexpr uintptr_t kLine = 64;
  constexpr uintptr_t kMaxLines = 6;
  const auto first = reinterpret_cast<uintptr_t>(begin) & ~(kLine - 1);
  const auto last = reinterpret_cast<uintptr_t>(end) - 1;
  for (uintptr_t line = last & ~(kLine - 1), n = 0; line >= first && n < kMaxLines;
       line -= kLine, ++n) {
    __builtin_prefetch(reinterpret_cast<const void*>(line));
  }
}

}  // namespace

void VelocityState::PrefetchArrays(const Entity* entity) {
  if (entity == nullptr) return;
  if (!entity->buckets.empty()) PrefetchRange(entity->buckets.begin(), entity->buckets.end());
  if (!entity->items.empty()) PrefetchRange(entity->items.begin(), entity->items.end());
}

Entity* VelocityState::FindOrInsertKey(EntityKind kind, uint64_t key, bool* inserted) {
  if (key == 0) return nullptr;
  size_t i = SlotOf(key);
  if (slots_[i].index != 0) return &entities_[slots_[i].index - 1];
  if (inserted != nullptr) *inserted = true;
  if ((entities_.size() + 1) * 4 > slots_.size() * 3) {
    Rehash(slots_.size() * 2);
    i = SlotOf(key);
  }
  Entity& entity = entities_.EmplaceBack();
  entity.key = key;
  entity.kind = kind;
  slots_[i] = Slot{Tag(key), static_cast<uint32_t>(entities_.size())};
  return &entity;
}

int64_t VelocityState::Advance(int64_t t) {
  clock_ = std::max(clock_, t);
  if (clock_ >= next_sweep_) {
    Expire(clock_);
    // Idle entities already read as unseen, so sweeping is only about memory: a few times per
    // time-to-live is enough, and whole days keep the schedule independent of event spacing.
    const int64_t period = std::max<int64_t>(86400, config_.ttl_seconds / 8 / 86400 * 86400);
    next_sweep_ = (clock_ / period + 1) * period;
  }
  return clock_;
}

namespace {

// Four uint32 lanes (GCC/Clang vector extension: SSE2 on x86-64, NEON on ARM64).
using Counts4 = uint32_t __attribute__((vector_size(16)));

// Zeroes *out with 16-byte stores: `*out = EntityCounts{}` compiles to `rep stos`, whose start-up
// cost was a tenth of Count's time (eight calls per payment).
void ZeroCounts(EntityCounts* out) {
  static_assert(sizeof(EntityCounts) % sizeof(Counts4) == 0, "whole vectors");
  auto* lanes = reinterpret_cast<unsigned char*>(out);
  const Counts4 zero{};
#pragma GCC unroll 16
  for (size_t i = 0; i < sizeof(EntityCounts); i += sizeof(Counts4)) {
    std::memcpy(lanes + i, &zero, sizeof zero);
  }
}

}  // namespace

void VelocityState::Count(const Entity* entity, int64_t t, EntityCounts* out) {
  ZeroCounts(out);
  if (entity == nullptr) return;
  out->charges[kAllTime] = entity->all_time;
  // Window starts as 5-minute units, so the loop compares and never divides.
  const int64_t now5 = t / 300;
  const int64_t hourly_start = now5 - (kWindowSpecs[kHourly].buckets - 1);
  const int64_t daily_start = (t / 3600 - (kWindowSpecs[kDaily].buckets - 1)) * 12;
  const int64_t weekly_start = (t / 3600 - (kWindowSpecs[kWeekly].buckets - 1)) * 12;
  // The windows nest, so each bucket is added (four counters in one vector add) to the narrowest
  // window it counts in, and the wider windows are sums of the narrower ones. Accumulating in
  // locals keeps the sums in registers (stores to *out could alias the buckets).
  Counts4 hourly{};
  Counts4 daily_only{};
  Counts4 weekly_only{};
  for (uint32_t i = entity->buckets.size(); i > 0; --i) {
    const Bucket& b = entity->buckets[i - 1];
    const int64_t unit = b.unit;
    if (unit < weekly_start) break;
    Counts4 counts;
    std::memcpy(&counts, b.counts.data(), sizeof counts);
    if (unit < daily_start) {
      weekly_only += counts;
    } else if (unit < hourly_start) {
      daily_only += counts;
    } else {
      hourly += counts;
    }
  }
  const Counts4 daily = hourly + daily_only;
  const Counts4 weekly = daily + weekly_only;
  std::memcpy(out->charges[kHourly].data(), &hourly, sizeof hourly);
  std::memcpy(out->charges[kDaily].data(), &daily, sizeof daily);
  std::memcpy(out->charges[kWeekly].data(), &weekly, sizeof weekly);
  if (entity->items.empty()) return;
  // Item times are uint32 seconds, so the four bounded windows are tested in one unsigned
  // vector compare (a window starting before 0 counts every item); all_time counts them all.
  static_assert(kAllTime == 4 && kNumWindows == 5, "the vector compare covers windows 0-3");
  Counts4 start;
  for (int w = 0; w < kAllTime; ++w) {
    start[w] = static_cast<uint32_t>(std::max<int64_t>(0, WindowStart(t, w)));
  }
  for (const Item& item : entity->items) {
    auto& counts = out->families[item.family];
    Counts4 sums;
    std::memcpy(&sums, counts.data(), sizeof sums);
    const Counts4 time = Counts4{} + item.time;
    sums -= reinterpret_cast<Counts4>(time >= start);  // true is all ones, i.e. -1
    std::memcpy(counts.data(), &sums, sizeof sums);
    ++counts[kAllTime];
  }
}

bool VelocityState::HasItem(const Entity* entity, Family family, uint64_t value) {
  if (entity == nullptr) return false;
  for (const Item& item : entity->items) {
    if (item.family == family && item.value == value) return true;
  }
  return false;
}

void VelocityState::Compact(Entity* entity, int64_t t) {
  // Most calls are the first charge of a new entity (its array is full at size 0): nothing to do.
  if (entity->buckets.empty() && entity->items.empty()) return;
  const int64_t now5 = t / 300;
  const int64_t now_hour = t / 3600;
  const int64_t horizon = BucketHorizonHours(entity->kind);
  PoolVec<Bucket>& buckets = entity->buckets;
  const uint32_t size = buckets.size();
  // Buckets are in time order, so the ones past the horizon are a prefix, and after them come
  // the ones out of the hourly window (hour-aligned once compacted) and then the hourly window's.
  // Only a bucket out of the hourly window that is not yet hour-aligned changes: up to the first
  // one, buckets only move down past the dropped prefix. (A busy entity compacts at each new
  // bucket once its array is full; this keeps that from rewriting the whole array each time.)
  uint32_t dropped = 0;
  while (dropped < size && now_hour - static_cast<int64_t>(buckets[dropped].unit / 12) >= horizon) {
    ++dropped;
  }
  uint32_t r = dropped;
  while (r < size) {
    if (now5 - static_cast<int64_t>(buckets[r].unit) < 13) {
      r = size;  // the hourly window's buckets never change
      break;
    }
    if (buckets[r].unit % 12 != 0) break;  // the first to align (and maybe merge)
    ++r;
  }
  if (dropped > 0) {
    std::memmove(static_cast<void*>(buckets.begin()), buckets.begin() + dropped,
                 sizeof(Bucket) * (r - dropped));
  }
  uint32_t w = r - dropped;
  for (; r < size; ++r) {
    Bucket b = buckets[r];
    // Out of the hourly window for good: only its hour matters from now on.
    if (now5 - static_cast<int64_t>(b.unit) >= 13) b.unit -= b.unit % 12;
    if (w > 0 && buckets[w - 1].unit == b.unit) {
      for (size_t c = 0; c < 4; ++c) buckets[w - 1].counts[c] += b.counts[c];
    } else {
      buckets[w++] = b;
    }
  }
  buckets.resize_down(w);
  PoolVec<Item>& items = entity->items;
  const auto expired = [t](const Item& item) {
    const bool yearly_only = item.family == kFamilyCustomers || item.family == kFamilyFraudCustomers;
    return yearly_only && !InWindow(t, item.time, kYearly);
  };
  uint32_t kept = 0;
  while (kept < items.size() && !expired(items[kept])) ++kept;
  for (uint32_t i = kept; i < items.size(); ++i) {
    if (!expired(items[i])) items[kept++] = items[i];
  }
  items.resize_down(kept);
}

void VelocityState::AddCharge(Entity* entity, int64_t t, int outcome_counter, bool total) {
  const auto unit = static_cast<uint32_t>(t / 300);
  if (entity->buckets.empty() || entity->buckets.back().unit != unit) {
    // Compacting only when the array is full keeps the cost amortised O(1) and the memory
    // bounded; Count reads compacted and uncompacted buckets alike.
    if (entity->buckets.size() == entity->buckets.capacity()) Compact(entity, t);
    entity->buckets.push_back(Bucket{unit, {0, 0, 0, 0}}, &arrays_);
  }
  Bucket& bucket = entity->buckets.back();
  if (outcome_counter >= 0) {
    ++bucket.counts[static_cast<size_t>(outcome_counter)];
    ++entity->all_time[static_cast<size_t>(outcome_counter)];
  }
  if (total) {
    ++bucket.counts[kCountTotal];
    ++entity->all_time[kCountTotal];
  }
}

void VelocityState::TouchItem(Entity* entity, Family family, uint64_t value, int64_t t) {
  const auto time = static_cast<uint32_t>(t);
  PoolVec<Item>& items = entity->items;
  uint32_t members = 0;
  uint32_t oldest = 0;
  for (uint32_t i = 0; i < items.size(); ++i) {
    Item& item = items[i];
    if (item.family != family) continue;
    if (item.value == value) {
      item.time = time;
      return;
    }
    if (members == 0 || item.time < items[oldest].time) oldest = i;
    ++members;
  }
  if (members >= kDistinctCap) {
    items[oldest] = Item{value, time, family};
  } else {
    items.push_back(Item{value, time, family}, &arrays_);
  }
}

void VelocityState::Reset(Entity* entity) {
  entity->buckets.release(&arrays_);
  entity->items.release(&arrays_);
  const uint64_t key = entity->key;
  const EntityKind kind = entity->kind;
  *entity = Entity{};
  entity->key = key;
  entity->kind = kind;
}

void VelocityState::Seen(Entity* entity, int64_t t) {
  const auto time = static_cast<uint32_t>(t);
  if (entity->first_seen == kNever) entity->first_seen = time;
  entity->last_seen = std::max(entity->last_seen, time);
}

size_t VelocityState::Expire(int64_t now) {
  size_t kept = 0;
  for (size_t r = 0; r < entities_.size(); ++r) {
    Entity& entity = entities_[r];
    if (now - static_cast<int64_t>(entity.last_seen) > config_.ttl_seconds) {
      entity.buckets.release(&arrays_);
      entity.items.release(&arrays_);
      continue;
    }
    if (kept != r) entities_[kept] = entity;
    ++kept;
  }
  const size_t removed = entities_.size() - kept;
  if (removed == 0) return 0;
  entities_.Truncate(kept);
  size_t capacity = 1024;
  while (entities_.size() * 4 > capacity * 3) capacity *= 2;
  Rehash(capacity);
  return removed;
}

size_t VelocityState::MemoryBytes() const {
  return HeapBytes(slots_.size() * sizeof(Slot)) +
         entities_.chunks() * HeapBytes(EntityArena::chunk_bytes()) + arrays_.bytes();
}

size_t VelocityState::SnapshotSize() const {
  size_t size = kHeaderBytes + kChecksumBytes;
  for (size_t k = 0; k < entities_.size(); ++k) {
    const Entity& e = entities_[k];
    size += kEntityBytes + e.buckets.size() * kBucketBytes + e.items.size() * kItemBytes;
  }
  return size;
}

void VelocityState::SnapshotInto(uint8_t* data) const {
  std::vector<const Entity*> order;
  order.reserve(entities_.size());
  for (size_t k = 0; k < entities_.size(); ++k) order.push_back(&entities_[k]);
  std::sort(order.begin(), order.end(),
            [](const Entity* a, const Entity* b) { return a->key < b->key; });
  Writer out(data);
  for (char c : kSnapshotMagic) out.U8(static_cast<uint8_t>(c));
  out.U32(kSnapshotVersion);
  out.U64(static_cast<uint64_t>(config_.ttl_seconds));
  out.U64(static_cast<uint64_t>(clock_));
  out.U64(static_cast<uint64_t>(next_sweep_));
  out.U64(order.size());
  for (const Entity* e : order) {
    out.U64(e->key);
    out.U8(static_cast<uint8_t>(e->kind));
    out.U32(e->first_seen);
    out.U32(e->last_seen);
    out.U32(e->first_success);
    for (uint32_t n : e->all_time) out.U32(n);
    out.F64(e->usd_attempted);
    out.F64(e->usd_successful);
    out.F64(e->usd_failed);
    out.U32(e->buckets.size());
    for (const Bucket& b : e->buckets) {
      out.U32(b.unit);
      for (uint32_t n : b.counts) out.U32(n);
    }
    out.U32(e->items.size());
    for (const Item& item : e->items) {
      out.U64(item.value);
      out.U32(item.time);
      out.U8(item.family);
    }
  }
  const std::string_view body(reinterpret_cast<const char*>(data),
                              static_cast<size_t>(out.position() - data));
  out.U64(SnapshotChecksum(body));
}

std::vector<uint8_t> VelocityState::Snapshot() const {
  std::vector<uint8_t> bytes(SnapshotSize());
  SnapshotInto(bytes.data());
  return bytes;
}

VelocityState VelocityState::Restore(const uint8_t* data, size_t size) {
  if (size < 12 || std::memcmp(data, kSnapshotMagic, 4) != 0) {
    throw SchemaError("velocity snapshot: not a radarcore velocity snapshot (bad magic)");
  }
  Reader in(data, size);
  for (int i = 0; i < 4; ++i) in.U8();
  const uint32_t version = in.U32();
  if (version != kSnapshotVersion && version != kSnapshotVersionSingleChain) {
    throw SchemaError("velocity snapshot: unsupported version " + std::to_string(version) +
                      " (this build reads versions 1 and " + std::to_string(kSnapshotVersion) + ")");
  }
  if (size < 8) throw SchemaError("velocity snapshot: truncated");
  const std::string_view body(reinterpret_cast<const char*>(data), size - 8);
  Reader trailer(data + size - 8, 8);
  const uint64_t checksum =
      version == kSnapshotVersion ? SnapshotChecksum(body) : HashBytes(body);
  if (trailer.U64() != checksum) {
    throw SchemaError("velocity snapshot: checksum mismatch (corrupted or truncated bytes)");
  }
  VelocityConfig config;
  config.ttl_seconds = static_cast<int64_t>(in.U64());
  VelocityState state(config);
  state.clock_ = static_cast<int64_t>(in.U64());
  state.next_sweep_ = static_cast<int64_t>(in.U64());
  const uint64_t count = in.U64();
  for (uint64_t k = 0; k < count; ++k) {
    Entity& e = state.entities_.EmplaceBack();
    e.key = in.U64();
    const uint8_t kind = in.U8();
    if (kind >= kNumEntityKinds) throw SchemaError("velocity snapshot: bad entity kind");
    e.kind = static_cast<EntityKind>(kind);
    e.first_seen = in.U32();
    e.last_seen = in.U32();
    e.first_success = in.U32();
    for (uint32_t& n : e.all_time) n = in.U32();
    e.usd_attempted = in.F64();
    e.usd_successful = in.F64();
    e.usd_failed = in.F64();
    const uint32_t n_buckets = in.U32();
    if (n_buckets > in.remaining() / 20) throw SchemaError("velocity snapshot: truncated");
    if (n_buckets > PoolVec<Bucket>::kMaxSize) throw SchemaError("velocity snapshot: too many buckets");
    e.buckets.Reserve(n_buckets, &state.arrays_);
    for (uint32_t i = 0; i < n_buckets; ++i) {
      Bucket b{};
      b.unit = in.U32();
      for (uint32_t& n : b.counts) n = in.U32();
      e.buckets.push_back(b, &state.arrays_);
    }
    const uint32_t n_items = in.U32();
    if (n_items > in.remaining() / 13) throw SchemaError("velocity snapshot: truncated");
    if (n_items > PoolVec<Item>::kMaxSize) throw SchemaError("velocity snapshot: too many items");
    e.items.Reserve(n_items, &state.arrays_);
    for (uint32_t i = 0; i < n_items; ++i) {
      Item item{};
      item.value = in.U64();
      item.time = in.U32();
      item.family = in.U8();
      if (item.family >= kNumFamilies) throw SchemaError("velocity snapshot: bad family");
      e.items.push_back(item, &state.arrays_);
    }
  }
  if (in.remaining() != 8) throw SchemaError("velocity snapshot: trailing bytes");
  size_t capacity = 1024;
  while (state.entities_.size() * 4 > capacity * 3) capacity *= 2;
  state.Rehash(capacity);
  return state;
}

}  // namespace radarcore
