// persist() latency while the worker commits 1,000,000 states in the
// background: the caller must not wait for those commits.
//
//   build/release/bench/persist_latency_bench [--benchmark_filter=REGEX]
//
// A Checkpoint over a store of BACKEND holding 1M states (bench_support's
// shape), with max_updates = 1M: one thread calls persist() on the 1M names
// in turn as fast as it can, so every commit writes all 1M states, and the
// next batch is full before the last commit ends: commits run back to back.
// After a warm-up of two commits, every call is timed; the run lasts until
// kCommits more commits have finished.
// Counters: p50_ns, p99_ns, p999_ns (99.9th percentile), max_ns, commits,
// commit_s (mean duration of a commit, as the store saw it) and calls.
//
// On a busy machine the caller also waits when the scheduler gives its core
// to another thread (the worker included, if no core is free). To tell that
// from waiting inside persist(), the thread's context switches are read
// every kBlock calls: a voluntary switch means it blocked (on a lock, or a
// page fault that needed I/O), an involuntary one that it was preempted.
// max_blocked_ns is the slowest call in a block with a voluntary switch,
// max_preempted_ns in one with only involuntary switches, max_quiet_ns in
// one with none; over_1ms counts the calls slower than 1 ms.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <limits>
#include <memory>
#include <string>

#include "bench/bench_support.hpp"
#include "checkpoint/checkpoint.hpp"

namespace {

using namespace checkpoint;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kStates = 1'000'000;
constexpr int kCommits = 3;
constexpr int kBlock = 256;

// Voluntary and involuntary context switches of the calling thread.
std::pair<long, long> context_switches() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return {usage.ru_nvcsw, usage.ru_nivcsw};
}

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
class CountingStore final : public Store {
 public:
  explicit CountingStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}
  Timestamp scan(const StateSink& sink) override { return inner_->scan(sink); }
  void commit(const Changes& changes) override {
    auto start = Clock::now();
    inner_->commit(changes);
    nanoseconds_ +=
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
    ++commits_;
  }
  int commits() const { return commits_.load(); }
  double seconds() const { return static_cast<double>(nanoseconds_.load()) / 1e9; }

 private:
  std::unique_ptr<Store> inner_;
  std::atomic<int> commits_{0};
  std::atomic<std::int64_t> nanoseconds_{0};
};

// Call latencies, and the slowest call by what the thread went through.
struct Latencies {
  Histogram histogram;
  std::uint64_t max_blocked = 0, max_preempted = 0, max_quiet = 0, over_1ms = 0;

  void report(benchmark::State& bench) const {
    bench.counters["p50_ns"] = static_cast<double>(histogram.quantile(0.5));
    bench.counters["p99_ns"] = static_cast<double>(histogram.quantile(0.99));
    bench.counters["p999_ns"] = static_cast<double>(histogram.quantile(0.999));
    bench.counters["max_ns"] = static_cast<double>(histogram.max());
    bench.counters["max_blocked_ns"] = static_cast<double>(max_blocked);
    bench.counters["max_preempted_ns"] = static_cast<double>(max_preempted);
    bench.counters["max_quiet_ns"] = static_cast<double>(max_quiet);
    bench.counters["over_1ms"] = static_cast<double>(over_1ms);
    bench.counters["calls"] = static_cast<double>(histogram.count());
  }
};

// Calls persist() on the states in turn, timing each call, until done().
// Returns the seconds it ran.
template <typename Done>
double measure(Checkpoint& cp, const std::vector<const EventLogState*>& states, Latencies& out,
               Done done) {
  auto start = Clock::now();
  std::size_t i = 0;
  std::uint64_t record = 2'000'000'000;
  while (!done()) {
    const auto switches_before = context_switches();
    std::uint64_t block_max = 0;
    for (int k = 0; k < kBlock; ++k) {
      const EventLogState& state = *states[i];
      auto before = Clock::now();
      cp.persist(state.name, ++record, state.timestamp, state.bookmark);
      auto after = Clock::now();
      const auto ns = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(after - before).count());
      out.histogram.add(ns);
      block_max = std::max(block_max, ns);
      out.over_1ms += ns > 1'000'000 ? 1 : 0;
      if (++i == states.size()) i = 0;
    }
    const auto switches_after = context_switches();
    if (switches_after.first != switches_before.first) {
      out.max_blocked = std::max(out.max_blocked, block_max);
    } else if (switches_after.second != switches_before.second) {
      out.max_preempted = std::max(out.max_preempted, block_max);
    } else {
      out.max_quiet = std::max(out.max_quiet, block_max);
    }
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<const EventLogState*> all_states() {
  std::vector<const EventLogState*> out;
  for (const auto& [name, state] : bench::data_set(kStates).states) out.push_back(&state);
  return out;
}

void persist_latency(benchmark::State& bench, const std::string& backend) {
  auto owned = std::make_unique<CountingStore>(Store::open(bench::filled_store(backend, kStates)));
  CountingStore& store = *owned;
  Options options;
  options.max_updates = kStates;
  options.flush_interval = std::chrono::hours(1);
  Checkpoint cp(std::move(owned), options);  // loads 1M states, commits them once
  const auto states = all_states();
  // Warm-up: two commit cycles, so that both change sets the front end
  // alternates between have reached their working size (their first use
  // allocates each entry's strings); then the steady state is measured.
  Latencies warm_up;
  const int started = store.commits();
  measure(cp, states, warm_up, [&] { return store.commits() >= started + 2; });

  Latencies latencies;
  int commits = 0;
  double commit_seconds = 0;
  for (auto _ : bench) {
    const int first = store.commits();
    const double busy = store.seconds();
    bench.SetIterationTime(
        measure(cp, states, latencies, [&] { return store.commits() >= first + kCommits; }));
    commits += store.commits() - first;
    commit_seconds += store.seconds() - busy;
  }
  latencies.report(bench);
  bench.counters["commits"] = commits;
  bench.counters["commit_s"] = commit_seconds / commits;
}

void BM_persist_latency_yaml(benchmark::State& bench) { persist_latency(bench, "yaml"); }
void BM_persist_latency_json(benchmark::State& bench) { persist_latency(bench, "json"); }
void BM_persist_latency_sqlite(benchmark::State& bench) { persist_latency(bench, "sqlite"); }

// The same calls with no commit at all (a memory: store, max_updates out of
// reach) for as long: what the machine's scheduling alone does to latency.
void BM_persist_latency_no_commits(benchmark::State& bench) {
  Options options;
  options.max_updates = std::numeric_limits<std::size_t>::max();
  options.flush_interval = std::chrono::hours(1);
  Checkpoint cp("memory:", options);
  const auto states = all_states();
  for (const EventLogState* state : states) {
    cp.persist(state->name, state->record_number, state->timestamp, state->bookmark);
  }
  Latencies latencies;
  for (auto _ : bench) {
    auto until = Clock::now() + std::chrono::seconds(5);
    bench.SetIterationTime(measure(cp, states, latencies, [&] { return Clock::now() >= until; }));
  }
  latencies.report(bench);
}

BENCHMARK(BM_persist_latency_yaml)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_persist_latency_json)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_persist_latency_sqlite)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_persist_latency_no_commits)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

}  // namespace
