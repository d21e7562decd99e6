// Commit and load times of the yaml: backend with many states.
//
//   build/release/bench/yaml_bench
//
// Args: number of states, and whether every state has a bookmark (a
// Windows bookmark XML of about 130 bytes, as Winlogbeat keeps them).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "backends/yaml/yaml_format.hpp"
#include "checkpoint/registry.hpp"

namespace {

namespace fs = std::filesystem;
using namespace checkpoint;

StateMap make_states(std::size_t count, bool bookmarks) {
  StateMap states;
  const auto base = Timestamp::parse("2024-05-06T07:08:09.123456789Z").unix_seconds();
  for (std::size_t i = 0; i < count; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "Microsoft-Windows-Channel-%06zu/Operational", i);
    EventLogState s{name,
                    1'000'000'000ull + i * 7919,
                    Timestamp::from_unix(base + i, i * 1000 % 1'000'000'000),
                    {}};
    if (bookmarks) {
      s.bookmark = "<BookmarkList>\r\n  <Bookmark Channel='" + s.name + "' RecordId='" +
                   std::to_string(s.record_number) + "' IsCurrent='true'/>\r\n</BookmarkList>";
    }
    states.emplace(s.name, std::move(s));
  }
  return states;
}

// A fresh directory, removed at the end of the benchmark.
struct TempDir {
  TempDir() : path(fs::temp_directory_path() / ("yaml_bench_" + std::to_string(::getpid()))) {
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

void commit_states(benchmark::State& st, const std::string& options) {
  const auto states = make_states(static_cast<std::size_t>(st.range(0)), st.range(1) != 0);
  TempDir dir;
  auto store = open_store("yaml:" + (dir.path / "state.yml").string() + options);
  std::vector<std::string> upserted, removed;
  for (auto _ : st) {
    store->commit(Commit{Timestamp::now(), states, upserted, removed});
  }
  st.counters["MB"] = static_cast<double>(fs::file_size(dir.path / "state.yml")) / 1e6;
}

void BM_Commit(benchmark::State& st) { commit_states(st, ""); }
void BM_CommitSyncOff(benchmark::State& st) { commit_states(st, "?sync=off"); }

void BM_Load(benchmark::State& st) {
  const auto states = make_states(static_cast<std::size_t>(st.range(0)), st.range(1) != 0);
  TempDir dir;
  auto store = open_store("yaml:" + (dir.path / "state.yml").string());
  std::vector<std::string> upserted, removed;
  store->commit(Commit{Timestamp::now(), states, upserted, removed});
  for (auto _ : st) {
    auto loaded = store->load();
    if (loaded.states.size() != states.size()) st.SkipWithError("lost states");
    benchmark::DoNotOptimize(loaded);
  }
}

// The text alone, without the file system.
void BM_Emit(benchmark::State& st) {
  const auto states = make_states(static_cast<std::size_t>(st.range(0)), st.range(1) != 0);
  for (auto _ : st) {
    benchmark::DoNotOptimize(backends::emit_yaml_document(Timestamp::now(), states, "bench"));
  }
}

void BM_Parse(benchmark::State& st) {
  const auto text = backends::emit_yaml_document(
      Timestamp::now(), make_states(static_cast<std::size_t>(st.range(0)), st.range(1) != 0),
      "bench");
  for (auto _ : st) benchmark::DoNotOptimize(backends::parse_yaml_document(text, "bench"));
}

#define STATES_ARGS ->Args({100'000, 0})->Args({100'000, 1})->Unit(benchmark::kMillisecond)

BENCHMARK(BM_Commit) STATES_ARGS;
BENCHMARK(BM_CommitSyncOff) STATES_ARGS;
BENCHMARK(BM_Load) STATES_ARGS;
BENCHMARK(BM_Emit) STATES_ARGS;
BENCHMARK(BM_Parse) STATES_ARGS;

}  // namespace

