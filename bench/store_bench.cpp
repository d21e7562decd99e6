// What a commit and a load cost in each durable backend, by number of
// states, with the machine's own floor measured in the same run.
//
//   build/release/bench/store_bench [--benchmark_filter=REGEX]
//
// Benchmarks (STATES: 1000, 100000, 1000000):
//   commit/10_changed/BACKEND/STATES   ten states changed, spread over all
//   commit/all_changed/BACKEND/STATES  every state changed
//   load/BACKEND/STATES                open the store and load it (file in
//                                      the page cache, as after a restart)
//   floor/BYTES                        write + fsync + rename + fsync(dir)
// BACKEND is yaml, json, sqlite or lmdb; BACKEND-nosync is the same with
// its option that skips syncing (unsafe), to show what syncing costs.
//
// After every timed commit, outside the timed region, the floor is measured
// for a file of the size the commit had to make durable: the whole file for
// yaml and json (they rewrite it), the changed states' bare data for sqlite
// and lmdb (payload_bytes()). Counters: floor_ms (the floor's mean) and
// x_floor (commit time over floor time). Times are wall-clock; the CPU time
// of the benchmark thread is reported alongside.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "checkpoint/registry.hpp"

namespace {

using namespace checkpoint;
using Clock = std::chrono::steady_clock;

struct Backend {
  std::string label;    // in the benchmark's name
  std::string scheme;   // of the store
  std::string options;  // appended to the config string
  bool whole_file;      // rewrites every state at each commit
};

const std::vector<Backend>& backends() {
  static const std::vector<Backend> all = {
      {"yaml", "yaml", "", true},
      {"json", "json", "", true},
      {"sqlite", "sqlite", "", false},
      {"lmdb", "lmdb", "", false},
  };
  return all;
}

const std::vector<Backend>& nosync_backends() {
  static const std::vector<Backend> all = {
      {"yaml-nosync", "yaml", "?sync=off", true},
      {"json-nosync", "json", "?sync=off", true},
      {"sqlite-nosync", "sqlite", "?synchronous=off", false},
      {"lmdb-nosync", "lmdb", "?sync=off", false},
  };
  return all;
}

const std::vector<std::size_t> kSizes = {1'000, 100'000, 1'000'000};

void commit(benchmark::State& bench, const Backend& backend, std::size_t size, bool all) {
  bench::DataSet& data = bench::data_set(size);
  const std::string uri = bench::filled_store(backend.scheme, size);
  auto store = Store::open(uri + backend.options);
  std::vector<std::string> changed = all ? data.names : std::vector<std::string>(10);
  std::vector<EventLogState> upserted;
  double commit_seconds = 0, floor_seconds = 0;
  std::size_t floor_bytes = 0, round = 0;
  ::sync();  // what earlier benchmarks left to write back must not weigh on this one
  for (auto _ : bench) {
    bench.PauseTiming();
    if (all) {
      for (auto& [name, state] : data.states) bench::advance(state);
    } else {
      for (std::size_t k = 0; k < changed.size(); ++k) {
        // Spread over the whole key range, so the pages touched differ.
        changed[k] = data.names[(round * 7919 + k * size / changed.size()) % size];
        bench::advance(data.states.find(changed[k])->second);
      }
    }
    ++round;
    // The changed states, sorted, as the front end hands them over.
    std::sort(changed.begin(), changed.end());
    upserted.clear();
    for (const auto& name : changed) upserted.push_back(data.states.find(name)->second);
    bench.ResumeTiming();
    auto start = Clock::now();
    store->commit(Changes{Timestamp::now(), upserted, {}});
    commit_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    bench.PauseTiming();
    floor_bytes = backend.whole_file ? bench::bytes_on_disk(bench::store_path(uri))
                                     : bench::payload_bytes(data.states, changed);
    floor_seconds += bench::durable_write_seconds(floor_bytes);
    bench.ResumeTiming();
  }
  const auto n = static_cast<double>(bench.iterations());
  bench.counters["floor_ms"] = floor_seconds / n * 1e3;
  bench.counters["x_floor"] = commit_seconds / floor_seconds;
  bench.counters["floor_bytes"] = static_cast<double>(floor_bytes);
  bench.counters["store_MB"] =
      static_cast<double>(bench::bytes_on_disk(bench::store_path(uri))) / 1e6;
  bench.SetItemsProcessed(bench.iterations() * static_cast<std::int64_t>(changed.size()));
}

void load(benchmark::State& bench, const Backend& backend, std::size_t size) {
  const std::string uri = bench::filled_store(backend.scheme, size);
  for (auto _ : bench) {
    PersistedState loaded = Store::open(uri, {.mode = OpenMode::read})->load();
    bench.PauseTiming();  // freeing a million states is not part of loading
    if (loaded.states.size() != size) bench.SkipWithError("wrong number of states");
    loaded = {};
    bench.ResumeTiming();
  }
  bench.counters["store_MB"] =
      static_cast<double>(bench::bytes_on_disk(bench::store_path(uri))) / 1e6;
  bench.SetItemsProcessed(bench.iterations() * static_cast<std::int64_t>(size));
}

void floor(benchmark::State& bench, std::size_t bytes) {
  ::sync();
  for (auto _ : bench) bench.SetIterationTime(bench::durable_write_seconds(bytes));
  bench.SetBytesProcessed(bench.iterations() * static_cast<std::int64_t>(bytes));
}

void register_all() {
  using benchmark::RegisterBenchmark;
  for (std::size_t size : kSizes) {
    const std::string states = std::to_string(size);
    for (const Backend& backend : backends()) {
      RegisterBenchmark(bench::name({"commit/10_changed", backend.label, states}).c_str(),
                        [&backend, size](benchmark::State& s) { commit(s, backend, size, false); })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      RegisterBenchmark(bench::name({"commit/all_changed", backend.label, states}).c_str(),
                        [&backend, size](benchmark::State& s) { commit(s, backend, size, true); })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
      RegisterBenchmark(bench::name({"load", backend.label, states}).c_str(),
                        [&backend, size](benchmark::State& s) { load(s, backend, size); })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
    for (const Backend& backend : nosync_backends()) {
      if (size == 100'000) continue;
      RegisterBenchmark(bench::name({"commit/10_changed", backend.label, states}).c_str(),
                        [&backend, size](benchmark::State& s) { commit(s, backend, size, false); })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  // The floor alone, for the sizes of the YAML files above and one page.
  for (std::size_t bytes : {std::size_t{4096}, std::size_t{250'000}, std::size_t{25'000'000},
                            std::size_t{250'000'000}}) {
    RegisterBenchmark(bench::name({"floor", std::to_string(bytes)}).c_str(),
                      [bytes](benchmark::State& s) { floor(s, bytes); })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) { return bench::run(argc, argv, register_all); }
