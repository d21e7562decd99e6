// `checkpointctl convert` throughput: the program run as a user runs it
// (load the source, check the destination, commit every state, read them
// back and compare), from one backend to another.
//
//   build/release/bench/convert_bench [--benchmark_filter=REGEX]
//
// Benchmarks: convert/FROM/TO/STATES. Time is wall-clock for the whole
// process; counter cpu_s is its CPU time (user + system), states/s the
// throughput. The destination is removed before each run (not timed).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double cpu_seconds_of_children() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Runs checkpointctl with `args`; false if it failed.
bool run_checkpointctl(std::vector<std::string> args) {
  args.insert(args.begin(), CHECKPOINTCTL);
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawn(&pid, CHECKPOINTCTL, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return false;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void remove_store(const fs::path& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal", "-lock"}) {
    fs::remove(path.string() + suffix);
  }
}

void convert(benchmark::State& bench, const std::string& from, const std::string& to,
             std::size_t size) {
  static const std::map<std::string, std::string> extension = {
      {"yaml", ".yml"}, {"json", ".json"}, {"sqlite", ".db"}, {"lmdb", ".lmdb"}};
  const std::string source = bench::filled_store(from, size);
  const fs::path target = bench::run_dir() / ("converted" + extension.at(to));
  const std::string destination = to + ":" + target.string();
  double cpu = 0;
  for (auto _ : bench) {
    remove_store(target);
    const double cpu_before = cpu_seconds_of_children();
    auto start = Clock::now();
    if (!run_checkpointctl({"convert", source, destination})) {
      bench.SkipWithError("checkpointctl convert failed");
      break;
    }
    bench.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
    cpu += cpu_seconds_of_children() - cpu_before;
  }
  remove_store(target);
  bench.counters["cpu_s"] = cpu / static_cast<double>(bench.iterations());
  bench.counters["states/s"] =
      benchmark::Counter(static_cast<double>(size) * static_cast<double>(bench.iterations()),
                         benchmark::Counter::kIsRate);
}

void register_all() {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"yaml", "sqlite"}, {"sqlite", "lmdb"}, {"lmdb", "json"}, {"json", "yaml"}};
  for (std::size_t size : {std::size_t{100'000}, std::size_t{1'000'000}}) {
    for (const auto& pair : pairs) {
      const std::string from = pair.first, to = pair.second;  // clang 14 cannot capture bindings
      benchmark::RegisterBenchmark(
          bench::name({"convert", from, to, std::to_string(size)}).c_str(),
          [from, to, size](benchmark::State& s) { convert(s, from, to, size); })
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace

int main(int argc, char** argv) { return bench::run(argc, argv, register_all); }
