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
#include <cstdlib>
#include <limits>
#include <memory>
#include <new>
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

// A growable array of trivially copyable T in 16 bytes (pointer, size, capacity), to keep the
// per-entity footprint small.
template <class T>
class SmallVec {
 public:
  SmallVec() = default;
  SmallVec(const SmallVec&) = delete;
  SmallVec& operator=(const SmallVec&) = delete;
  SmallVec(SmallVec&& other) noexcept : data_(other.data_), size_(other.size_), cap_(other.cap_) {
    other.data_ = nullptr;
    other.size_ = other.cap_ = 0;
  }
  SmallVec& operator=(SmallVec&& other) noexcept {
    if (this != &other) {
      std::free(data_);
      data_ = other.data_;
      size_ = other.size_;
      cap_ = other.cap_;
      other.data_ = nullptr;
      other.size_ = other.cap_ = 0;
    }
    return *this;
  }
  ~SmallVec() { std::free(data_); }

  uint32_t size() const { return size_; }
  uint32_t capacity() const { return cap_; }
  bool empty() const { return size_ == 0; }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T& back() { return data_[size_ - 1]; }

  void push_back(const T& value) {
    if (size_ == cap_) Grow();
    data_[size_++] = value;
  }
  void resize_down(uint32_t n) { size_ = n; }

 private:
  void Grow() {
    const uint32_t cap = cap_ == 0 ? 1 : (cap_ < 8 ? cap_ * 2 : cap_ + cap_ / 2);
    void* grown = std::realloc(data_, sizeof(T) * cap);
    if (grown == nullptr) throw std::bad_alloc();
    data_ = static_cast<T*>(grown);
    cap_ = cap;
  }

  T* data_ = nullptr;
  uint32_t size_ = 0;
  uint32_t cap_ = 0;
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
  SmallVec<Bucket> buckets;
  SmallVec<Item> items;
};

// Entity records in fixed-size chunks: a record never moves while the state grows (pointers
// handed out for one payment stay valid across inserts), and indexing is a shift and a mask.
class EntityArena {
 public:
  size_t size() const { return size_; }
  size_t chunks() const { return chunks_.size(); }
  static constexpr size_t chunk_bytes() { return sizeof(Entity) << kChunkBits; }
  Entity& operator[](size_t i) { return chunks_[i >> kChunkBits][i & kChunkMask]; }
  const Entity& operator[](size_t i) const { return chunks_[i >> kChunkBits][i & kChunkMask]; }

  Entity& EmplaceBack() {
    if ((size_ >> kChunkBits) == chunks_.size()) {
      chunks_.push_back(std::make_unique<Entity[]>(size_t{1} << kChunkBits));
    }
    return (*this)[size_++];
  }
  // Keeps the first n records; the others are reset (their arrays freed) and whole unused
  // chunks released.
  void Truncate(size_t n) {
    for (size_t i = n; i < size_; ++i) (*this)[i] = Entity{};
    size_ = n;
    chunks_.resize((n + kChunkMask) >> kChunkBits);
  }

 private:
  static constexpr size_t kChunkBits = 12;
  static constexpr size_t kChunkMask = (size_t{1} << kChunkBits) - 1;
  std::vector<std::unique_ptr<Entity[]>> chunks_;
  size_t size_ = 0;
};

// Counts an entity holds at one query time, every window at once.
struct EntityCounts {
  std::array<std::array<uint32_t, 4>, kNumWindows> charges{};  // [window][OutcomeCounter]
  std::array<std::array<uint32_t, kNumWindows>, kNumFamilies> families{};
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
  // nullptr when key is 0; the kind is recorded on insert.
  Entity* FindOrInsertKey(EntityKind kind, uint64_t key);
  const Entity* Find(EntityKind kind, uint64_t value) const { return FindKey(KeyOf(kind, value)); }
  Entity* FindOrInsert(EntityKind kind, uint64_t value) {
    return FindOrInsertKey(kind, KeyOf(kind, value));
  }

  // Memory-level hints, no effect on results: the state is far larger than the caches, so
  // lookups are bound by memory latency. Issue PrefetchSlot, then (later) PrefetchEntity, then
  // PrefetchArrays for the same key, so that the misses of several entities and rows overlap.
  // Each stage looks only at the key's home slot (where nearly every entity sits at 3/4 load).
  void PrefetchSlot(uint64_t key) const {
    if (key == 0) return;
    __builtin_prefetch(&slots_[static_cast<size_t>(key) & (slots_.size() - 1)]);
  }
  void PrefetchEntity(uint64_t key) const {
    if (const Entity* entity = HomeEntity(key)) {
      const char* record = reinterpret_cast<const char*>(entity);
      __builtin_prefetch(record);
      __builtin_prefetch(record + sizeof(Entity) - 1);
    }
  }
  void PrefetchArrays(uint64_t key) const {
    const Entity* entity = HomeEntity(key);
    if (entity != nullptr && entity->key == key) PrefetchArrays(entity);
  }
  static void PrefetchArrays(const Entity* entity);

  // Every window's counts for `entity` (nullptr reads as an unseen entity) at time t >= clock.
  static void Count(const Entity* entity, int64_t t, EntityCounts* out);
  static bool HasItem(const Entity* entity, Family family, uint64_t value);

  // Writes at time t (t must be the current clock). `outcome_counter` < 0 adds only to total.
  static void AddCharge(Entity* entity, int64_t t, int outcome_counter, bool total);
  static void TouchItem(Entity* entity, Family family, uint64_t value, int64_t t);
  static void Seen(Entity* entity, int64_t t);

  // Removes entities idle for longer than the time-to-live at time `now`; returns how many.
  size_t Expire(int64_t now);

  size_t size() const { return entities_.size(); }
  // Bytes held: table slots, entity records and their heap arrays (with allocator rounding).
  size_t MemoryBytes() const;

  // Versioned bytes that Restore reads back; equal states give equal bytes (entities in key
  // order), so a state rebuilt from the same history snapshots identically.
  std::vector<uint8_t> Snapshot() const;
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
  // The record in the key's home slot when the slot's tag matches (a candidate, not checked).
  const Entity* HomeEntity(uint64_t key) const {
    if (key == 0) return nullptr;
    const Slot slot = slots_[static_cast<size_t>(key) & (slots_.size() - 1)];
    return slot.index == 0 || slot.tag != Tag(key) ? nullptr : &entities_[slot.index - 1];
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
  std::vector<Slot> slots_;  // linear probing, power-of-two size, at most 3/4 full
};

}  // namespace radarcore
