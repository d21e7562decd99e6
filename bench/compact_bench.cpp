// Compaction (Store::compact(), checkpointctl compact): a store of N states
// from which 90% were removed, compacted, against a fresh store holding the
// remaining 10%. Counters: the bytes of the store's files before and after
// compaction and of the fresh store, and their ratio (the target: at most
// 1.3), for sqlite and lmdb (yaml and json rewrite the whole file at every
// commit and are minimal already). The time is that of compact() alone.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "checkpoint/registry.hpp"
#include "checkpoint/store.hpp"

namespace {

std::size_t size_of_store(const std::string& uri) {
  std::size_t total = 0;
  for (const auto& file : checkpoint::store_files(uri)) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(file, ec)) total += std::filesystem::file_size(file, ec);
  }
  return total;
}

void compact_after_removing_most(benchmark::State& state, const std::string& backend) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const bench::DataSet& data = bench::data_set(size);
  const auto dir = bench::run_dir() / ("compact-" + backend + "-" + std::to_string(size));
  std::filesystem::create_directories(dir);
  const std::string uri = backend + ":" + (dir / "mostly-removed").string();
  const std::string fresh_uri = backend + ":" + (dir / "fresh").string();
  std::vector<checkpoint::EventLogState> all, kept;
  std::vector<std::string> removed;
  for (std::size_t i = 0; i < data.names.size(); ++i) {
    all.push_back(data.states.at(data.names[i]));
    if (i % 10 == 0) {
      kept.push_back(all.back());
    } else {
      removed.push_back(data.names[i]);
    }
  }
  {
    auto store = checkpoint::Store::open(uri);
    store->commit({checkpoint::Timestamp::from_unix(1), all, {}});
    store->commit({checkpoint::Timestamp::from_unix(2), {}, removed});
  }
  { checkpoint::Store::open(fresh_uri)->commit({checkpoint::Timestamp::from_unix(2), kept, {}}); }
  const std::size_t before = size_of_store(uri);
  for (auto _ : state) {
    auto store = checkpoint::Store::open(uri);
    const auto start = std::chrono::steady_clock::now();
    store->compact();
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  const std::size_t after = size_of_store(uri);
  const std::size_t fresh = size_of_store(fresh_uri);
  state.counters["states_kept"] = static_cast<double>(kept.size());
  state.counters["bytes_before"] = static_cast<double>(before);
  state.counters["bytes_compacted"] = static_cast<double>(after);
  state.counters["bytes_fresh"] = static_cast<double>(fresh);
  state.counters["ratio_to_fresh"] = static_cast<double>(after) / static_cast<double>(fresh);
}

void register_all() {
  for (std::string backend : {"sqlite", "lmdb"}) {
    benchmark::RegisterBenchmark(bench::name({"compact", backend}).c_str(),
                                 compact_after_removing_most, backend)
        ->Arg(100'000)
        ->Arg(1'000'000)
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) { return bench::run(argc, argv, register_all); }
