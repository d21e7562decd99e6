// Timing persist() call by call, for the latency benchmarks
// (persist_latency_bench, front_end_bench).
//
// On a busy machine the caller also waits when the scheduler gives its core
// to another thread. To tell that from waiting inside persist(), the
// thread's context switches are read every kBlock calls: a voluntary switch
// means it blocked (on a lock, or a page fault that needed I/O), an
// involuntary one that it was preempted. max_blocked_ns is the slowest call
// in a block with a voluntary switch, max_preempted_ns in one with only
// involuntary switches, max_quiet_ns in one with none.
#pragma once

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint.hpp"

namespace bench {

using Clock = std::chrono::steady_clock;
using checkpoint::Checkpoint;
using checkpoint::EventLogState;

inline constexpr int kBlock = 256;

// Voluntary and involuntary context switches of the calling thread.
inline std::pair<long, long> context_switches() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return {usage.ru_nvcsw, usage.ru_nivcsw};
}

// Durations in ns, to within 1/64 (1.6 %): 64 buckets per power of two.
class Histogram {
 public:
  void add(std::uint64_t ns) {
    ++buckets_[index(ns)];
    ++count_;
    max_ = std::max(max_, ns);
  }
  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  // The upper bound of the bucket holding the q-quantile.
  std::uint64_t quantile(double q) const {
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      seen += buckets_[i];
      if (seen > rank) return std::min(upper_bound(i), max_);
    }
    return max_;
  }

 private:
  static std::size_t index(std::uint64_t ns) {
    if (ns < 64) return ns;
    const int shift = std::bit_width(ns) - 7;  // keeps 6 bits below the top one
    return static_cast<std::size_t>(shift + 1) * 64 + ((ns >> shift) & 63);
  }
  static std::uint64_t upper_bound(std::size_t i) {
    if (i < 64) return i;
    const std::size_t shift = i / 64 - 1;
    return ((64 + i % 64 + 1) << shift) - 1;
  }
  std::array<std::uint64_t, 64 * 60> buckets_{};
  std::uint64_t count_ = 0, max_ = 0;
};

// Call latencies, and the slowest call by what the thread went through.
struct Latencies {
  Histogram histogram;
  std::uint64_t max_blocked = 0, max_preempted = 0, max_quiet = 0, over_1ms = 0;

  void report(benchmark::State& bench) const {
    bench.counters["p50_ns"] = static_cast<double>(histogram.quantile(0.5));
    bench.counters["p99_ns"] = static_cast<double>(histogram.quantile(0.99));
    bench.counters["p999_ns"] = static_cast<double>(histogram.quantile(0.999));
    bench.counters["max_ns"] = static_cast<double>(histogram.max());
    bench.counters["max_blocked_ns"] = static_cast<double>(max_blocked);
    bench.counters["max_preempted_ns"] = static_cast<double>(max_preempted);
    bench.counters["max_quiet_ns"] = static_cast<double>(max_quiet);
    bench.counters["over_1ms"] = static_cast<double>(over_1ms);
    bench.counters["calls"] = static_cast<double>(histogram.count());
  }
};

// Calls persist() on the states in turn, timing each call, until done().
// Returns the seconds it ran.
template <typename Done>
double measure(Checkpoint& cp, const std::vector<const EventLogState*>& states, Latencies& out,
               Done done) {
  auto start = Clock::now();
  std::size_t i = 0;
  std::uint64_t record = 2'000'000'000;
  while (!done()) {
    const auto switches_before = context_switches();
    std::uint64_t block_max = 0;
    for (int k = 0; k < kBlock; ++k) {
      const EventLogState& state = *states[i];
      auto before = Clock::now();
      cp.persist(state.name, ++record, state.timestamp, state.bookmark);
      auto after = Clock::now();
      const auto ns = static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(after - before).count());
      out.histogram.add(ns);
      block_max = std::max(block_max, ns);
      out.over_1ms += ns > 1'000'000 ? 1 : 0;
      if (++i == states.size()) i = 0;
    }
    const auto switches_after = context_switches();
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

}  // namespace bench
