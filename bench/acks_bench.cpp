// What track() and ack() cost: track + ack pairs per second, on one thread
// and with the acks from another thread, and track()'s latency while
// commits run.
//
//   build/release/bench/acks_bench [--benchmark_filter=REGEX]
//
// The states of bench_support.hpp (30-byte names, 100-byte bookmarks).
//
// BM_track_ack/streams:S/window:W, one thread: S streams read in turn; W
//   records in flight, each iteration tracks one and acknowledges one of
//   the W at random (W = 1: each record is acknowledged at once, in order).
//   A memory: store and no commit during the measurement, as persist_bench.
// BM_track_ack_other_thread/window:W: one thread tracks on one stream and
//   hands each ticket to a second thread through a ring; the second takes
//   them W at a time and acknowledges each batch in random order. Pairs per
//   second until the last is acknowledged.
// BM_track_latency_<backend>: track() timed call by call (bench/latency.hpp)
//   on 1000 streams of a store holding 100,000 states, each ticket
//   acknowledged at once; max_updates = 1000, so commits (each rewriting
//   the whole YAML file, or a SQLite transaction of 1000 rows) run back to
//   back in the background. BM_track_latency_no_commits: the same calls
//   with no commit, for the machine's own noise.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"
#include "bench/latency.hpp"
#include "checkpoint/checkpoint.hpp"

namespace {

using namespace checkpoint;
using Clock = std::chrono::steady_clock;

// A small fast generator (xorshift64*): picking at random must not cost
// more than what is measured.
struct Random {
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  std::uint64_t operator()() {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    return x * 0x2545F4914F6CDD1Dull;
  }
};

std::vector<const EventLogState*> first_states(std::size_t count) {
  std::vector<const EventLogState*> out;
  for (const auto& [name, state] : bench::data_set(count).states) out.push_back(&state);
  return out;
}

Options no_commits() {
  Options options;
  options.max_updates = std::numeric_limits<std::size_t>::max();
  options.flush_interval = std::chrono::hours(24);
  return options;
}

void BM_track_ack(benchmark::State& bench) {
  const auto streams = static_cast<std::size_t>(bench.range(0));
  const auto window = static_cast<std::size_t>(bench.range(1));
  Checkpoint cp("memory:", no_commits());
  const auto states = first_states(streams);
  std::vector<Ticket> in_flight;
  std::uint64_t record = 0;
  std::size_t i = 0;
  auto next = [&] {
    const EventLogState& state = *states[i];
    if (++i == states.size()) i = 0;
    return cp.track(state.name, ++record, state.timestamp, state.bookmark);
  };
  for (std::size_t k = 0; k + 1 < window; ++k) in_flight.push_back(next());
  Random random;
  if (window == 1) {
    for (auto _ : bench) cp.ack(next());
  } else {
    in_flight.push_back(Ticket{});
    for (auto _ : bench) {
      in_flight.back() = next();
      const std::size_t pick = random() % window;
      cp.ack(in_flight[pick]);
      in_flight[pick] = in_flight.back();
    }
  }
  bench.SetItemsProcessed(bench.iterations());
  bench.counters["in_flight"] = static_cast<double>(cp.stats().in_flight);
}
BENCHMARK(BM_track_ack)
    ->ArgNames({"streams", "window"})
    ->Args({1, 1})
    ->Args({1, 64})
    ->Args({1, 4096})
    ->Args({1000, 1})
    ->Args({1000, 64})
    ->UseRealTime();

// A single-producer, single-consumer ring of tickets.
class TicketRing {
 public:
  bool push(const Ticket& ticket) {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) == kSize) return false;
    slots_[tail % kSize] = ticket;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }
  bool pop(Ticket& out) {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return false;
    out = slots_[head % kSize];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

 private:
  static constexpr std::size_t kSize = 1 << 14;
  std::array<Ticket, kSize> slots_{};
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::atomic<std::size_t> tail_{0};
};

