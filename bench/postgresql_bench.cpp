// What a commit and a load cost in the postgresql: backend, on a server on
// the same machine (loopback), with SQLite's load of the same states in the
// same run for comparison.
//
//   CHECKPOINT_POSTGRESQL_URI=postgresql://USER@127.0.0.1:PORT/DB
//     build/release/bench/postgresql_bench [--benchmark_filter=REGEX]  (one command line)
//
// scripts/bench.sh starts a private server for it (tests/postgresql/server.sh
// start DIR --fsync: durable commits, as in production) and sets the
// variable. Benchmarks (STATES: 100000, 1000000):
//   commit/10_changed/postgresql/STATES   ten states changed among STATES
//                                         (target at 1M: below 10 ms)
//   commit/all_changed/postgresql/STATES  every state changed
//   load/postgresql/STATES                open a reader and load every state
//   load/sqlite/STATES                    the same states from SQLite (target
//                                         at 1M: postgresql below 4x this)
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "checkpoint/registry.hpp"

namespace {

using namespace checkpoint;

const char* server() { return std::getenv("CHECKPOINT_POSTGRESQL_URI"); }

const std::vector<std::size_t> kSizes = {100'000, 1'000'000};

// A store holding data_set(size), filled once per run.
std::string filled(std::size_t size) {
  const std::string uri = std::string(server()) + "?store=bench-" + std::to_string(::getpid()) +
                          "-" + std::to_string(size);
  static std::vector<std::size_t> done;
  if (std::find(done.begin(), done.end(), size) == done.end()) {
    bench::DataSet& data = bench::data_set(size);
    std::vector<EventLogState> all;
    all.reserve(size);
    for (const auto& [name, state] : data.states) all.push_back(state);
    Store::open(uri)->commit(Changes{Timestamp::now(), all, {}});
    done.push_back(size);
  }
  return uri;
}

void commit(benchmark::State& bench, std::size_t size, bool all) {
  bench::DataSet& data = bench::data_set(size);
  auto store = Store::open(filled(size));
  std::vector<std::string> changed = all ? data.names : std::vector<std::string>(10);
  std::vector<EventLogState> upserted;
  std::size_t round = 0;
  for (auto _ : bench) {
    bench.PauseTiming();
    if (all) {
      for (auto& [name, state] : data.states) bench::advance(state);
    } else {
      for (std::size_t k = 0; k < changed.size(); ++k) {
        changed[k] = data.names[(round * 7919 + k * size / changed.size()) % size];
        bench::advance(data.states.find(changed[k])->second);
      }
      std::sort(changed.begin(), changed.end());
    }
    ++round;
    upserted.clear();
    for (const auto& name : changed) upserted.push_back(data.states.find(name)->second);
    bench.ResumeTiming();
    store->commit(Changes{Timestamp::now(), upserted, {}});
  }
  bench.SetItemsProcessed(bench.iterations() * static_cast<std::int64_t>(changed.size()));
}

void load(benchmark::State& bench, const std::string& uri, std::size_t size) {
  for (auto _ : bench) {
    PersistedState loaded = Store::open(uri, {.mode = OpenMode::read})->load();
    bench.PauseTiming();  // freeing a million states is not part of loading
    if (loaded.states.size() != size) bench.SkipWithError("wrong number of states");
    loaded = {};
    bench.ResumeTiming();
  }
  bench.SetItemsProcessed(bench.iterations() * static_cast<std::int64_t>(size));
}

void register_all() {
  using benchmark::RegisterBenchmark;
  if (server() == nullptr) {
    RegisterBenchmark("postgresql", [](benchmark::State& s) {
      for (auto _ : s) {
      }
      s.SkipWithError("no server: set CHECKPOINT_POSTGRESQL_URI (scripts/bench.sh starts one)");
    });
    return;
  }
  for (std::size_t size : kSizes) {
    const std::string states = std::to_string(size);
    RegisterBenchmark(bench::name({"commit/10_changed/postgresql", states}).c_str(),
                      [size](benchmark::State& s) { commit(s, size, false); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    RegisterBenchmark(bench::name({"commit/all_changed/postgresql", states}).c_str(),
                      [size](benchmark::State& s) { commit(s, size, true); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    RegisterBenchmark(bench::name({"load/postgresql", states}).c_str(),
                      [size](benchmark::State& s) { load(s, filled(size), size); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    RegisterBenchmark(
        bench::name({"load/sqlite", states}).c_str(),
        [size](benchmark::State& s) { load(s, bench::filled_store("sqlite", size), size); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) { return bench::run(argc, argv, register_all); }
