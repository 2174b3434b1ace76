// Online latency of one payment in the core: pack + extract_one + update, per event, over a
// seeded synthetic stream (skewed entity activity, 30 days). Usage: bench_features [events].
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "common/cpu.hpp"
#include "features/extractor.hpp"

namespace {

using radarcore::FeatureExtractor;
using radarcore::Outcome;
using radarcore::PackedEvent;
using radarcore::RawEvent;

struct Stored {
  std::vector<std::string> strings;
  RawEvent raw;
};

radarcore::PackerTables Tables() {
  radarcore::PackerTables tables;
  for (const char* code : radarcore::kAmountCurrencies) {
    tables.currencies.push_back({code, std::string(code) == "jpy" ? 0 : 2, 1.0});
  }
  tables.disposable_domains = {"mailinator.com"};
  tables.anonymous_ips = {"10.0.0.0/24"};
  return tables;
}

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2000000;
  std::mt19937_64 rng(7);
  const size_t people = std::max<size_t>(n / 5, 10);
  std::vector<double> weights(people);
  std::lognormal_distribution<double> activity(0.0, 1.2);
  for (double& w : weights) w = activity(rng);
  std::discrete_distribution<size_t> person_of(weights.begin(), weights.end());
  std::uniform_int_distribution<int64_t> second(0, 30 * 86400);
  std::uniform_real_distribution<double> unit(0.0, 1.0);

  std::vector<int64_t> times(n);
  for (int64_t& t : times) t = 1767225600 + second(rng);
  std::sort(times.begin(), times.end());

  std::vector<Stored> events(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t p = person_of(rng);
    const size_t ip = unit(rng) < 0.8 ? p : static_cast<size_t>(rng() % people);
    Stored& s = events[i];
    s.strings.resize(radarcore::kNumStringFields);
    auto set = [&](radarcore::StringField f, std::string value) {
      s.strings[f] = std::move(value);
    };
    set(radarcore::kFieldId, "ch_" + std::to_string(i));
    set(radarcore::kFieldCurrency, "usd");
    set(radarcore::kFieldCardFingerprint, "fp_" + std::to_string(p * 2 + (unit(rng) < 0.15)));
    set(radarcore::kFieldCustomer, "cus_" + std::to_string(p));
    set(radarcore::kFieldEmail, "user" + std::to_string(p) + "@example.com");
    set(radarcore::kFieldName, "Person " + std::to_string(p));
    set(radarcore::kFieldBillingLine1, std::to_string(p % 100000) + " Main St");
    set(radarcore::kFieldShippingLine1, std::to_string(p % 90000) + " Main St");
    set(radarcore::kFieldIpAddress, "10." + std::to_string((ip >> 16) & 255) + "." +
                                        std::to_string((ip >> 8) & 255) + "." +
                                        std::to_string(ip & 255));
    set(radarcore::kFieldUserAgent,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36");
    set(radarcore::kFieldDeviceId, "dev_" + std::to_string(p));
    set(radarcore::kFieldMerchant, "acct_" + std::to_string(rng() % 50));
    for (size_t f = 0; f < radarcore::kNumStringFields; ++f) {
      if (s.strings[f].empty()) continue;
      s.raw.has_string[f] = true;
      s.raw.strings[f] = s.strings[f];
    }
    s.raw.has_int[radarcore::kFieldCreated] = true;
    s.raw.ints[radarcore::kFieldCreated] = times[i];
    s.raw.has_int[radarcore::kFieldAmount] = true;
    s.raw.ints[radarcore::kFieldAmount] = 100 + static_cast<int64_t>(rng() % 50000);
  }

  FeatureExtractor extractor(Tables(), radarcore::VelocityConfig{});
  radarcore::PackScratch scratch;
  std::vector<double> row(FeatureExtractor::Columns().size());
  std::vector<double> latency_us(n);
  std::vector<double> extract_us(n);
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const std::clock_t cpu_start = std::clock();
  for (size_t i = 0; i < n; ++i) {
    const Clock::time_point t0 = Clock::now();
    PackedEvent packed;
    extractor.packer().Pack(events[i].raw, &packed, &scratch);
    extractor.ExtractOne(packed, row.data());
    const Clock::time_point t1 = Clock::now();
    const double roll = unit(rng);
    extractor.Update(packed, roll < 0.9 ? Outcome::kAuthorized
                                        : (roll < 0.97 ? Outcome::kDeclined : Outcome::kBlocked));
    const Clock::time_point t2 = Clock::now();
    extract_us[i] = std::chrono::duration<double, std::micro>(t1 - t0).count();
    latency_us[i] = std::chrono::duration<double, std::micro>(t2 - t0).count();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  const size_t entities = extractor.state().size();
  std::printf("C++ online (%s, %zu events, %zu features): pack + extract_one + update "
              "median %.2f us, p99 %.2f us, p99.9 %.2f us; pack + extract_one median %.2f us, "
              "p99 %.2f us; %.0f events/s wall, %.0f events/s CPU time; state %zu entities, "
              "%.0f bytes/entity\n",
              radarcore::DescribeCpu().c_str(), n, row.size(), Percentile(latency_us, 0.5),
              Percentile(latency_us, 0.99), Percentile(latency_us, 0.999),
              Percentile(extract_us, 0.5), Percentile(extract_us, 0.99),
              static_cast<double>(n) / seconds, static_cast<double>(n) / cpu_seconds, entities,
              static_cast<double>(extractor.state().MemoryBytes()) / static_cast<double>(entities));
  return 0;
}
