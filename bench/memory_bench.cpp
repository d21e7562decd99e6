// Peak memory (resident set) of a process that holds a million states.
//
// Each measurement runs in a fresh process (this program run again with
// --measure), whose peak RSS the kernel reports when it ends (wait4), so one
// measurement never inherits another's memory. (The kernel counts the RSS
// a process had before it called exec(), so the stores are filled by
// processes of their own too: the parent stays small.)
//
//   load        opens the store and loads every state, nothing else: the
//               least a process that holds the states can take;
//   checkpoint  constructs a Checkpoint on the store, persists 10 states,
//               flushes and shuts down: what a shipper takes.
//
// The states have the shape of a file tailer's: ~40-byte names, and one in
// four with a 120-byte XML bookmark. The program uses only what every
// version of the library has (open_store(), Commit, Checkpoint), so that the
// same source measures an older build too (scripts/bench-compare.sh).
#include <benchmark/benchmark.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <checkpoint/checkpoint.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench/tailer_states.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using checkpoint::EventLogState;
using checkpoint::Timestamp;

constexpr std::size_t kStates = 1'000'000;

fs::path work_dir() {
  static const fs::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/memory-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    return fs::path(pattern);
  }();
  return dir;
}

struct Cleanup {
  ~Cleanup() {
    std::error_code ignored;
    fs::remove_all(work_dir(), ignored);
  }
};

// Fills the store at `uri` with kStates states.
int fill(const std::string& uri) {
  checkpoint::StateMap states;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < kStates; ++i) {
    EventLogState state = bench::tailer_state(i);
    names.push_back(state.name);
    states.emplace_hint(states.end(), state.name, std::move(state));
  }
  const std::vector<std::string> none;
  checkpoint::open_store(uri)->commit(checkpoint::Commit{Timestamp::now(), states, names, none});
  return 0;
}

// The measured work, in a process of its own.
int measure(const std::string& what, const std::string& uri) {
  if (what == "fill") return fill(uri);
  if (what == "load") {
    checkpoint::PersistedState loaded = checkpoint::open_store(uri)->load();
    benchmark::DoNotOptimize(loaded.states.data());
    return loaded.states.size() == kStates ? 0 : 1;
  }
  checkpoint::Options options;
  options.max_updates = 1'000'000;
  options.flush_interval = std::chrono::hours(1);
  checkpoint::Checkpoint cp(uri, options);
  for (std::size_t i = 0; i < 10; ++i) {
    EventLogState s = bench::tailer_state(i * 99'991);
    cp.persist(s.name, s.record_number + 1, s.timestamp, s.bookmark);
  }
  cp.flush();
  cp.shutdown();
  return cp.stats().states == kStates ? 0 : 1;
}

// Peak RSS in bytes of `self --measure what uri`, or -1.
long long peak_rss(const std::string& what, const std::string& uri) {
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::vector<std::string> args = {self, "--measure", what, uri};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (::posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  struct rusage usage {};
  if (::wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return -1;
  }
  return static_cast<long long>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

// A store of `backend` holding kStates states, made once per run.
std::string filled_store(const std::string& backend) {
  static std::map<std::string, std::string> made;
  auto& uri = made[backend];
  if (uri.empty()) {
    static const std::map<std::string, std::string> extension = {
        {"yaml", ".yml"}, {"sqlite", ".db"}, {"lmdb", ".lmdb"}};
    uri = backend + ":" + (work_dir() / ("states" + extension.at(backend))).string();
    if (peak_rss("fill", uri) < 0) {
      std::fprintf(stderr, "memory_bench: cannot fill %s\n", uri.c_str());
      std::exit(1);
    }
  }
  return uri;
}

void BM_PeakRss(benchmark::State& state, std::string backend, std::string what) {
  const std::string uri = filled_store(backend);
  long long bytes = 0;
  for (auto _ : state) bytes = peak_rss(what, uri);
  if (bytes < 0) {
    state.SkipWithError(("the " + what + " process failed").c_str());
    return;
  }
  state.counters["peak_rss_MiB"] = static_cast<double>(bytes) / (1 << 20);
  state.counters["states"] = static_cast<double>(kStates);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--measure") == 0) return measure(argv[2], argv[3]);
  Cleanup cleanup;
  for (std::string backend : {"sqlite", "lmdb", "yaml"}) {
    for (std::string what : {"load", "checkpoint"}) {
      benchmark::RegisterBenchmark(("memory/" + backend + "/" + what).c_str(), BM_PeakRss, backend,
                                   what)
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
