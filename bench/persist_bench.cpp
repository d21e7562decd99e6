// What persist() costs the caller: one thread, 1000 distinct names updated
// in turn, a memory: store, and batches too large to commit during the run,
// so only the front end's in-memory work is measured.
#include <benchmark/benchmark.h>

#include <limits>
#include <string>
#include <vector>

#include "checkpoint/checkpoint.hpp"

namespace {

using checkpoint::Checkpoint;
using checkpoint::Timestamp;

constexpr int kNames = 1000;

// Names shaped like Windows event log channels; all longer than the small
// string buffer, as real ones are.
std::vector<std::string> channel_names() {
  std::vector<std::string> names;
  for (int i = 0; i < kNames; ++i) {
    names.push_back("Microsoft-Windows-Channel-" + std::to_string(i) + "/Operational");
  }
  return names;
}

// Arg 0: no bookmark; arg 1: a Winlogbeat-style XML bookmark.
void BM_Persist(benchmark::State& state) {
  checkpoint::Options options;
  options.max_updates = std::numeric_limits<std::size_t>::max();
  options.flush_interval = std::chrono::hours(24);
  Checkpoint cp("memory:", options);

  const std::vector<std::string> names = channel_names();
  const std::string bookmark =
      state.range(0) == 0 ? std::string()
                          : "<BookmarkList>\r\n  <Bookmark Channel='Microsoft-Windows-Sysmon/"
                            "Operational' RecordId='204' IsCurrent='true'/>\r\n</BookmarkList>";
  const Timestamp timestamp = Timestamp::now();
  // Every name is known before timing starts: the steady state of a shipper.
  for (const auto& name : names) cp.persist(name, 0, timestamp, bookmark);

  std::uint64_t record = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    cp.persist(names[i], ++record, timestamp, bookmark);
    if (++i == names.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["states"] = static_cast<double>(cp.stats().states);
}
BENCHMARK(BM_Persist)->Arg(0)->Arg(1);

}  // namespace
