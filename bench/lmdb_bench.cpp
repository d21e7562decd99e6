// What commits and loads cost in the lmdb backend with many states.
//
//   build/release/bench/lmdb_bench [--benchmark_filter=REGEX]
//
// The stores are made in a fresh directory under $TMPDIR (default /tmp) and
// removed at exit; commits are synced, so point TMPDIR at the disk you care
// about. The states are those of sqlite_bench (a ~28-byte name, a
// timestamp, a short bookmark), so the figures compare; the *_long_*
// benchmarks use 64-byte names and 100-byte bookmarks instead. Filling a
// store is done once per size, outside the timed region.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checkpoint/registry.hpp"

namespace {

namespace fs = std::filesystem;
using namespace checkpoint;

// A directory for this run's stores, removed at exit.
class BenchDir {
 public:
  BenchDir() {
    std::string pattern = (fs::temp_directory_path() / "lmdb_bench.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~BenchDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

const fs::path& bench_dir() {
  static BenchDir dir;
  return dir.path();
}

EventLogState make_state(std::size_t i, bool long_values) {
  char name[80];
  if (long_values) {  // 64 bytes, and a 100-byte bookmark
    std::snprintf(name, sizeof name, "Microsoft-Windows-Channel-%08zu/Operational-----------------",
                  i);
  } else {  // 28 bytes, as in sqlite_bench
    std::snprintf(name, sizeof name, "channel-%08zu/operational", i);
  }
  std::string bookmark = "<b r='" + std::to_string(i) + "'/>";
  if (long_values) bookmark.resize(100, ' ');
  return EventLogState{name, 1'000'000 + i,
                       Timestamp::from_unix(1'700'000'000 + static_cast<std::int64_t>(i),
                                            static_cast<std::uint32_t>(i % 1'000'000'000)),
                       std::move(bookmark)};
}

// A store holding `size` states, and the same states in memory.
struct Dataset {
  std::string uri;
  StateMap states;
  std::vector<std::string> names;
};

Dataset& dataset(std::size_t size, bool long_values = false) {
  static std::map<std::pair<std::size_t, bool>, std::unique_ptr<Dataset>> cache;
  auto& slot = cache[{size, long_values}];
  if (!slot) {
    slot = std::make_unique<Dataset>();
    slot->uri =
        "lmdb:" +
        (bench_dir() / ("states-" + std::to_string(size) + (long_values ? "-long" : "") + ".lmdb"))
            .string();
    for (std::size_t i = 0; i < size; ++i) {
      EventLogState state = make_state(i, long_values);
      slot->names.push_back(state.name);
      slot->states.emplace(state.name, std::move(state));
    }
    const std::vector<std::string> none;
    open_store(slot->uri)->commit(Commit{Timestamp::now(), slot->states, slot->names, none});
  }
  return *slot;
}

// Ten states changed among `size`, committed; each round changes other ones.
void commit_ten_changed(benchmark::State& bench, const std::string& options, bool long_values) {
  Dataset& data = dataset(static_cast<std::size_t>(bench.range(0)), long_values);
  auto store = open_store(data.uri + options);
  const std::vector<std::string> none;
  std::vector<std::string> upserted(10);
  std::size_t round = 0;
  for (auto _ : bench) {
    for (std::size_t k = 0; k < upserted.size(); ++k) {
      // Spread over the whole key range, so the pages touched differ.
      const std::string& name =
          data.names[(round * 7919 + k * data.names.size() / 10) % data.names.size()];
      data.states.find(name)->second.record_number += 1;
      upserted[k] = name;
    }
    ++round;
    store->commit(Commit{Timestamp::now(), data.states, upserted, none});
  }
  bench.SetItemsProcessed(static_cast<std::int64_t>(bench.iterations() * upserted.size()));
  bench.counters["file_MB"] =
      static_cast<double>(fs::file_size(data.uri.substr(std::string("lmdb:").size()))) / 1e6;
}

void BM_lmdb_commit_10_changed(benchmark::State& bench) { commit_ten_changed(bench, "", false); }

// The same with sync=off (unsafe), to show what the syncs cost.
void BM_lmdb_commit_10_changed_sync_off(benchmark::State& bench) {
  commit_ten_changed(bench, "?sync=off", false);
}

void BM_lmdb_commit_10_changed_long(benchmark::State& bench) {
  commit_ten_changed(bench, "", true);
}

void BM_lmdb_commit_all_changed(benchmark::State& bench) {
  Dataset& data = dataset(static_cast<std::size_t>(bench.range(0)));
  auto store = open_store(data.uri);
  const std::vector<std::string> none;
  for (auto _ : bench) {
    bench.PauseTiming();
    for (auto& [name, state] : data.states) state.record_number += 1;
    bench.ResumeTiming();
    store->commit(Commit{Timestamp::now(), data.states, data.names, none});
  }
  bench.SetItemsProcessed(static_cast<std::int64_t>(bench.iterations() * data.names.size()));
}

void load(benchmark::State& bench, bool long_values) {
  Dataset& data = dataset(static_cast<std::size_t>(bench.range(0)), long_values);
  auto store = open_store(data.uri);
  for (auto _ : bench) {
    PersistedState loaded = store->load();
    if (loaded.states.size() != data.states.size()) bench.SkipWithError("wrong state count");
    benchmark::DoNotOptimize(loaded);
  }
  bench.SetItemsProcessed(static_cast<std::int64_t>(bench.iterations() * data.names.size()));
}

void BM_lmdb_load(benchmark::State& bench) { load(bench, false); }
void BM_lmdb_load_long(benchmark::State& bench) { load(bench, true); }

// Opening a store: the file check that precedes LMDB's mapping of the file
// reads every branch page, once per process and file.
void BM_lmdb_open(benchmark::State& bench) {
  Dataset& data = dataset(static_cast<std::size_t>(bench.range(0)));
  for (auto _ : bench) benchmark::DoNotOptimize(open_store(data.uri));
}

BENCHMARK(BM_lmdb_commit_10_changed)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lmdb_commit_10_changed_sync_off)
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lmdb_commit_10_changed_long)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lmdb_commit_all_changed)->Arg(100'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lmdb_load)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lmdb_load_long)->Arg(1'000'000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lmdb_open)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace

