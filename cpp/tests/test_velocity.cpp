// Velocity state: window edges, the cap of 25, expiry and snapshot round trips, in C++ alone.
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

#include "common/errors.hpp"
#include "features/text.hpp"
#include "tests/check.hpp"
#include "velocity/velocity_state.hpp"

namespace {

using radarcore::Entity;
using radarcore::EntityCounts;
using radarcore::EntityKind;
using radarcore::VelocityState;

constexpr int64_t kT0 = 1699920000;  // a day boundary

void WindowEdges() {
  VelocityState state;
  const int64_t t = state.Advance(kT0);
  Entity* card = state.FindOrInsert(EntityKind::kCard, 42);
  state.AddCharge(card, t, radarcore::kCountDeclined, true);
  EntityCounts counts;
  VelocityState::Count(card, kT0 + 3899, &counts);
  RC_CHECK(counts.charges[radarcore::kHourly][radarcore::kCountDeclined] == 1);
  VelocityState::Count(card, kT0 + 3900, &counts);
  RC_CHECK(counts.charges[radarcore::kHourly][radarcore::kCountDeclined] == 0);
  RC_CHECK(counts.charges[radarcore::kDaily][radarcore::kCountTotal] == 1);
  VelocityState::Count(card, kT0 + 90000, &counts);
  RC_CHECK(counts.charges[radarcore::kDaily][radarcore::kCountTotal] == 0);
  RC_CHECK(counts.charges[radarcore::kWeekly][radarcore::kCountTotal] == 1);
  VelocityState::Count(card, kT0 + 608400, &counts);
  RC_CHECK(counts.charges[radarcore::kWeekly][radarcore::kCountTotal] == 0);
  RC_CHECK(counts.charges[radarcore::kAllTime][radarcore::kCountTotal] == 1);
  RC_CHECK(radarcore::InWindow(kT0 + 31535999, kT0, radarcore::kYearly));
  RC_CHECK(!radarcore::InWindow(kT0 + 31622400, kT0, radarcore::kYearly));
}

void CapAndEviction() {
  VelocityState state;
  Entity* email = state.FindOrInsert(EntityKind::kEmail, 7);
  for (uint64_t card = 1; card <= 30; ++card) {
    state.TouchItem(email, radarcore::kFamilyCards, card, kT0 + static_cast<int64_t>(card));
  }
  EntityCounts counts;
  VelocityState::Count(email, kT0 + 100, &counts);
  RC_CHECK(counts.families[radarcore::kFamilyCards][radarcore::kAllTime] == 25);
  RC_CHECK(!VelocityState::HasItem(email, radarcore::kFamilyCards, 5));
  RC_CHECK(VelocityState::HasItem(email, radarcore::kFamilyCards, 6));
  RC_CHECK(email->items.size() == 25);
}

void BucketsStayBounded() {
  VelocityState state;
  Entity* merchant = state.FindOrInsert(EntityKind::kMerchant, 1);
  for (int64_t i = 0; i < 20000; ++i) {
    const int64_t t = state.Advance(kT0 + i * 300);
    merchant = state.FindOrInsert(EntityKind::kMerchant, 1);
    VelocityState::Seen(merchant, t);
    state.AddCharge(merchant, t, radarcore::kCountAuthorized, true);
  }
  // Daily-only kind: at most 13 five-minute buckets + 25 hours, plus the growth slack.
  RC_CHECK(merchant->buckets.size() < 64);
  EntityCounts counts;
  const int64_t now = state.clock() + 1;
  VelocityState::Count(merchant, now, &counts);
  uint32_t hourly = 0;
  uint32_t daily = 0;
  for (int64_t i = 0; i < 20000; ++i) {
    hourly += radarcore::InWindow(now, kT0 + i * 300, radarcore::kHourly) ? 1 : 0;
    daily += radarcore::InWindow(now, kT0 + i * 300, radarcore::kDaily) ? 1 : 0;
  }
  RC_CHECK(hourly == 13);
  RC_CHECK(counts.charges[radarcore::kHourly][radarcore::kCountTotal] == hourly);
  RC_CHECK(counts.charges[radarcore::kDaily][radarcore::kCountTotal] == daily);
  RC_CHECK(counts.charges[radarcore::kAllTime][radarcore::kCountTotal] == 20000);
}

bool RestoreIsRejected(const std::vector<uint8_t>& bytes) {
  try {
    VelocityState::Restore(bytes.data(), bytes.size());
  } catch (const radarcore::SchemaError&) {
    return true;
  }
  return false;
}

void SnapshotRoundTrip() {
  radarcore::VelocityConfig config;
  config.ttl_seconds = 86400;
  VelocityState state(config);
  for (uint64_t v = 1; v <= 100; ++v) {
    const int64_t t = state.Advance(kT0 + static_cast<int64_t>(v) * 60);
    Entity* e = state.FindOrInsert(EntityKind::kIp, v);
    VelocityState::Seen(e, t);
    state.AddCharge(e, t, radarcore::kCountBlocked, true);
    state.TouchItem(e, radarcore::kFamilyEmails, v * 3, t);
  }
  const std::vector<uint8_t> bytes = state.Snapshot();
  VelocityState restored = VelocityState::Restore(bytes.data(), bytes.size());
  RC_CHECK(restored.Snapshot() == bytes);
  RC_CHECK(restored.size() == 100);
  RC_CHECK(restored.Find(EntityKind::kIp, 50) != nullptr);
  RC_CHECK(restored.Find(EntityKind::kCard, 50) == nullptr);
  // A version 1 snapshot (the same body, HashBytes as its checksum) restores to the same state.
  std::vector<uint8_t> v1 = bytes;
  v1[4] = 1;
  const std::string_view v1_body(reinterpret_cast<const char*>(v1.data()), v1.size() - 8);
  const uint64_t v1_checksum = radarcore::HashBytes(v1_body);
  for (size_t i = 0; i < 8; ++i) v1[v1.size() - 8 + i] = static_cast<uint8_t>(v1_checksum >> (8 * i));
  RC_CHECK(VelocityState::Restore(v1.data(), v1.size()).Snapshot() == bytes);
  v1[30] ^= 1;
  RC_CHECK(RestoreIsRejected(v1));
  std::vector<uint8_t> corrupt = bytes;
  corrupt[30] ^= 1;
  RC_CHECK(RestoreIsRejected(corrupt));
  RC_CHECK(restored.Expire(kT0 + 100 * 60 + 86401) == 100);
  RC_CHECK(restored.size() == 0);
}

// Enough entities to fill several arena chunks and grow the index many times: every record keeps
// its address across inserts, stays findable, and survives a partial expiry with its data.
void ManyEntitiesAcrossChunks() {
  radarcore::VelocityConfig config;
  config.ttl_seconds = 86400;
  VelocityState state(config);
  constexpr uint64_t kCount = 20000;
  std::vector<Entity*> records(kCount);
  // Even values first, odd ones 50,000 s later: only the even ones are idle past the TTL below.
  for (uint64_t parity : {0, 1}) {
    const int64_t t = state.Advance(kT0 + static_cast<int64_t>(parity) * 50000);
    for (uint64_t v = 2 - parity; v <= kCount; v += 2) {
      Entity* card = state.FindOrInsert(EntityKind::kCard, v);
      VelocityState::Seen(card, t);
      state.AddCharge(card, t, radarcore::kCountAuthorized, true);
      card->usd_attempted = static_cast<double>(v);
      records[v - 1] = card;
    }
  }
  RC_CHECK(state.size() == kCount);
  bool stable = true;
  for (uint64_t v = 1; v <= kCount; ++v) {
    stable = stable && state.Find(EntityKind::kCard, v) == records[v - 1];
  }
  RC_CHECK(stable);
  RC_CHECK(state.Find(EntityKind::kEmail, 7) == nullptr);
  RC_CHECK(state.Find(EntityKind::kCard, kCount + 1) == nullptr);
  RC_CHECK(state.Expire(kT0 + 86401) == kCount / 2);
  RC_CHECK(state.size() == kCount / 2);
  bool kept = true;
  for (uint64_t v = 1; v <= kCount; ++v) {
    const Entity* card = state.Find(EntityKind::kCard, v);
    kept = kept && (v % 2 == 0 ? card == nullptr
                               : card != nullptr && card->usd_attempted == static_cast<double>(v) &&
                                     card->all_time[radarcore::kCountAuthorized] == 1);
  }
  RC_CHECK(kept);
  const std::vector<uint8_t> bytes = state.Snapshot();
  RC_CHECK(VelocityState::Restore(bytes.data(), bytes.size()).Snapshot() == bytes);
}

// Compaction (run when a new bucket finds the array full) gives exactly the buckets of the plain
// rule applied to every bucket: past the kind's horizon dropped, out of the hourly window merged
// into its hour. Random gaps from seconds to days, for a 169-hour and a 25-hour kind.
void CompactionMatchesThePlainRule() {
  for (EntityKind kind : {EntityKind::kCard, EntityKind::kDevice}) {
    const int64_t horizon = kind == EntityKind::kDevice ? 25 : 169;
    std::mt19937_64 rng(kind == EntityKind::kDevice ? 5 : 3);
    const std::vector<int64_t> gaps = {1, 60, 299, 300, 301, 900, 3600, 3601, 7200, 86400, 400000};
    VelocityState state;
    std::vector<radarcore::Bucket> expected;
    int64_t t = kT0 + 17;
    bool same = true;
    for (int step = 0; step < 20000; ++step) {
      t += gaps[rng() % gaps.size()] * (rng() % 3 == 0 ? 1 : 0) + static_cast<int64_t>(rng() % 400);
      state.Advance(t);
      Entity* entity = state.FindOrInsert(kind, 9);  // Advance may sweep (and move) records
      VelocityState::Seen(entity, t);
      const auto unit = static_cast<uint32_t>(t / 300);
      const bool new_bucket = entity->buckets.empty() || entity->buckets.back().unit != unit;
      if (new_bucket && entity->buckets.size() == entity->buckets.capacity()) {
        std::vector<radarcore::Bucket> compacted;
        for (radarcore::Bucket b : expected) {
          if (t / 3600 - static_cast<int64_t>(b.unit / 12) >= horizon) continue;
          if (t / 300 - static_cast<int64_t>(b.unit) >= 13) b.unit -= b.unit % 12;
          if (!compacted.empty() && compacted.back().unit == b.unit) {
            for (size_t c = 0; c < 4; ++c) compacted.back().counts[c] += b.counts[c];
          } else {
            compacted.push_back(b);
          }
        }
        expected = compacted;
      }
      if (new_bucket) expected.push_back(radarcore::Bucket{unit, {0, 0, 0, 0}});
      const int counter = static_cast<int>(rng() % 3);
      ++expected.back().counts[static_cast<size_t>(counter)];
      ++expected.back().counts[radarcore::kCountTotal];
      state.AddCharge(entity, t, counter, true);
      same = same && entity->buckets.size() == expected.size();
      for (uint32_t i = 0; same && i < entity->buckets.size(); ++i) {
        same = entity->buckets[i].unit == expected[i].unit &&
               entity->buckets[i].counts == expected[i].counts;
      }
    }
    RC_CHECK(same);
  }
}

}  // namespace

int main() {
  WindowEdges();
  CapAndEviction();
  BucketsStayBounded();
  CompactionMatchesThePlainRule();
  SnapshotRoundTrip();
  ManyEntitiesAcrossChunks();
  return radarcore::test::Finish("test_velocity");
}
