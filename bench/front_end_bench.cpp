// The front end with many states: what states(), opening, an idle
// shutdown, stats() and persist() from several threads cost, and how long
// persist() waits while another thread calls states().
//
//   build/release/bench/front_end_bench [--benchmark_filter=REGEX]
//
// states/N: Checkpoint::states() over N file-tailer states
// (bench/tailer_states.hpp); bench/go_checkpoint measures the Go original's
// States() on the same states (scripts/bench.sh runs it when Go is there).
// persist_while_states: one thread calls states() on 1M states in a loop
// while this one calls persist(); the latency counters are those of
// bench/latency.hpp (max_blocked_ns: the slowest call that blocked).
// open/BACKEND: constructing a Checkpoint on a store of 1M states; load_ms:
// only opening the store for writing and loading it, timed in turn with the
// constructor; x_load: the one's time over the other's.
// shutdown_idle/BACKEND: shutdown() with nothing changed since the last
// commit. stats: stats() with 1M changes pending. persist_disjoint: each
// thread persists 1000 names of its own. private_maps: the same updates,
// each thread in a hash map of its own that no other thread touches: how
// well this machine runs two threads at once, the ceiling for
// persist_disjoint's scaling (a VM whose two vCPUs share a core, or that
// other jobs keep busy, gains little from a second thread even then).
//
// Like memory_bench, it uses only what every version of the library has
// (Checkpoint, open_store(), Commit), so that scripts/bench-compare.sh can
// build it against an older revision and run both in one go.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bench/latency.hpp"
#include "bench/tailer_states.hpp"
#include "checkpoint/checkpoint.hpp"

