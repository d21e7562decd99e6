// What persist() costs its callers: 1, 2 and 4 threads calling it on one
// Checkpoint, over 1000 or 1,000,000 distinct names (the states of
// bench_support.hpp: 30-byte names, 100-byte bookmarks). Each thread walks
// the names in turn from its own starting point. Every name is known before
// timing starts, the steady state of a shipper.
//
//   build/release/bench/persist_bench [--benchmark_filter=REGEX]
//
// Only the front end is measured: a memory: store, and max_updates and
// flush_interval so large that no commit runs during the measurement.
// (persist_latency_bench measures persist() while commits do run.)
#include <benchmark/benchmark.h>

#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "checkpoint/checkpoint.hpp"

namespace {

using checkpoint::Checkpoint;

// A Checkpoint that knows `names` states, kept for the whole run: filling
// one with a million names takes a while.
Checkpoint& front_end(std::size_t names) {
  static std::map<std::size_t, std::unique_ptr<Checkpoint>> cache;
  auto& slot = cache[names];
  if (!slot) {
    checkpoint::Options options;
    options.max_updates = std::numeric_limits<std::size_t>::max();
    options.flush_interval = std::chrono::hours(24);
    slot = std::make_unique<Checkpoint>("memory:", options);
    for (const auto& [name, state] : bench::data_set(names).states) {
      slot->persist(name, state.record_number, state.timestamp, state.bookmark);
    }
  }
  return *slot;
}

void persist(benchmark::State& bench, bool with_bookmark) {
  const auto size = static_cast<std::size_t>(bench.range(0));
  // Set up by the first thread; the others wait at the start of the loop.
  static Checkpoint* cp = nullptr;
  static std::vector<const checkpoint::EventLogState*> states;
  if (bench.thread_index() == 0) {
    cp = &front_end(size);
    states.clear();
    for (const auto& [name, state] : bench::data_set(size).states) states.push_back(&state);
  }
  const std::string no_bookmark;
  std::size_t i = size / static_cast<std::size_t>(bench.threads()) *
                  static_cast<std::size_t>(bench.thread_index());
  std::uint64_t record = 0;
  for (auto _ : bench) {
    const checkpoint::EventLogState& state = *states[i];
    cp->persist(state.name, ++record, state.timestamp,
                with_bookmark ? state.bookmark : no_bookmark);
    if (++i == size) i = 0;
  }
  bench.SetItemsProcessed(bench.iterations());
}

void BM_persist(benchmark::State& bench) { persist(bench, true); }
void BM_persist_no_bookmark(benchmark::State& bench) { persist(bench, false); }

BENCHMARK(BM_persist)
    ->ArgName("names")
    ->Arg(1'000)
    ->Arg(1'000'000)
    ->Threads(1)
    ->Threads(2)
    ->Threads(4)
    ->UseRealTime();
BENCHMARK(BM_persist_no_bookmark)->ArgName("names")->Arg(1'000)->Threads(1)->UseRealTime();

}  // namespace
