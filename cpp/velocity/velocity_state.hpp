// Radar's velocity counters: per-entity time buckets of charge outcomes, bounded distinct sets
// (cards per email, emails per IP, ...) and bounded label counters (disputes, early fraud
// warnings, refunds), with Stripe's windows and buckets, expiry and versioned snapshots.
//
// Windows (reference 1.10). Buckets are aligned to the Unix epoch (UTC). A window of N buckets of
// B seconds covers the bucket of the query time and the N - 1 buckets before it, so at query
// time t an entry made at time s counts iff floor(t / B) - floor(s / B) < N:
//   hourly  B = 300,   N = 13   (always counts within 3,600 s, never at 3,900 s or more)
//   daily   B = 3,600, N = 25   (within 86,400 s always; never at 90,000 s or more)
//   weekly  B = 3,600, N = 169  (within 604,800 s always; never at 608,400 s or more)
//   yearly  B = 86,400, N = 366 (within 365 days always; never at 31,622,400 s or more)
//   all_time: everything the state still holds (an entity idle longer than the time-to-live
//   is forgotten as a whole).
//
// Time only goes forward: the state keeps a clock (the latest time it has been given) and an
// earlier time is read and written as if it happened at the clock.
//
// Threading: not thread-safe; one owner (the bindings serialise calls with a mutex).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "features/event.hpp"
#include "features/text.hpp"

namespace radarcore {

enum class EntityKind : uint8_t {
  kCard,
  kCustomer,
  kEmail,
  kIp,
  kBillingAddress,
  kShippingAddress,
  kDevice,
  kMerchant,
};
inline constexpr size_t kNumEntityKinds = 8;

enum Window : int { kHourly, kDaily, kWeekly, kYearly, kAllTime, kNumWindows };

struct WindowSpec {
  int64_t bucket_seconds;
  int64_t buckets;
};
inline constexpr std::array<WindowSpec, 4> kWindowSpecs = {
    {{300, 13}, {3600, 25}, {3600, 169}, {86400, 366}}};

// The earliest time that counts in window w at query time t: the start of the oldest bucket
// the window covers.
inline int64_t WindowStart(int64_t t, int w) {
  if (w == kAllTime) return std::numeric_limits<int64_t>::min();
  const WindowSpec& spec = kWindowSpecs[static_cast<size_t>(w)];
  return (t / spec.bucket_seconds - spec.buckets + 1) * spec.bucket_seconds;
}

// True when an entry at time s counts in window w at query time t (s <= t).
inline bool InWindow(int64_t t, int64_t s, int w) { return s >= WindowStart(t, w); }

// Distinct-value and label families held per entity, each at most kDistinctCap entries (the
// oldest by last-seen time is evicted when a new value arrives).
enum Family : uint8_t {
  kFamilyCards,
  kFamilyEmails,
  kFamilyNames,
  kFamilyCustomers,
  kFamilyFraudCustomers,
  kFamilyDisputes,
  kFamilyEfws,
  kFamilyRefunds,
  kNumFamilies
};
inline constexpr size_t kDistinctCap = 25;

enum OutcomeCounter : int { kCountAuthorized, kCountBlocked, kCountDeclined, kCountTotal };

// Memory for the state's large arrays. A block of 2 MiB or more is 2 MiB aligned and marked for
// transparent huge pages (Linux): the state is far larger than what the TLB maps with 4 KiB
// pages, so without them nearly every lookup would also miss the TLB and walk the page tables.
// Throws std::bad_alloc.
struct LargeFree {
  void operator()(unsigned char* p) const noexcept;
};
using LargeBlock = std::unique_ptr<unsigned char[], LargeFree>;
LargeBlock AllocateLarge(size_t bytes);
inline constexpr size_t kHugePageBytes = size_t{1} << 21;

// A fixed-size array of trivially copyable T in a LargeBlock.
template <class T>
class LargeArray {
 public:
  // The old contents stay in place when allocating the new ones throws.
  void assign(size_t n, const T& value) {
    LargeBlock block = AllocateLarge(n * sizeof(T));
    std::uninitialized_fill_n(reinterpret_cast<T*>(block.get()), n, value);
    block_ = std::move(block);
    size_ = n;
  }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }

 private:
  T* data() const { return reinterpret_cast<T*>(block_.get()); }
  LargeBlock block_;
  size_t size_ = 0;
};