void BM_track_ack_other_thread(benchmark::State& bench) {
  constexpr std::uint64_t kPairs = 10'000'000;
  const auto window = static_cast<std::size_t>(bench.range(0));
  const EventLogState& state = *first_states(1)[0];
  Checkpoint cp("memory:", no_commits());
  for (auto _ : bench) {
    auto ring = std::make_unique<TicketRing>();
    const auto start = Clock::now();
    std::thread acker([&] {
      Random random;
      std::vector<Ticket> batch;
      std::uint64_t acked = 0;
      while (acked < kPairs) {
        Ticket ticket;
        while (batch.size() < window && acked + batch.size() < kPairs && ring->pop(ticket)) {
          batch.push_back(ticket);
        }
        if (batch.size() < window && acked + batch.size() < kPairs) continue;
        for (std::size_t k = batch.size(); k > 1; --k) {
          std::swap(batch[k - 1], batch[random() % k]);
        }
        for (const Ticket& t : batch) cp.ack(t);
        acked += batch.size();
        batch.clear();
      }
    });
    std::uint64_t record = 0;
    for (std::uint64_t n = 0; n < kPairs; ++n) {
      const Ticket ticket = cp.track(state.name, ++record, state.timestamp, state.bookmark);
      while (!ring->push(ticket)) std::this_thread::yield();
    }
    acker.join();
    bench.SetIterationTime(std::chrono::duration<double>(Clock::now() - start).count());
  }
  bench.SetItemsProcessed(static_cast<std::int64_t>(kPairs) * bench.iterations());
}
BENCHMARK(BM_track_ack_other_thread)
    ->ArgName("window")
    ->Arg(1)
    ->Arg(64)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kSecond);

// The store, counting finished commits.
class CountingStore final : public Store {
 public:
  explicit CountingStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}
  Timestamp scan(const StateSink& sink) override { return inner_->scan(sink); }
  void commit(const Changes& changes) override {
    inner_->commit(changes);
    ++commits_;
  }
  int commits() const { return commits_.load(); }

 private:
  std::unique_ptr<Store> inner_;
  std::atomic<int> commits_{0};
};

constexpr std::size_t kStoreStates = 100'000;
constexpr std::size_t kStreams = 1000;

// Tracks and acknowledges the streams in turn, timing each track(), until
// done(). Returns the seconds it ran.
template <typename Done>
double measure_track(Checkpoint& cp, const std::vector<const EventLogState*>& states,
                     std::uint64_t& record, bench::Latencies& out, Done done) {
  const auto start = Clock::now();
  std::size_t i = 0;
  while (!done()) {
    const auto switches_before = bench::context_switches();
    std::uint64_t block_max = 0;
    for (int k = 0; k < bench::kBlock; ++k) {
      const EventLogState& state = *states[i];
      const auto before = Clock::now();
      const Ticket ticket = cp.track(state.name, ++record, state.timestamp, state.bookmark);
      const auto after = Clock::now();
      cp.ack(ticket);
      const auto ns = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(after - before).count());
      out.histogram.add(ns);
      block_max = std::max(block_max, ns);
      out.over_1ms += ns > 1'000'000 ? 1 : 0;
      if (++i == states.size()) i = 0;
    }
    const auto switches_after = bench::context_switches();
    if (switches_after.first != switches_before.first) {
      out.max_blocked = std::max(out.max_blocked, block_max);
    } else if (switches_after.second != switches_before.second) {
      out.max_preempted = std::max(out.max_preempted, block_max);
    } else {
      out.max_quiet = std::max(out.max_quiet, block_max);
    }
  }
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void track_latency(benchmark::State& bench, const std::string& backend) {
  constexpr int kCommits = 20;
  auto owned =
      std::make_unique<CountingStore>(Store::open(bench::filled_store(backend, kStoreStates)));
  CountingStore& store = *owned;
  Options options;
  options.max_updates = kStreams;
  options.flush_interval = std::chrono::hours(1);
  Checkpoint cp(std::move(owned), options);
  const auto states = first_states(kStoreStates);
  const std::vector<const EventLogState*> streams(states.begin(), states.begin() + kStreams);
  std::uint64_t record = 2'000'000'000;
  bench::Latencies warm_up;
  const int started = store.commits();
  measure_track(cp, streams, record, warm_up, [&] { return store.commits() >= started + 2; });

  bench::Latencies latencies;
  int commits = 0;
  for (auto _ : bench) {
    const int first = store.commits();
    bench.SetIterationTime(measure_track(cp, streams, record, latencies,
                                         [&] { return store.commits() >= first + kCommits; }));
    commits += store.commits() - first;
  }
  latencies.report(bench);
  bench.counters["commits"] = commits;
}

void BM_track_latency_yaml(benchmark::State& bench) { track_latency(bench, "yaml"); }
void BM_track_latency_sqlite(benchmark::State& bench) { track_latency(bench, "sqlite"); }

void BM_track_latency_no_commits(benchmark::State& bench) {
  Checkpoint cp("memory:", no_commits());
  const auto streams = first_states(kStreams);
  std::uint64_t record = 2'000'000'000;
  bench::Latencies latencies;
  for (auto _ : bench) {
    const auto until = Clock::now() + std::chrono::seconds(3);
    bench.SetIterationTime(
        measure_track(cp, streams, record, latencies, [&] { return Clock::now() >= until; }));
  }
  latencies.report(bench);
}

BENCHMARK(BM_track_latency_yaml)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_track_latency_sqlite)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_track_latency_no_commits)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

}  // namespace
