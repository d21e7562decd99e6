// persist() latency while the worker commits 1,000,000 states in the
// background: the caller must not wait for those commits.
//
//   build/release/bench/persist_latency_bench [--benchmark_filter=REGEX]
//
// A Checkpoint over a store of BACKEND holding 1M states (bench_support's
// shape), with max_updates = 1M: one thread calls persist() on the 1M names
// in turn as fast as it can, so every commit writes all 1M states, and the
// next batch is full before the last commit ends: commits run back to back.
// Every call is timed; the run lasts until kCommits commits have finished.
// Counters: p50_ns, p99_ns, p999_ns (99.9th percentile), max_ns, commits,
// commit_s (mean duration of a commit, as the store saw it) and calls.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <memory>
#include <string>

#include "bench/bench_support.hpp"
#include "checkpoint/checkpoint.hpp"

namespace {

using namespace checkpoint;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kStates = 1'000'000;
constexpr int kCommits = 3;

// Durations in ns, to within 1/64 (1.6 %): 64 buckets per power of two.
class Histogram {
 public:
  void add(std::uint64_t ns) {
    ++buckets_[index(ns)];
    ++count_;
    max_ = std::max(max_, ns);
  }
  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  // The upper bound of the bucket holding the q-quantile.
  std::uint64_t quantile(double q) const {
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen > rank) return std::min(upper_bound(i), max_);
    }
    return max_;
  }

 private:
  static std::size_t index(std::uint64_t ns) {
    if (ns < 64) return ns;
    const int shift = std::bit_width(ns) - 7;  // keeps 6 bits below the top one
    return static_cast<std::size_t>(shift + 1) * 64 + ((ns >> shift) & 63);
  }
  static std::uint64_t upper_bound(std::size_t i) {
    if (i < 64) return i;
    const std::size_t shift = i / 64 - 1;
    return ((64 + i % 64 + 1) << shift) - 1;
  }
  std::array<std::uint64_t, 64 * 60> buckets_{};
  std::uint64_t count_ = 0, max_ = 0;
};

// The real store, counting finished commits and their duration.
class CountingStore final : public StateStore {
 public:
  explicit CountingStore(std::unique_ptr<StateStore> inner) : inner_(std::move(inner)) {}
  PersistedState load() override { return inner_->load(); }
  void commit(const Commit& commit) override {
    auto start = Clock::now();
    inner_->commit(commit);
    nanoseconds_ +=
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    ++commits_;
  }
  int commits() const { return commits_.load(); }
  double seconds() const { return static_cast<double>(nanoseconds_.load()) / 1e9; }

 private:
  std::unique_ptr<StateStore> inner_;
  std::atomic<int> commits_{0};
  std::atomic<std::int64_t> nanoseconds_{0};
};

void persist_latency(benchmark::State& bench, const std::string& backend) {
  const bench::DataSet& data = bench::data_set(kStates);
  auto owned = std::make_unique<CountingStore>(open_store(bench::filled_store(backend, kStates)));
  CountingStore& store = *owned;
  Options options;
  options.max_updates = kStates;
  options.flush_interval = std::chrono::hours(1);
  Checkpoint cp(std::move(owned), options);  // loads 1M states, commits them once

  std::vector<const EventLogState*> states;
  for (const auto& [name, state] : data.states) states.push_back(&state);
  Histogram histogram;
  int commits = 0;
  double commit_seconds = 0;
  for (auto _ : bench) {
    const int first = store.commits();
    const double busy = store.seconds();
    auto start = Clock::now();
    std::size_t i = 0;
    std::uint64_t record = 2'000'000'000;
    while (store.commits() < first + kCommits) {
      for (int k = 0; k < 1024; ++k) {
        const EventLogState& state = *states[i];
        auto before = Clock::now();
        cp.persist(state.name, ++record, state.timestamp, state.bookmark);
        auto after = Clock::now();
        histogram.add(static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(after - before).count()));
        if (++i == states.size()) i = 0;
      }
    }
    bench.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    commits += store.commits() - first;
    commit_seconds += store.seconds() - busy;
  }
  bench.counters["p50_ns"] = static_cast<double>(histogram.quantile(0.5));
  bench.counters["p99_ns"] = static_cast<double>(histogram.quantile(0.99));
  bench.counters["p999_ns"] = static_cast<double>(histogram.quantile(0.999));
  bench.counters["max_ns"] = static_cast<double>(histogram.max());
  bench.counters["commits"] = commits;
  bench.counters["commit_s"] = commit_seconds / commits;
  bench.counters["calls"] = static_cast<double>(histogram.count());
}

void BM_persist_latency_yaml(benchmark::State& bench) { persist_latency(bench, "yaml"); }
void BM_persist_latency_json(benchmark::State& bench) { persist_latency(bench, "json"); }
void BM_persist_latency_sqlite(benchmark::State& bench) { persist_latency(bench, "sqlite"); }

BENCHMARK(BM_persist_latency_yaml)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_persist_latency_json)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_persist_latency_sqlite)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

}  // namespace