// Storage for the entities' arrays: blocks carved into size classes (32, 48, 64, 96, ...
// bytes, half a power of two apart), with a free list per class. An array that grows moves to
// a larger class and its old slot is reused by later arrays, so the state pays no malloc per
// array (glibc's bookkeeping was a sixth of the batch time) and no per-chunk header. Blocks grow
// from 256 KiB to 2 MiB (a quarter of what the pool holds), so a small state stays small and a
// large one sits on huge pages. Memory is returned when the pool is destroyed.
class ArrayPool {
 public:
  static constexpr uint32_t kNumClasses = 26;
  static constexpr size_t kMinBlockBytes = size_t{1} << 18;
  static constexpr size_t ClassBytes(uint32_t c) {
    return (c % 2 == 0 ? size_t{32} : size_t{48}) << (c / 2);
  }
  static_assert(kNumClasses % 2 == 0, "kMaxBytes assumes the last class is a 48 << k one");
  static constexpr size_t kMaxBytes = size_t{48} << ((kNumClasses - 1) / 2);  // the last class
  static_assert(kMaxBytes <= kMinBlockBytes, "every class must fit in a block");

  ArrayPool() = default;
  ArrayPool(ArrayPool&&) noexcept = default;
  ArrayPool& operator=(ArrayPool&&) noexcept = default;

  void* Allocate(uint32_t c) {
    if (void* p = free_[c]) {
      std::memcpy(&free_[c], p, sizeof(void*));
      // Freed slots are scattered, so reading the next one's link would be a cache miss on the
      // next allocation of this class: fetch it now (the slot is then written, so for writing).
      if (free_[c] != nullptr) __builtin_prefetch(free_[c], 1);
      return p;
    }
    const size_t bytes = ClassBytes(c);
    if (left_ < bytes) {
      size_t block = kMinBlockBytes;
      while (block < kHugePageBytes && block * 4 <= bytes_) block *= 2;
      blocks_.push_back(AllocateLarge(block));
      next_ = blocks_.back().get();
      left_ = block;
      bytes_ += block;
    }
    void* p = next_;
    next_ += bytes;
    left_ -= bytes;
    return p;
  }
  void Free(void* p, uint32_t c) {
    std::memcpy(p, &free_[c], sizeof(void*));
    free_[c] = p;
  }
  // Bytes of every block held.
  size_t bytes() const { return bytes_; }

 private:
  std::vector<LargeBlock> blocks_;
  unsigned char* next_ = nullptr;
  size_t left_ = 0;
  size_t bytes_ = 0;
  std::array<void*, kNumClasses> free_{};
};

// A growable array of trivially copyable T in 16 bytes (pointer, size, capacity, class) whose
// storage comes from an ArrayPool. A plain handle: copying it does not copy the elements, and
// the owner gives the storage back with release().
template <class T>
class PoolVec {
 public:
  static constexpr uint32_t kMaxSize = static_cast<uint32_t>(ArrayPool::kMaxBytes / sizeof(T));

  uint32_t size() const { return size_; }
  uint32_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }
  size_t bytes() const { return data_ == nullptr ? 0 : ArrayPool::ClassBytes(class_); }

  void push_back(const T& value, ArrayPool* pool) {
    if (size_ == capacity_) Reserve(size_ + 1, pool);
    data_[size_++] = value;
  }
  // Throws std::length_error beyond kMaxSize elements.
  void Reserve(uint32_t n, ArrayPool* pool) {
    if (n <= capacity_) return;
    if (n > kMaxSize) throw std::length_error("velocity array too long");
    uint32_t c = data_ == nullptr ? 0 : class_ + 1u;
    while (ArrayPool::ClassBytes(c) / sizeof(T) < n) ++c;
    T* grown = static_cast<T*>(pool->Allocate(c));
    if (data_ != nullptr) {
      std::memcpy(static_cast<void*>(grown), data_, sizeof(T) * size_);
      pool->Free(data_, class_);
    }
    data_ = grown;
    class_ = static_cast<uint8_t>(c);
    capacity_ = static_cast<uint16_t>(ArrayPool::ClassBytes(c) / sizeof(T));
  }
  void resize_down(uint32_t n) { size_ = n; }
  void release(ArrayPool* pool) {
    if (data_ != nullptr) pool->Free(data_, class_);
    *this = PoolVec{};
  }

 private:
  T* data_ = nullptr;
  uint32_t size_ = 0;
  uint16_t capacity_ = 0;
  uint8_t class_ = 0;
};

// Charge outcomes in one time bucket. `unit` is the 5-minute index (time / 300) of the bucket's
// start; entries older than the hourly window are merged into hour-aligned entries.
struct Bucket {
  uint32_t unit;
  std::array<uint32_t, 4> counts;
};

