// Options::expire_after: the cost a commit pays for expiry. N states
// (bench/tailer_states.hpp) in a memory store, 1% of them last changed an
// hour earlier than the rest; the clock (a ManualClock) moves so that
// exactly that 1% expired, and one flush() of one changed state is timed:
//   expiry/walk/N   the commit walks every state and removes the 1%;
//   expiry/none/N   the same commit with the expired ones' cutoff not yet
//                   passed: the oldest update time alone says there is
//                   nothing to walk (O(1));
//   expiry/off/N    expire_after zero, for comparison.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bench/tailer_states.hpp"
#include "checkpoint/checkpoint.hpp"

namespace {

using namespace std::chrono_literals;
using checkpoint::Timestamp;

const Timestamp kStart = Timestamp::from_unix(1'800'000'000);

enum class Mode { walk, none, off };

void run(benchmark::State& state, Mode mode) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::size_t expired = 0;
  int round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string uri = "memory:expiry-bench-" + std::to_string(round++);
    {
      std::vector<checkpoint::EventLogState> states;
      states.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        checkpoint::EventLogState s = bench::tailer_state(i);
        s.update_time = i % 100 == 0 ? kStart : kStart.plus(1h);
        states.push_back(std::move(s));
      }
      std::sort(states.begin(), states.end(),
                [](const auto& a, const auto& b) { return a.name < b.name; });
      auto store = checkpoint::Store::open(uri);
      store->load();
      store->commit(checkpoint::Changes{kStart.plus(1h), states, {}});
    }
    // Opened at start + 30 min: nothing is an hour old yet.
    auto clock = std::make_shared<checkpoint::ManualClock>(checkpoint::Clock::time_point{},
                                                           kStart.plus(30min));
    checkpoint::Options options;
    options.max_updates = 1'000'000'000;
    options.flush_interval = 24h;
    options.expire_after = mode == Mode::off ? 0s : std::chrono::seconds(1h);
    options.clock = clock;
    auto cp = std::make_unique<checkpoint::Checkpoint>(uri, options);
    // walk: at start + 75 min the 1% (changed at start) are older than the
    // cutoff (start + 15 min); none: at start + 50 min, not yet.
    clock->advance(mode == Mode::none ? 20min : 45min);
    cp->persist("/var/log/changed.log", 1, kStart);
    state.ResumeTiming();
    cp->flush();
    state.PauseTiming();
    expired = cp->stats().expired;
    cp.reset();
    state.ResumeTiming();
  }
  state.counters["states"] = static_cast<double>(n);
  state.counters["expired"] = static_cast<double>(expired);
}

void register_all() {
  for (auto [name, mode] :
       {std::pair{"expiry/walk", Mode::walk}, std::pair{"expiry/none", Mode::none},
        std::pair{"expiry/off", Mode::off}}) {
    benchmark::RegisterBenchmark(name, run, mode)
        ->Arg(100'000)
        ->Arg(1'000'000)
        ->Iterations(3)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
