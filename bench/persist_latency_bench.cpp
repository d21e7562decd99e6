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
// Latencies are told apart by what the calling thread went through
// (bench/latency.hpp): max_blocked_ns (it blocked: a lock, or I/O),
// max_preempted_ns (the scheduler took its core), max_quiet_ns (neither);
// over_1ms counts the calls slower than 1 ms.
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
#include "bench/latency.hpp"
#include "checkpoint/checkpoint.hpp"

namespace {

using namespace checkpoint;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kStates = 1'000'000;
constexpr int kCommits = 3;

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

using bench::Latencies;
using bench::measure;

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