// One member of a bounded family: a value hash (card, email, name, customer) or, for labels,
// the payment id hash; with the last time it was seen.
struct Item {
  uint64_t value;
  uint32_t time;
  uint8_t family;
};

inline constexpr uint32_t kNever = std::numeric_limits<uint32_t>::max();

struct Entity {
  uint64_t key = 0;
  uint32_t first_seen = kNever;
  uint32_t last_seen = 0;
  uint32_t first_success = kNever;
  EntityKind kind = EntityKind::kCard;
  std::array<uint32_t, 4> all_time{};
  double usd_attempted = 0.0;
  double usd_successful = 0.0;
  double usd_failed = 0.0;
  PoolVec<Bucket> buckets;
  PoolVec<Item> items;
};

// Entity records in fixed-size chunks: a record never moves while the state grows (pointers
// handed out for one payment stay valid across inserts). A chunk is one huge page (21,845
// records of 96 bytes), so every record is on a huge page; indexing divides by a constant (a
// multiply and a shift). Records are constructed when added, so a chunk's pages are touched only
// as it fills.
class EntityArena {
 public:
  size_t size() const { return size_; }
  size_t chunks() const { return chunks_.size(); }
  static constexpr size_t chunk_bytes() { return kHugePageBytes; }
  Entity& operator[](size_t i) { return Chunk(i / kChunkRecords)[i % kChunkRecords]; }
  const Entity& operator[](size_t i) const { return Chunk(i / kChunkRecords)[i % kChunkRecords]; }

  Entity& EmplaceBack() {
    if (size_ / kChunkRecords == chunks_.size()) chunks_.push_back(AllocateLarge(chunk_bytes()));
    Entity* entity = &Chunk(size_ / kChunkRecords)[size_ % kChunkRecords];
    ++size_;
    return *new (entity) Entity();
  }
  // Keeps the first n records (the caller has released or moved the others' arrays) and
  // releases whole unused chunks.
  void Truncate(size_t n) {
    size_ = n;
    chunks_.resize((n + kChunkRecords - 1) / kChunkRecords);
  }

 private:
  static_assert(std::is_trivially_destructible_v<Entity>, "records are never destroyed");
  static constexpr size_t kChunkRecords = kHugePageBytes / sizeof(Entity);
  Entity* Chunk(size_t c) const { return reinterpret_cast<Entity*>(chunks_[c].get()); }
  std::vector<LargeBlock> chunks_;
  size_t size_ = 0;
};

// Counts an entity holds at one query time, every window at once.
// Count writes every field; no default initialisers, so arrays of these are not zeroed twice.
struct EntityCounts {
  std::array<std::array<uint32_t, 4>, kNumWindows> charges;  // [window][OutcomeCounter]
  std::array<std::array<uint32_t, kNumWindows>, kNumFamilies> families;
};

struct VelocityConfig {
  // An entity idle this long is forgotten (all_time counts and first-seen times included).
  int64_t ttl_seconds = 1826LL * 86400;  // five years, Radar's all_time horizon
};

class VelocityState {
 public:
  explicit VelocityState(VelocityConfig config = {});

  int64_t clock() const { return clock_; }
  const VelocityConfig& config() const { return config_; }

  // Moves the clock to max(clock, t) and returns it; expires idle entities once per day of
  // event time. Entity pointers stay valid until the next call of Advance.
  int64_t Advance(int64_t t);

  // The index's key of an entity: a hash of (kind, value), never 0; 0 when the value is
  // missing. Callers that touch one entity several times for a payment (prefetch stages, read,
  // write) compute it once and use the *Key functions.
  static uint64_t KeyOf(EntityKind kind, uint64_t value) {
    if (value == kMissingHash) return 0;
    const uint64_t key = Mix64(value ^ (static_cast<uint64_t>(kind) + 1) * 0x9e3779b97f4a7c15ULL);
    return key == 0 ? 1 : key;
  }
  const Entity* FindKey(uint64_t key) const {
    if (key == 0) return nullptr;
    const Slot slot = slots_[SlotOf(key)];
    return slot.index == 0 ? nullptr : &entities_[slot.index - 1];
  }
  // nullptr when key is 0; the kind is recorded on insert, and *inserted (when given) says
  // whether the record is new.
  Entity* FindOrInsertKey(EntityKind kind, uint64_t key, bool* inserted = nullptr);
  const Entity* Find(EntityKind kind, uint64_t value) const { return FindKey(KeyOf(kind, value)); }
  Entity* FindOrInsert(EntityKind kind, uint64_t value) {
    return FindOrInsertKey(kind, KeyOf(kind, value));
  }