namespace {

using namespace checkpoint;

using bench::tailer_state;

// `size` tailer states, sorted, and their names.
struct Filling {
  StateMap states;
  std::vector<std::string> names;
};
const Filling& filling(std::size_t size) {
  static std::map<std::size_t, Filling> made;
  Filling& out = made[size];
  if (out.names.empty()) {
    for (std::size_t i = 0; i < size; ++i) {
      EventLogState state = tailer_state(i);
      out.names.push_back(state.name);
      out.states.emplace(state.name, std::move(state));
    }
    std::sort(out.names.begin(), out.names.end());
  }
  return out;
}

// Commits `size` tailer states to the store at `uri`.
void fill(const std::string& uri, std::size_t size) {
  const Filling& f = filling(size);
  const std::vector<std::string> none;
  open_store(uri)->commit(Commit{Timestamp::now(), f.states, f.names, none});
}

// A directory of this run, removed at exit.
const std::filesystem::path& run_dir() {
  struct Dir {
    std::filesystem::path path;
    Dir() {
      const char* tmp = std::getenv("TMPDIR");
      std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/front-end-bench-XXXXXX";
      if (::mkdtemp(pattern.data()) == nullptr) std::exit(1);
      path = pattern;
    }
    ~Dir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static Dir dir;
  return dir.path;
}

// A store of `backend` holding 1M tailer states, made once per run.
std::string filled_store(const std::string& backend, std::size_t size) {
  static std::map<std::string, std::string> made;
  std::string& uri = made[backend];
  if (uri.empty()) {
    static const std::map<std::string, std::string> extension = {
        {"yaml", ".yml"}, {"json", ".json"}, {"sqlite", ".db"}, {"lmdb", ".lmdb"}};
    uri = backend + ":" + (run_dir() / ("states" + extension.at(backend))).string();
    fill(uri, size);
  }
  return uri;
}

Options no_commits() {
  Options options;
  options.max_updates = std::numeric_limits<std::size_t>::max();
  options.flush_interval = std::chrono::hours(24);
  return options;
}

// A Checkpoint on a memory: store holding `size` tailer states, per size.
Checkpoint& front_end(std::size_t size) {
  static std::map<std::size_t, std::unique_ptr<Checkpoint>> cache;
  auto& slot = cache[size];
  if (!slot) {
    const std::string uri = "memory:front-end-bench-" + std::to_string(size);
    fill(uri, size);
    slot = std::make_unique<Checkpoint>(uri, no_commits());
  }
  return *slot;
}

// Times cp.states(), which holds `size` states.
void time_states(benchmark::State& bench, Checkpoint& cp, std::size_t size) {
  for (auto _ : bench) {
    StateMap states = cp.states();
    bench.PauseTiming();  // freeing the copy is the caller's business
    if (states.size() != size) bench.SkipWithError("wrong number of states");
    states = {};
    // glibc defers part of that freeing (merging the small chunks freed) to
    // the next request of 1 KiB or more, which states() would then pay for.
    void* large = std::malloc(4096);
    benchmark::DoNotOptimize(large);
    std::free(large);
    bench.ResumeTiming();
  }
  bench.SetItemsProcessed(bench.iterations() * static_cast<std::int64_t>(size));
}

void BM_states(benchmark::State& bench) {
  const auto size = static_cast<std::size_t>(bench.range(0));
  time_states(bench, front_end(size), size);
}
BENCHMARK(BM_states)
    ->Name("states")
    ->Arg(100'000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// states() of a front end whose names came in no order (persisted shuffled,
// none loaded): its states are copied whole and sorted before the merge.
void BM_states_unordered(benchmark::State& bench) {
  const auto size = static_cast<std::size_t>(bench.range(0));
  static std::unique_ptr<Checkpoint> cp;
  if (!cp) {
    cp = std::make_unique<Checkpoint>("memory:front-end-bench-unordered", no_commits());
    std::vector<std::size_t> order(size);
    for (std::size_t i = 0; i < size; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
    for (const std::size_t i : order) {
      const EventLogState s = tailer_state(i);
      cp->persist(s.name, s.record_number, s.timestamp, s.bookmark);
    }
  }
  time_states(bench, *cp, size);
}
BENCHMARK(BM_states_unordered)
    ->Name("states_unordered")
    ->Arg(100'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_persist_while_states(benchmark::State& bench) {
  constexpr std::size_t kStates = 1'000'000;
  Checkpoint& cp = front_end(kStates);
  std::vector<EventLogState> owned;
  for (std::size_t i = 0; i < kStates; i += 97) owned.push_back(tailer_state(i));
  std::vector<const EventLogState*> states;
  for (const auto& s : owned) states.push_back(&s);
  bench::Latencies latencies;
  std::atomic<bool> stop{false};
  std::atomic<int> copies{0};
  std::thread reader([&] {
    while (!stop) {
      StateMap copy = cp.states();
      benchmark::DoNotOptimize(copy.size());
      ++copies;
    }
  });
  for (auto _ : bench) {
    const int first = copies.load();
    bench.SetIterationTime(
        bench::measure(cp, states, latencies, [&] { return copies.load() >= first + 3; }));
  }
  stop = true;
  reader.join();
  latencies.report(bench);
  bench.counters["states_calls"] = copies.load();
}
BENCHMARK(BM_persist_while_states)
    ->Name("persist_while_states/1000000")
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

constexpr std::size_t kOpenStates = 1'000'000;

// Times the store's load() and then the Checkpoint's constructor, in turn
// in each iteration, so that a busy machine weighs on both alike; reports
// the constructor's time (and x_load, its ratio to load()'s).
void BM_open(benchmark::State& bench, const std::string& backend) {
  const std::string uri = filled_store(backend, kOpenStates);
  using Clock = std::chrono::steady_clock;
  double load_seconds = 0, open_seconds = 0;
  for (auto _ : bench) {
    // Each step starts on a heap given back to the system, as at a process's
    // start: what the step before freed would otherwise favour one of them.
    malloc_trim(0);
    auto start = Clock::now();
    PersistedState loaded = open_store(uri)->load();  // for writing, as a Checkpoint opens
    load_seconds += std::chrono::duration<double>(Clock::now() - start).count();
    if (loaded.states.size() != kOpenStates) bench.SkipWithError("wrong number of states");
    loaded = {};

    malloc_trim(0);
    start = Clock::now();
    auto cp = std::make_unique<Checkpoint>(uri, no_commits());
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    open_seconds += seconds;
    bench.SetIterationTime(seconds);
    if (cp->stats().states != kOpenStates) bench.SkipWithError("wrong number of states");
    cp.reset();  // nothing changed: no commit
  }
  bench.counters["load_ms"] = 1000 * load_seconds / static_cast<double>(bench.iterations());
  bench.counters["x_load"] = open_seconds / load_seconds;
}

void BM_shutdown_idle(benchmark::State& bench, const std::string& backend) {
  const std::string uri = filled_store(backend, kOpenStates);
  for (auto _ : bench) {
    bench.PauseTiming();
    auto cp = std::make_unique<Checkpoint>(uri, no_commits());
    bench.ResumeTiming();
    cp->shutdown();
    bench.PauseTiming();
    cp.reset();
    bench.ResumeTiming();
  }
}

void BM_stats(benchmark::State& bench) {
  Checkpoint cp("memory:", no_commits());
  for (std::size_t i = 0; i < kOpenStates; ++i) {
    EventLogState s = tailer_state(i);
    cp.persist(s.name, s.record_number, s.timestamp, s.bookmark);
  }
  for (auto _ : bench) benchmark::DoNotOptimize(cp.stats().pending);
}
BENCHMARK(BM_stats)->Name("stats/pending:1000000");

void BM_persist_disjoint(benchmark::State& bench) {
  static Checkpoint* cp = nullptr;
  static std::vector<EventLogState> states;
  constexpr std::size_t kPerThread = 1000;
  if (bench.thread_index() == 0) {
    cp = &front_end(kPerThread * 4);
    states.clear();
    for (std::size_t i = 0; i < kPerThread * 4; ++i) states.push_back(tailer_state(i));
  }
  // Waits for thread 0 at the start of the loop; then names of its own.
  std::size_t first = kPerThread * static_cast<std::size_t>(bench.thread_index()), i = 0;
  std::uint64_t record = 0;
  for (auto _ : bench) {
    const EventLogState& s = states[first + i];
    cp->persist(s.name, ++record, s.timestamp, s.bookmark);
    if (++i == kPerThread) i = 0;
  }
  bench.SetItemsProcessed(bench.iterations());
}
BENCHMARK(BM_persist_disjoint)->Name("persist_disjoint")->Threads(1)->Threads(2)->UseRealTime();

void BM_private_maps(benchmark::State& bench) {
  constexpr std::size_t kPerThread = 1000;
  std::unordered_map<std::string, EventLogState> mine;
  std::vector<EventLogState> states;
  const std::size_t first = kPerThread * static_cast<std::size_t>(bench.thread_index());
  for (std::size_t i = 0; i < kPerThread; ++i) {
    states.push_back(tailer_state(first + i));
    mine.emplace(states.back().name, states.back());
  }
  std::size_t i = 0;
  std::uint64_t record = 0;
  for (auto _ : bench) {
    const EventLogState& s = states[i];
    EventLogState& state = mine.find(s.name)->second;
    state.record_number = ++record;
    state.timestamp = s.timestamp;
    state.bookmark.assign(s.bookmark);
    benchmark::DoNotOptimize(state);
    if (++i == kPerThread) i = 0;
  }
  bench.SetItemsProcessed(bench.iterations());
}
BENCHMARK(BM_private_maps)->Name("private_maps")->Threads(1)->Threads(2)->UseRealTime();

void register_per_backend() {
  for (std::string backend : {"sqlite", "lmdb", "yaml", "json"}) {
    benchmark::RegisterBenchmark(("open/" + backend).c_str(), BM_open, backend)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(5)
        ->UseManualTime();
    benchmark::RegisterBenchmark(("shutdown_idle/" + backend).c_str(), BM_shutdown_idle, backend)
        ->Unit(benchmark::kMicrosecond)
        ->Iterations(3)
        ->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_per_backend();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