  // Memory-level hints, no effect on results: the state is far larger than the caches, so
  // lookups are bound by memory latency. Issue PrefetchSlot, then (later) PrefetchEntity, then
  // PrefetchArrays for the same key, so that the misses of several entities and rows overlap.
  // The later stages look for the key's tag in the slots from its home slot on, as far as the
  // probe would go within kPrefetchProbe slots (the slot line the first stage brought in): with
  // linear probing at 3/8 to 3/4 load, a large share of the keys sit past their home slot.
  void PrefetchSlot(uint64_t key) const {
    if (key == 0) return;
    __builtin_prefetch(&slots_[static_cast<size_t>(key) & (slots_.size() - 1)]);
  }
  void PrefetchEntity(uint64_t key) const {
    if (const Entity* entity = ProbedEntity(key)) {
      const char* record = reinterpret_cast<const char*>(entity);
      __builtin_prefetch(record);
      __builtin_prefetch(record + sizeof(Entity) - 1);
    }
  }
  void PrefetchArrays(uint64_t key) const {
    const Entity* entity = ProbedEntity(key);
    if (entity != nullptr && entity->key == key) PrefetchArrays(entity);
  }
  static void PrefetchArrays(const Entity* entity);

  // Every window's counts for `entity` (nullptr reads as an unseen entity) at time t >= clock.
  static void Count(const Entity* entity, int64_t t, EntityCounts* out);
  static bool HasItem(const Entity* entity, Family family, uint64_t value);

  // Writes at time t (t must be the current clock). `outcome_counter` < 0 adds only to total.
  void AddCharge(Entity* entity, int64_t t, int outcome_counter, bool total);
  void TouchItem(Entity* entity, Family family, uint64_t value, int64_t t);
  static void Seen(Entity* entity, int64_t t);
  // Forgets everything about the entity but its key and kind (an entity idle past the ttl).
  void Reset(Entity* entity);

  // Removes entities idle for longer than the time-to-live at time `now`; returns how many.
  size_t Expire(int64_t now);

  size_t size() const { return entities_.size(); }
  // Bytes held: table slots, entity records and their heap arrays (with allocator rounding).
  size_t MemoryBytes() const;

  // Versioned bytes that Restore reads back; equal states give equal bytes (entities in key
  // order), so a state rebuilt from the same history snapshots identically.
  std::vector<uint8_t> Snapshot() const;
  // The same bytes written into a caller's buffer of SnapshotSize() bytes (the state must not
  // change in between): one pass of stores, for callers that own the destination.
  size_t SnapshotSize() const;
  void SnapshotInto(uint8_t* data) const;
  // Throws SchemaError when the bytes are not a snapshot of a supported version.
  static VelocityState Restore(const uint8_t* data, size_t size);

 private:
  // The high half of the key rides in the slot, so probing past other keys and looking up
  // absent entities never touch entity records (each would be a cache miss).
  struct Slot {
    uint32_t tag;
    uint32_t index;  // record + 1 in entities_; 0 = empty
  };
  static uint32_t Tag(uint64_t key) { return static_cast<uint32_t>(key >> 32); }
  // The record of the first slot with the key's tag on its probe path, within kPrefetchProbe
  // slots (a candidate, not checked: for prefetching).
  static constexpr size_t kPrefetchProbe = 8;
  const Entity* ProbedEntity(uint64_t key) const {
    if (key == 0) return nullptr;
    const size_t mask = slots_.size() - 1;
    const uint32_t tag = Tag(key);
    size_t i = static_cast<size_t>(key) & mask;
    for (size_t n = 0; n < kPrefetchProbe; ++n, i = (i + 1) & mask) {
      const Slot slot = slots_[i];
      if (slot.index == 0) return nullptr;
      if (slot.tag == tag) return &entities_[slot.index - 1];
    }
    return nullptr;
  }
  size_t SlotOf(uint64_t key) const {
    const size_t mask = slots_.size() - 1;
    const uint32_t tag = Tag(key);
    size_t i = static_cast<size_t>(key) & mask;
    while (slots_[i].index != 0 &&
           (slots_[i].tag != tag || entities_[slots_[i].index - 1].key != key)) {
      i = (i + 1) & mask;
    }
    return i;
  }
  void Rehash(size_t capacity);
  static void Compact(Entity* entity, int64_t t);

  VelocityConfig config_;
  int64_t clock_ = 0;
  int64_t next_sweep_ = 0;
  EntityArena entities_;
  ArrayPool arrays_;  // the entities' buckets and items
  LargeArray<Slot> slots_;  // linear probing, power-of-two size, at most 3/4 full
};

}  // namespace radarcore
